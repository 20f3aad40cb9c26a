// The word-level difference of two answers (jsdiff's diffWords), as runs of text kept, added or
// removed. Only the compare view imports this (it is loaded on demand).
import { diffWords } from 'diff';

export type DiffKind = 'same' | 'added' | 'removed';

export interface DiffPart {
  kind: DiffKind;
  text: string;
}

/** How `next` differs from `base`, word by word (whitespace kept with the words). */
export function wordDiff(base: string, next: string): DiffPart[] {
  const parts: DiffPart[] = [];
  for (const change of diffWords(base, next)) {
    const kind: DiffKind = change.added ? 'added' : change.removed ? 'removed' : 'same';
    const last = parts.at(-1);
    if (last && last.kind === kind) last.text += change.value;
    else if (change.value) parts.push({ kind, text: change.value });
  }
  return parts;
}

/** Words (runs of non-space) added and removed. */
export function diffCounts(parts: readonly DiffPart[]): { added: number; removed: number } {
  const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
  let added = 0;
  let removed = 0;
  for (const p of parts) {
    if (p.kind === 'added') added += words(p.text);
    else if (p.kind === 'removed') removed += words(p.text);
  }
  return { added, removed };
}

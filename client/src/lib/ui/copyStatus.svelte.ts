// Copying text to the clipboard with a short-lived word for it ("Copied" / "Copy failed"),
// which the caller shows (a button's name, a status region) and which clears itself.

export type CopyWord = '' | 'Copied' | 'Copy failed';

/** How long the word stays. */
const SHOWN_MS = 1500;

export class CopyStatus {
  word = $state<CopyWord>('');
  #timer = 0;

  /** Copies `text`; `word` says how it went, for a moment. */
  async copy(text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.word = 'Copied';
    } catch {
      this.word = 'Copy failed';
    }
    clearTimeout(this.#timer);
    this.#timer = window.setTimeout(() => (this.word = ''), SHOWN_MS);
  }
}

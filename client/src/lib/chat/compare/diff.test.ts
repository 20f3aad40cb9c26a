import { describe, expect, it } from 'vitest';
import { diffCounts, wordDiff } from './diff';

describe('wordDiff', () => {
  it('marks added and removed words, keeping the rest', () => {
    const parts = wordDiff('the quick brown fox', 'the slow brown fox jumps');
    expect(parts.filter((p) => p.kind === 'removed').map((p) => p.text.trim())).toEqual(['quick']);
    expect(parts.filter((p) => p.kind !== 'removed').map((p) => p.text).join('')).toBe('the slow brown fox jumps');
    // jsdiff keeps the new text exact; the old one up to whitespace.
    expect(parts.filter((p) => p.kind !== 'added').map((p) => p.text).join('').trim()).toBe('the quick brown fox');
  });
  it('gives one unchanged part for the same text, and handles empty texts', () => {
    expect(wordDiff('same words', 'same words')).toEqual([{ kind: 'same', text: 'same words' }]);
    expect(wordDiff('', 'new')).toEqual([{ kind: 'added', text: 'new' }]);
    expect(wordDiff('old', '')).toEqual([{ kind: 'removed', text: 'old' }]);
  });
  it('counts the words added and removed', () => {
    expect(diffCounts(wordDiff('a b c', 'a x y c'))).toEqual({ added: 2, removed: 1 });
    expect(diffCounts(wordDiff('a', 'a'))).toEqual({ added: 0, removed: 0 });
  });
});

// @vitest-environment jsdom
import { beforeAll, describe, expect, it } from 'vitest';
import { loadHighlighter } from './highlight';
import { closeOpenFence, markdownCacheSize, renderMarkdown, safeUrl } from './markdown';

function dom(html: string): HTMLElement {
  const div = document.createElement('div');
  div.innerHTML = html;
  return div;
}

function assertInert(html: string): void {
  const root = dom(html);
  expect(root.querySelectorAll('script, iframe, object, embed, svg, img, style, form').length).toBe(0);
  for (const el of root.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      expect(attr.name.startsWith('on'), `${el.tagName} has ${attr.name}`).toBe(false);
      expect(attr.name).not.toBe('style');
    }
  }
  for (const a of root.querySelectorAll('a')) {
    const href = a.getAttribute('href') ?? '';
    expect(href).not.toMatch(/^\s*(javascript|data|vbscript):/i);
  }
}

const PAYLOADS = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '[x](javascript:alert(1))',
  '[x](JaVaScRiPt:alert(1))',
  '[x](java\tscript:alert(1))',
  '[x](javascript&#58;alert(1))',
  '<a href="javascript:alert(1)">click</a>',
  '<iframe src="https://evil.example"></iframe>',
  '<svg onload=alert(1)>',
  '<svg><script>alert(1)</script></svg>',
  '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '![x](data:text/html,<script>alert(1)</script>)',
  '<a href="data:text/html,<script>alert(1)</script>">x</a>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '<div style="background:url(javascript:alert(1))">x</div>',
  '[x](<javascript:alert(1)>)',
  '<javascript:alert(1)>',
  '```\n</code></pre><img src=x onerror=alert(1)>\n```',
  '`<img src=x onerror=alert(1)>`',
  '[<img src=x onerror=alert(1)>](https://example.com)',
  '[x](https://example.com "\\" onmouseover=\\"alert(1)")',
];

describe('renderMarkdown sanitises hostile model output', () => {
  for (const payload of PAYLOADS) {
    it(`neutralises ${JSON.stringify(payload)}`, () => {
      assertInert(renderMarkdown(payload));
      assertInert(renderMarkdown(payload)); // from the cache
      assertInert(renderMarkdown(payload, { streaming: true }));
    });
  }

  it('shows raw HTML as text instead of dropping it', () => {
    const root = dom(renderMarkdown('Use <script>alert(1)</script> carefully'));
    expect(root.textContent).toContain('<script>alert(1)</script>');
    expect(root.querySelector('script')).toBeNull();
  });

  it('keeps safe links, opening in a new tab without referrer', () => {
    const a = dom(renderMarkdown('[docs](https://example.com/a?b=1)')).querySelector('a');
    expect(a?.getAttribute('href')).toBe('https://example.com/a?b=1');
    expect(a?.getAttribute('target')).toBe('_blank');
    expect(a?.getAttribute('rel')).toBe('noreferrer noopener');
    const auto = dom(renderMarkdown('see https://example.org')).querySelector('a');
    expect(auto?.getAttribute('rel')).toBe('noreferrer noopener');
  });

  it('drops the href of unsafe links but keeps their text', () => {
    const root = dom(renderMarkdown('[click me](javascript:alert(1))'));
    expect(root.querySelector('a[href]')).toBeNull();
    expect(root.textContent).toContain('click me');
  });
});

describe('renderMarkdown formatting', () => {
  it('renders common Markdown', () => {
    const root = dom(renderMarkdown('# Title\n\n**bold** and *em*\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |'));
    expect(root.querySelector('h1')?.textContent).toBe('Title');
    expect(root.querySelector('strong')?.textContent).toBe('bold');
    expect(root.querySelectorAll('li')).toHaveLength(2);
    expect(root.querySelector('table td')?.textContent).toBe('1');
  });

  it('wraps code blocks with a language label and a Copy button; code is escaped', () => {
    const root = dom(renderMarkdown('```ts\nconst a = 1 < 2 && "<b>";\n```'));
    const block = root.querySelector('.code-block');
    expect(block).not.toBeNull();
    expect(block?.querySelector('.code-lang')?.textContent).toBe('ts');
    expect(block?.querySelector('button[data-copy-code]')?.textContent).toBe('Copy');
    expect(block?.querySelector('pre code')?.textContent).toBe('const a = 1 < 2 && "<b>";');
    expect(block?.querySelector('b')).toBeNull();
  });

  it('caches by text, and not streaming text; the cache is bounded', () => {
    const text = 'Cached *answer* with a [link](https://example.com)';
    const first = renderMarkdown(text);
    const before = markdownCacheSize().entries;
    expect(renderMarkdown(text)).toBe(first);
    expect(markdownCacheSize().entries).toBe(before);
    renderMarkdown('streamed text, not kept', { streaming: true });
    expect(markdownCacheSize().entries).toBe(before);
    for (let i = 0; i < 700; i++) renderMarkdown(`answer number ${i}`);
    expect(markdownCacheSize().entries).toBeLessThanOrEqual(600);
    renderMarkdown('x'.repeat(3_000_000));
    renderMarkdown('y'.repeat(3_000_000));
    expect(markdownCacheSize().chars).toBeLessThanOrEqual(4_000_000);
    expect(renderMarkdown(text)).toBe(first);
  });

  it('does not serve a cached plain rendering once highlight.js has loaded', async () => {
    const text = '```rust\nfn main() {}\n```';
    expect(dom(renderMarkdown(text)).querySelector('pre code.hljs')).toBeNull();
    await loadHighlighter();
    expect(dom(renderMarkdown(text)).querySelector('pre code.hljs span.hljs-keyword')?.textContent).toBe('fn');
  });

  it('highlights code once highlight.js is loaded', async () => {
    await loadHighlighter();
    const root = dom(renderMarkdown('```python\ndef f():\n    return "<x>"\n```'));
    const code = root.querySelector('pre code');
    expect(code?.classList.contains('hljs')).toBe(true);
    expect(code?.querySelector('span.hljs-keyword')?.textContent).toBe('def');
    expect(code?.textContent).toBe('def f():\n    return "<x>"');
  });
});

describe('helpers', () => {
  beforeAll(() => undefined);

  it('safeUrl accepts http(s), mailto and relative URLs only', () => {
    expect(safeUrl('https://a.b')).toBe('https://a.b');
    expect(safeUrl('mailto:a@b.c')).toBe('mailto:a@b.c');
    expect(safeUrl('/api/x')).toBe('/api/x');
    expect(safeUrl('#frag')).toBe('#frag');
    expect(safeUrl('javascript:alert(1)')).toBeNull();
    expect(safeUrl(' \u0001javascript:alert(1)')).toBeNull();
    expect(safeUrl('data:text/html,x')).toBeNull();
    expect(safeUrl('vbscript:x')).toBeNull();
  });

  it('closeOpenFence closes an unfinished fence while streaming', () => {
    expect(closeOpenFence('text\n```js\nlet a')).toBe('text\n```js\nlet a\n```');
    expect(closeOpenFence('```\na\n```\n')).toBe('```\na\n```\n');
    expect(closeOpenFence('````\n```\n')).toBe('````\n```\n````');
  });
});

// Model output → safe HTML. Raw HTML is escaped by the renderer, only http(s)/mailto/relative
// URLs survive, and the result goes through DOMPurify right before it reaches `{@html}`.
import DOMPurify from 'dompurify';
import { Marked, type Tokens } from 'marked';
import { highlighter } from './highlight';

/** Code longer than this is never highlighted (too slow, and pointless). */
const MAX_HIGHLIGHT = 50_000;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Returns the URL when it is safe to put in an href (http, https, mailto, or relative). */
export function safeUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:").
  // eslint-disable-next-line no-control-regex
  const normalised = url.replace(/[\u0000-\u0020\u007f-\u009f]/g, '').toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(normalised);
  if (scheme) {
    return ['http', 'https', 'mailto'].includes(scheme[1] ?? '') ? url.trim() : null;
  }
  // An entity-encoded colon ("javascript&#58;") would decode later: refuse it.
  if (/&#|&colon;/i.test(normalised)) return null;
  return url.trim();
}

function codeBlock(code: string, lang: string | undefined): string {
  const language = (lang ?? '').trim().split(/\s+/)[0]?.replace(/[^A-Za-z0-9_+#.-]/g, '') ?? '';
  const hljs = highlighter();
  let body = escapeHtml(code);
  let cls = language ? `language-${language}` : '';
  if (hljs && language && code.length <= MAX_HIGHLIGHT && hljs.getLanguage(language)) {
    body = hljs.highlight(code, { language, ignoreIllegals: true }).value;
    cls = `hljs ${cls}`;
  }
  return (
    `<div class="code-block">` +
    `<div class="code-header"><span class="code-lang">${escapeHtml(language || 'text')}</span>` +
    `<button type="button" class="copy-code" data-copy-code="">Copy</button></div>` +
    `<pre tabindex="0" role="region" aria-label="${escapeHtml(language || 'text')} code"><code${cls ? ` class="${cls}"` : ''}>${body}</code></pre></div>`
  );
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    code({ text, lang }: Tokens.Code): string {
      return codeBlock(text, lang);
    },
    link({ href, title, tokens }: Tokens.Link): string {
      const inner = this.parser.parseInline(tokens);
      const url = safeUrl(href);
      if (!url) return `<span class="unsafe-link">${inner}</span>`;
      const t = title ? ` title="${escapeHtml(title)}"` : '';
      return `<a href="${escapeHtml(url)}"${t} target="_blank" rel="noreferrer noopener">${inner}</a>`;
    },
    image({ href, text }: Tokens.Image): string {
      // External images are blocked by the CSP (and would leak the reader's address): link them.
      const url = safeUrl(href);
      const label = escapeHtml(text || 'image');
      if (!url) return `<span class="unsafe-link">${label}</span>`;
      return `<a href="${escapeHtml(url)}" target="_blank" rel="noreferrer noopener">[${label}]</a>`;
    },
  },
});

const PURIFY_CONFIG = {
  FORBID_TAGS: ['style', 'form', 'iframe', 'object', 'embed', 'svg', 'math', 'img', 'video', 'audio', 'source'],
  FORBID_ATTR: ['style', 'srcset', 'formaction'],
  ADD_ATTR: ['target'],
  ALLOW_UNKNOWN_PROTOCOLS: false,
};

type Purifier = ReturnType<typeof DOMPurify>;
let purifier: Purifier | null = null;

function purify(): Purifier {
  if (purifier) return purifier;
  if (typeof window === 'undefined') throw new Error('renderMarkdown needs a DOM (window)');
  const p = DOMPurify(window);
  p.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A') {
      const href = node.getAttribute('href');
      if (href !== null && !safeUrl(href)) node.removeAttribute('href');
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noreferrer noopener');
    }
  });
  // The configuration is parsed once for this private instance, not on every `sanitize` call
  // (that parse was a sixth of the time of rendering a long chat).
  p.setConfig(PURIFY_CONFIG);
  purifier = p;
  return p;
}

/**
 * While an answer streams, close an unfinished code fence so the partial code already shows
 * as code rather than flashing as paragraphs.
 */
export function closeOpenFence(text: string): string {
  let open: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (!m?.[1]) continue;
    const fence = m[1];
    if (open === null) open = fence;
    else if (fence[0] === open[0] && fence.length >= open.length && line.trim() === fence) open = null;
  }
  return open === null ? text : `${text}${text.endsWith('\n') ? '' : '\n'}${open}`;
}

/**
 * Rendered HTML by source text, least recently used first. Rendering is a pure function of the
 * text (and of whether highlight.js is loaded, part of the key), so a chat opened again, a list
 * reloaded after missed events or a remounted answer costs a lookup. Streaming text is not cached.
 */
const cache = new Map<string, string>();
/** Bounds: entries, and characters of source + HTML held (about 2 bytes each). */
const CACHE_ENTRIES = 600;
const CACHE_CHARS = 4_000_000;
let cachedChars = 0;

function remember(key: string, html: string): void {
  cache.set(key, html);
  cachedChars += key.length + html.length;
  for (const [oldKey, oldHtml] of cache) {
    if (cache.size <= CACHE_ENTRIES && cachedChars <= CACHE_CHARS) break;
    cache.delete(oldKey);
    cachedChars -= oldKey.length + oldHtml.length;
  }
}

/** The rendered-HTML cache's size (tests). */
export function markdownCacheSize(): { entries: number; chars: number } {
  return { entries: cache.size, chars: cachedChars };
}

/** Renders Markdown to sanitised HTML, safe for `{@html}`. */
export function renderMarkdown(text: string, options: { streaming?: boolean } = {}): string {
  if (options.streaming) return render(closeOpenFence(text));
  const key = `${highlighter() ? 'h' : 'p'}${text}`;
  const hit = cache.get(key);
  if (hit !== undefined) {
    // Most recently used: to the end of the (insertion-ordered) map.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const html = render(text);
  remember(key, html);
  return html;
}

function render(source: string): string {
  const html = marked.parse(source, { async: false });
  return purify().sanitize(html);
}

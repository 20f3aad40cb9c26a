// highlight.js, loaded on demand so it stays out of the entry chunk.
import type { HLJSApi } from 'highlight.js';

let instance: HLJSApi | null = null;
let loading: Promise<HLJSApi> | null = null;

/** The highlighter if it has been loaded, else null (code is then shown plain). */
export function highlighter(): HLJSApi | null {
  return instance;
}

/** Loads highlight.js core and a handful of languages (once). */
export function loadHighlighter(): Promise<HLJSApi> {
  loading ??= (async () => {
    const [core, javascript, typescript, python, rust, bash, json] = await Promise.all([
      import('highlight.js/lib/core'),
      import('highlight.js/lib/languages/javascript'),
      import('highlight.js/lib/languages/typescript'),
      import('highlight.js/lib/languages/python'),
      import('highlight.js/lib/languages/rust'),
      import('highlight.js/lib/languages/bash'),
      import('highlight.js/lib/languages/json'),
    ]);
    const hljs = core.default;
    hljs.configure({ ignoreUnescapedHTML: true });
    hljs.registerLanguage('javascript', javascript.default);
    hljs.registerLanguage('typescript', typescript.default);
    hljs.registerLanguage('python', python.default);
    hljs.registerLanguage('rust', rust.default);
    hljs.registerLanguage('bash', bash.default);
    hljs.registerLanguage('json', json.default);
    instance = hljs;
    return hljs;
  })();
  return loading;
}

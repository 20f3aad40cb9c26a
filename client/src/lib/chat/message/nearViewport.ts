// Long chats: an answer's Markdown (marked + DOMPurify + the resulting DOM) is most of the cost
// of showing a message. Answers far from the end of the list, which opens scrolled to the bottom,
// show their text plainly until they come near the viewport; the last few render at once, so
// what is on screen when the chat opens, and the height the list scrolls by, are the real ones.

/** Answers with fewer than this many messages after them render their Markdown immediately. */
export const EAGER_TAIL = 16;
/** How far outside the visible part of the list an answer starts rendering (of its height). */
const NEAR = '150% 0px';

const scrollRoots = new WeakMap<Element, Element | null>();
/** One observer per scrolling list (weakly held: a removed list takes its observer along). */
const observers = new WeakMap<Element, IntersectionObserver>();
let viewportObserver: IntersectionObserver | undefined;
const wakers = new WeakMap<Element, () => void>();

/** The closest scrolling ancestor (cached per parent: siblings share it). */
function scrollRoot(node: Element): Element | null {
  const parent = node.parentElement;
  if (!parent) return null;
  let root = scrollRoots.get(parent);
  if (root === undefined) {
    root = null;
    for (let el: Element | null = parent; el; el = el.parentElement) {
      const { overflowY } = getComputedStyle(el);
      if (overflowY === 'auto' || overflowY === 'scroll') {
        root = el;
        break;
      }
    }
    scrollRoots.set(parent, root);
  }
  return root;
}

/** How many messages (`<article>`s) follow `node`, counting up to `limit`. */
export function messagesAfter(node: Element, limit: number): number {
  let count = 0;
  for (let el = node.nextElementSibling; el && count < limit; el = el.nextElementSibling) {
    if (el.localName === 'article') count++;
  }
  return count;
}

/** Calls `wake` once `node` is near the visible part of its scrolling list; returns a canceller. */
export function whenNear(node: Element, wake: () => void): () => void {
  const root = scrollRoot(node);
  let observer = root ? observers.get(root) : viewportObserver;
  if (!observer) {
    const created = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          if (!entry.isIntersecting) continue;
          created.unobserve(entry.target);
          wakers.get(entry.target)?.();
          wakers.delete(entry.target);
        }
      },
      { root, rootMargin: NEAR },
    );
    observer = created;
    if (root) observers.set(root, created);
    else viewportObserver = created;
  }
  wakers.set(node, wake);
  observer.observe(node);
  const active = observer;
  return () => {
    active.unobserve(node);
    wakers.delete(node);
  };
}

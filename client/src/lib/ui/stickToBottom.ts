/**
 * Stick-to-bottom autoscroll for the chat transcript (framework-agnostic).
 *
 * - Pinned by default. While pinned, every size change of the content element
 *   (and of the scroller itself) writes `scrollTop` straight to the bottom:
 *   instant, never smooth, from the ResizeObserver callback (after layout,
 *   before paint, so nothing flickers).
 * - Its own scrolls are told from the user's by remembering the `scrollTop`
 *   each write produced; any other scroll event is the user's.
 * - Explicit intent unpins at once: wheel up, PageUp/Home/ArrowUp (not while
 *   typing), or a drag of 10 px towards older content. A user scroll that ends
 *   more than 60 px from the bottom unpins too; scrolling back down to within
 *   60 px of the bottom re-pins.
 * - `overflow-anchor: none` is set on the scroller while pinned (scroll
 *   anchoring would otherwise fight the writes) and restored when unpinned.
 *
 * The observer, `matchMedia` and `requestAnimationFrame` are feature-detected
 * and injectable, so this runs in jsdom tests.
 */

export interface StickToBottomState {
  /** Content growth keeps the view at the bottom. */
  pinned: boolean;
  /** Whether to show the "Scroll to bottom" button. */
  showButton: boolean;
}

/** The subset of ResizeObserver this module uses (a test can pass a fake). */
export interface ResizeObserverLike {
  observe(target: Element): void;
  disconnect(): void;
}
export type ResizeObserverConstructor = new (callback: () => void) => ResizeObserverLike;

export interface StickToBottomOptions {
  /** Called whenever `pinned` or `showButton` changes. */
  onChange?: (state: StickToBottomState) => void;
  /** Distance from the bottom (px) within which a user scroll re-pins, and beyond which it unpins. Default 60. */
  threshold?: number;
  /** Show the button once the distance exceeds this (px). Default 200. */
  showButtonAt?: number;
  /** Hide the button again within this distance (px). Default: `threshold`. */
  hideButtonAt?: number;
  /** A drag of this many px towards older content unpins. Default 10. */
  dragThreshold?: number;
  /** Overrides feature detection; `null` forces the requestAnimationFrame polling fallback. */
  ResizeObserver?: ResizeObserverConstructor | null;
  /** Overrides feature detection; `null` means "no reduced-motion preference". */
  matchMedia?: ((query: string) => { matches: boolean }) | null;
  /** Overrides feature detection; `null` falls back to setTimeout(16). */
  requestAnimationFrame?: ((callback: () => void) => number) | null;
  cancelAnimationFrame?: ((handle: number) => void) | null;
  /** Where key presses are listened for. Default: the scroller's document. */
  keyTarget?: EventTarget;
}

export interface PinOptions {
  /** Scroll smoothly (the button); ignored under prefers-reduced-motion. Default false (instant). */
  smooth?: boolean;
}

export interface StickToBottom {
  /** Scroll to the bottom and pin (send, regenerate, chat switch, the button). */
  pin(options?: PinOptions): void;
  /** Stop following growth. */
  unpin(): void;
  readonly isPinned: boolean;
  readonly showButton: boolean;
  readonly state: StickToBottomState;
  /** Live distance from the bottom in px (never negative). */
  readonly distanceFromBottom: number;
  /** Removes every listener, observer and pending frame; restores `overflow-anchor`. */
  destroy(): void;
}

const UNPIN_KEYS = new Set(['PageUp', 'Home', 'ArrowUp']);
const EDITABLE = 'input, textarea, select, [contenteditable]:not([contenteditable="false"])';
/** A smooth scroll that has not arrived after this many frames is finished instantly. */
const MAX_SMOOTH_FRAMES = 90;
/** Scroll positions within this many px are the same position (sub-pixel rounding). */
const EPSILON = 1;

export function createStickToBottom(
  scroller: HTMLElement,
  content: HTMLElement,
  options: StickToBottomOptions = {},
): StickToBottom {
  const threshold = options.threshold ?? 60;
  const showAt = options.showButtonAt ?? 200;
  const hideAt = options.hideButtonAt ?? threshold;
  const dragThreshold = options.dragThreshold ?? 10;
  const doc = scroller.ownerDocument;
  const win = doc.defaultView;

  const RO: ResizeObserverConstructor | null =
    options.ResizeObserver !== undefined
      ? options.ResizeObserver
      : typeof win?.ResizeObserver === 'function'
        ? win.ResizeObserver
        : null;
  const media =
    options.matchMedia !== undefined
      ? options.matchMedia
      : typeof win?.matchMedia === 'function'
        ? (query: string) => win.matchMedia(query)
        : null;
  const raf =
    options.requestAnimationFrame !== undefined
      ? options.requestAnimationFrame
      : typeof win?.requestAnimationFrame === 'function'
        ? (cb: () => void) => win.requestAnimationFrame(cb)
        : null;
  const caf =
    options.cancelAnimationFrame !== undefined
      ? options.cancelAnimationFrame
      : typeof win?.cancelAnimationFrame === 'function'
        ? (handle: number) => win.cancelAnimationFrame(handle)
        : null;
  const nextFrame = (cb: () => void): number => (raf ? raf(cb) : (setTimeout(cb, 16) as unknown as number));
  const cancelFrame = (handle: number) => (raf ? caf?.(handle) : clearTimeout(handle));

  let onChange = options.onChange;
  let pinned = true;
  let showButton = false;
  /** The state last passed to onChange (the initial state is not reported). */
  let reported: StickToBottomState = { pinned, showButton };
  let destroyed = false;
  /** The scrollTop our last write produced, until its scroll event arrives. */
  let expectedTop: number | null = null;
  /** scrollTop as of the last scroll event or write: gives a scroll its direction. */
  let lastTop = scroller.scrollTop;
  /** A smooth pin() is under way: scroll events moving down are ours. */
  let smoothing = false;
  let smoothFrames = 0;
  let frame = 0;
  /** An active drag: where it started, and which way is "towards older content". */
  let drag: { id: number; y: number; sign: 1 | -1 } | null = null;
  let touchY: number | null = null;
  let observer: ResizeObserverLike | null = null;
  /** No ResizeObserver: `frame` runs a size poll every frame (which also watches smooth scrolls). */
  let pollSizes = false;
  let lastSizes = '';
  const savedAnchor = scroller.style.getPropertyValue('overflow-anchor');
  const savedAnchorPriority = scroller.style.getPropertyPriority('overflow-anchor');

  const maxTop = () => Math.max(0, scroller.scrollHeight - scroller.clientHeight);
  const distance = () => Math.max(0, scroller.scrollHeight - scroller.clientHeight - scroller.scrollTop);

  function setAnchor() {
    if (pinned) scroller.style.setProperty('overflow-anchor', 'none');
    else restoreAnchor();
  }

  function restoreAnchor() {
    if (savedAnchor) scroller.style.setProperty('overflow-anchor', savedAnchor, savedAnchorPriority);
    else scroller.style.removeProperty('overflow-anchor');
  }

  /** Recomputes showButton (with hysteresis) and reports any change of state. */
  function update() {
    if (destroyed) return;
    const d = distance();
    if (pinned) showButton = false;
    else if (d > showAt) showButton = true;
    else if (d <= hideAt) showButton = false;
    if (pinned === reported.pinned && showButton === reported.showButton) return;
    reported = { pinned, showButton };
    onChange?.({ pinned, showButton });
  }

  function setPinned(value: boolean) {
    if (value === pinned) return;
    pinned = value;
    if (!value) stopSmoothing();
    setAnchor();
  }

  /** Instantly writes scrollTop to the bottom and remembers what it produced. */
  function stick() {
    stopSmoothing();
    const target = maxTop();
    if (Math.abs(scroller.scrollTop - target) <= EPSILON / 2) return;
    scroller.scrollTop = target;
    expectedTop = scroller.scrollTop; // read back: the browser may clamp or round
    lastTop = expectedTop;
  }

  function stopSmoothing() {
    smoothing = false;
    if (frame && !pollSizes) {
      cancelFrame(frame);
      frame = 0;
    }
  }

  function onResize() {
    if (destroyed) return;
    if (pinned) stick();
    update();
  }

  function onScroll() {
    const top = scroller.scrollTop;
    const previous = lastTop;
    lastTop = top;
    if (expectedTop !== null && Math.abs(top - expectedTop) <= EPSILON) {
      expectedTop = null; // the event of our own write
      update();
      return;
    }
    expectedTop = null;
    const d = distance();
    if (smoothing) {
      if (top >= previous - EPSILON) {
        if (d <= EPSILON) stopSmoothing();
        update();
        return; // a step of our own smooth scroll
      }
      stopSmoothing(); // something scrolled up mid-animation: the user
    }
    const movedUp = top < previous - EPSILON / 2;
    const movedDown = top > previous + EPSILON / 2;
    if (pinned) {
      // Away from the bottom: far enough, or at all while a pointer is held (scrollbar drag).
      if (movedUp && (d > threshold || (drag && d > EPSILON))) setPinned(false);
    } else if (d <= threshold && (movedDown || (movedUp && d <= EPSILON))) {
      // Back down near the bottom (or clamped onto it by shrinking content); a scroll event
      // that did not move (a stale one) never re-pins.
      setPinned(true);
    }
    update();
  }

  const canScrollUp = () => scroller.scrollTop > 0;

  /** A nested scroller between the target and ours would take this wheel itself. */
  function nestedCanScrollUp(target: EventTarget | null): boolean {
    let el = target instanceof Element ? target : null;
    while (el && el !== scroller) {
      if (el.scrollTop > 0 && el.scrollHeight > el.clientHeight) {
        const overflow = win?.getComputedStyle(el).overflowY;
        if (overflow === 'auto' || overflow === 'scroll') return true;
      }
      el = el.parentElement;
    }
    return false;
  }

  function unpinByUser() {
    if (!pinned) return;
    // expectedTop stays: the scroll event of an earlier write may still be on its way.
    setPinned(false);
    update();
  }

  function onWheel(event: WheelEvent) {
    if (!pinned || event.deltaY >= 0 || event.ctrlKey) return; // ctrl+wheel zooms
    if (!canScrollUp() || nestedCanScrollUp(event.target)) return;
    unpinByUser();
  }

  function onKeydown(event: KeyboardEvent) {
    if (!pinned || event.defaultPrevented || !UNPIN_KEYS.has(event.key)) return;
    const target = event.target;
    if (target instanceof Element) {
      if (target.closest(EDITABLE)) return; // typing: the caret moves, not the view
      // Keys scroll the focused element's scroller: only ours, or the page when nothing is focused.
      if (!scroller.contains(target) && target !== doc.body && target !== doc.documentElement) return;
    }
    if (!canScrollUp()) return;
    unpinByUser();
  }

  function onPointerDown(event: PointerEvent) {
    if (event.button !== 0) return;
    // A mouse drags upward to select/scroll up; a finger or pen drags downward to scroll up.
    drag = { id: event.pointerId, y: event.clientY, sign: event.pointerType === 'mouse' ? -1 : 1 };
  }

  function onPointerMove(event: PointerEvent) {
    if (!drag || event.pointerId !== drag.id) return;
    if ((event.clientY - drag.y) * drag.sign >= dragThreshold) unpinByUser();
  }

  function onPointerEnd(event: PointerEvent) {
    if (drag && event.pointerId === drag.id) drag = null;
  }

  function onTouchStart(event: TouchEvent) {
    touchY = event.touches[0]?.clientY ?? null;
  }

  function onTouchMove(event: TouchEvent) {
    const y = event.touches[0]?.clientY;
    if (touchY === null || y === undefined) return;
    if (y - touchY >= dragThreshold) unpinByUser(); // finger down = content towards the top
  }

  function onTouchEnd() {
    touchY = null;
  }

  // Size changes: a ResizeObserver, else a per-frame poll of the two sizes.
  function poll() {
    frame = 0;
    if (destroyed) return;
    const sizes = `${scroller.scrollHeight}:${scroller.clientHeight}`;
    if (sizes !== lastSizes) {
      lastSizes = sizes;
      onResize();
    }
    if (smoothing) smoothStep();
    frame = nextFrame(poll);
  }

  function smoothStep() {
    smoothFrames += 1;
    if (distance() <= EPSILON) {
      smoothing = false;
      update();
    } else if (smoothFrames > MAX_SMOOTH_FRAMES) {
      stick(); // never arrived (interrupted, or no smooth scrolling): finish instantly
      update();
    }
  }

  function watchSmooth() {
    frame = 0;
    if (destroyed || !smoothing) return;
    smoothStep();
    if (smoothing) frame = nextFrame(watchSmooth);
  }

  // One signal removes every listener on destroy().
  const listening = new AbortController();
  const passive: AddEventListenerOptions = { passive: true, signal: listening.signal };
  const keyTarget = options.keyTarget ?? doc;
  scroller.addEventListener('scroll', onScroll, passive);
  scroller.addEventListener('wheel', onWheel, passive);
  scroller.addEventListener('touchstart', onTouchStart, passive);
  scroller.addEventListener('touchmove', onTouchMove, passive);
  scroller.addEventListener('touchend', onTouchEnd, passive);
  scroller.addEventListener('touchcancel', onTouchEnd, passive);
  scroller.addEventListener('pointerdown', onPointerDown, passive);
  doc.addEventListener('pointermove', onPointerMove, passive);
  doc.addEventListener('pointerup', onPointerEnd, passive);
  doc.addEventListener('pointercancel', onPointerEnd, passive);
  keyTarget.addEventListener('keydown', onKeydown as EventListener, { signal: listening.signal });

  setAnchor();
  if (RO) {
    observer = new RO(onResize);
    observer.observe(content);
    observer.observe(scroller);
  } else {
    pollSizes = true;
    lastSizes = `${scroller.scrollHeight}:${scroller.clientHeight}`;
    frame = nextFrame(poll);
  }
  stick();

  return {
    pin(pinOptions: PinOptions = {}) {
      if (destroyed) return;
      setPinned(true);
      const reduced = media?.('(prefers-reduced-motion: reduce)').matches ?? false;
      const d = distance();
      if (pinOptions.smooth && !reduced && d > EPSILON && typeof scroller.scrollTo === 'function') {
        expectedTop = null;
        lastTop = scroller.scrollTop;
        smoothing = true;
        smoothFrames = 0;
        scroller.scrollTo({ top: maxTop(), behavior: 'smooth' });
        if (!pollSizes && !frame) frame = nextFrame(watchSmooth);
      } else {
        stick();
      }
      update();
    },
    unpin() {
      if (destroyed) return;
      setPinned(false);
      update();
    },
    get isPinned() {
      return pinned;
    },
    get showButton() {
      return showButton;
    },
    get state() {
      return { pinned, showButton };
    },
    get distanceFromBottom() {
      return distance();
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      smoothing = false;
      if (frame) cancelFrame(frame);
      frame = 0;
      observer?.disconnect();
      observer = null;
      listening.abort();
      restoreAnchor();
      onChange = undefined;
    },
  };
}

// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import scrollToBottomSource from './ScrollToBottom.svelte?raw';
import { createStickToBottom, type StickToBottomOptions, type StickToBottomState } from './stickToBottom';

/** A ResizeObserver the test triggers by hand. */
class FakeResizeObserver {
  static instances: FakeResizeObserver[] = [];
  targets: Element[] = [];
  disconnected = false;
  constructor(private readonly callback: () => void) {
    FakeResizeObserver.instances.push(this);
  }
  observe(target: Element) {
    this.targets.push(target);
  }
  disconnect() {
    this.disconnected = true;
    this.targets = [];
  }
  trigger() {
    if (!this.disconnected) this.callback();
  }
}

/** requestAnimationFrame that runs only when the test says so. */
function fakeFrames() {
  let next = 1;
  const queue = new Map<number, () => void>();
  return {
    requestAnimationFrame: (cb: () => void) => {
      queue.set(next, cb);
      return next++;
    },
    cancelAnimationFrame: (id: number) => void queue.delete(id),
    step(count = 1) {
      for (let i = 0; i < count; i++) {
        const callbacks = [...queue.values()];
        queue.clear();
        callbacks.forEach((cb) => cb());
      }
    },
    get pending() {
      return queue.size;
    },
  };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  cleanups.splice(0).forEach((fn) => fn());
  document.body.replaceChildren();
  FakeResizeObserver.instances = [];
});

/** A 400 px tall scroller over 1000 px of content; jsdom has no layout, so the box is stubbed. */
function setup(options: StickToBottomOptions & { reducedMotion?: boolean } = {}) {
  const scroller = document.createElement('div');
  const content = document.createElement('div');
  scroller.append(content);
  const outside = document.createElement('button'); // e.g. a sidebar button
  document.body.append(scroller, outside);

  const box = { scrollHeight: 1000, clientHeight: 400, scrollTop: 0 };
  const max = () => Math.max(0, box.scrollHeight - box.clientHeight);
  let writes = 0;
  Object.defineProperty(scroller, 'scrollHeight', { configurable: true, get: () => box.scrollHeight });
  Object.defineProperty(scroller, 'clientHeight', { configurable: true, get: () => box.clientHeight });
  Object.defineProperty(scroller, 'scrollTop', {
    configurable: true,
    get: () => box.scrollTop,
    set: (value: number) => {
      writes++;
      box.scrollTop = Math.min(Math.max(0, value), max());
    },
  });

  const frames = fakeFrames();
  const changes: StickToBottomState[] = [];
  const { reducedMotion = false, ...rest } = options;
  const stick = createStickToBottom(scroller, content, {
    ResizeObserver: FakeResizeObserver,
    matchMedia: (query) => ({ matches: reducedMotion && query.includes('reduce') }),
    requestAnimationFrame: frames.requestAnimationFrame,
    cancelAnimationFrame: frames.cancelAnimationFrame,
    onChange: (state) => changes.push(state),
    ...rest,
  });
  cleanups.push(() => stick.destroy());
  const observer = FakeResizeObserver.instances.at(-1);

  const scrollEvent = () => scroller.dispatchEvent(new Event('scroll'));
  return {
    scroller,
    content,
    outside,
    box,
    stick,
    frames,
    changes,
    observer,
    get writes() {
      return writes;
    },
    /** Content grows (a streamed token): the observer fires, then any write's scroll event. */
    grow(px: number) {
      const before = box.scrollTop;
      box.scrollHeight += px;
      observer?.trigger();
      if (box.scrollTop !== before) scrollEvent();
    },
    /** The user scrolls to an absolute position (the browser clamps it). */
    userScrollTo(top: number) {
      box.scrollTop = Math.min(Math.max(0, top), max());
      scrollEvent();
    },
    /** The user scrolls so that the view ends `px` above the bottom. */
    userScrollToDistance(px: number) {
      this.userScrollTo(max() - px);
    },
    wheel(deltaY: number, init: WheelEventInit = {}) {
      scroller.dispatchEvent(new WheelEvent('wheel', { deltaY, bubbles: true, ...init }));
    },
    key(key: string, target: EventTarget = document.body) {
      target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
    },
    touch(type: 'touchstart' | 'touchmove' | 'touchend', clientY: number) {
      const event = new Event(type, { bubbles: true });
      Object.defineProperty(event, 'touches', { value: type === 'touchend' ? [] : [{ clientY }] });
      scroller.dispatchEvent(event);
    },
    pointer(type: 'pointerdown' | 'pointermove' | 'pointerup', clientY: number, pointerType = 'mouse') {
      scroller.dispatchEvent(new PointerEvent(type, { pointerId: 1, clientY, pointerType, button: 0, bubbles: true }));
    },
    scrollEvent,
  };
}

describe('createStickToBottom', () => {
  it('starts pinned at the bottom, observes the content element and disables scroll anchoring', () => {
    const t = setup();
    expect(t.stick.isPinned).toBe(true);
    expect(t.box.scrollTop).toBe(600);
    expect(t.stick.distanceFromBottom).toBe(0);
    expect(t.observer?.targets).toContain(t.content);
    expect(t.scroller.style.getPropertyValue('overflow-anchor')).toBe('none');
    expect(t.stick.state).toEqual({ pinned: true, showButton: false });
  });

  it('stays pinned at the bottom while the content grows, with instant writes', () => {
    const t = setup();
    for (let i = 0; i < 5; i++) t.grow(37);
    expect(t.box.scrollTop).toBe(1000 + 5 * 37 - 400);
    expect(t.stick.isPinned).toBe(true);
    expect(t.changes).toEqual([]);
  });

  it('does not mistake its own writes for user scrolls, even after a big jump', () => {
    const t = setup();
    t.grow(2000); // the write's scroll event arrives with the view 2000 px below the old position
    expect(t.stick.isPinned).toBe(true);
    // The scroll event arrives late, after more growth and a second write.
    t.box.scrollHeight += 500;
    t.observer?.trigger();
    t.scrollEvent();
    t.scrollEvent(); // duplicate event at the same position: not a move, still pinned
    expect(t.stick.isPinned).toBe(true);
    expect(t.stick.distanceFromBottom).toBe(0);
    expect(t.changes).toEqual([]);
  });

  it('keeps a wheel unpin when the scroll event of an earlier write arrives afterwards', () => {
    const t = setup();
    t.box.scrollHeight += 30;
    t.observer?.trigger(); // writes scrollTop; its scroll event is still queued
    t.wheel(-5);
    t.scrollEvent(); // the queued event: at the written position, not a user move
    expect(t.stick.isPinned).toBe(false);
    t.scrollEvent(); // a stray event without movement does not re-pin either
    expect(t.stick.isPinned).toBe(false);
    t.grow(100);
    expect(t.stick.distanceFromBottom).toBe(100);
  });

  it('unpins on wheel up; growth then leaves the view alone and scroll anchoring is restored', () => {
    const t = setup();
    t.wheel(-40);
    expect(t.stick.isPinned).toBe(false);
    expect(t.changes).toEqual([{ pinned: false, showButton: false }]);
    expect(t.scroller.style.getPropertyValue('overflow-anchor')).toBe('');
    t.userScrollTo(560); // the wheel's own scroll, 40 px up
    const top = t.box.scrollTop;
    t.grow(300);
    expect(t.box.scrollTop).toBe(top);
    expect(t.stick.isPinned).toBe(false);
  });

  it('ignores wheel down, ctrl+wheel (zoom) and wheel when already at the top', () => {
    const t = setup();
    t.wheel(40);
    t.wheel(-40, { ctrlKey: true });
    expect(t.stick.isPinned).toBe(true);
    t.box.scrollHeight = 300; // content shorter than the view: nothing to scroll
    t.observer?.trigger();
    expect(t.box.scrollTop).toBe(0);
    t.wheel(-40);
    expect(t.stick.isPinned).toBe(true);
  });

  it.each(['PageUp', 'Home', 'ArrowUp'])('unpins on %s', (key) => {
    const t = setup();
    t.key(key);
    expect(t.stick.isPinned).toBe(false);
  });

  it('unpins on PageUp from inside the transcript but ignores other keys', () => {
    const t = setup();
    const button = document.createElement('button');
    t.content.append(button);
    t.key('PageDown', button);
    t.key('End', button);
    t.key('a', button);
    expect(t.stick.isPinned).toBe(true);
    t.key('PageUp', button);
    expect(t.stick.isPinned).toBe(false);
  });

  it('does not unpin on PageUp/Home/ArrowUp while typing in a textarea, input or contenteditable', () => {
    const t = setup();
    const textarea = document.createElement('textarea');
    const input = document.createElement('input');
    const editable = document.createElement('div');
    editable.setAttribute('contenteditable', 'true');
    const inner = document.createElement('span');
    editable.append(inner);
    t.content.append(editable); // even inside the transcript (an edit box)
    document.body.append(textarea, input);
    for (const target of [textarea, input, inner]) {
      for (const key of ['PageUp', 'Home', 'ArrowUp']) t.key(key, target);
    }
    expect(t.stick.isPinned).toBe(true);
  });

  it('does not unpin on keys that scroll another element or were handled (preventDefault)', () => {
    const t = setup();
    t.key('PageUp', t.outside);
    expect(t.stick.isPinned).toBe(true);
    const item = document.createElement('div');
    t.content.append(item);
    item.addEventListener('keydown', (event) => event.preventDefault());
    t.key('ArrowUp', item);
    expect(t.stick.isPinned).toBe(true);
  });

  it('unpins on a touch drag of 10 px towards older content, not on 9 px or the other way', () => {
    const t = setup();
    t.touch('touchstart', 300);
    t.touch('touchmove', 309); // finger down 9 px
    t.touch('touchmove', 250); // finger up: scrolling further down
    expect(t.stick.isPinned).toBe(true);
    t.touch('touchmove', 310);
    expect(t.stick.isPinned).toBe(false);
  });

  it('unpins on a mouse drag 10 px upward (selecting text), not on a short one', () => {
    const t = setup();
    t.pointer('pointerdown', 300);
    t.pointer('pointermove', 295);
    t.pointer('pointermove', 320);
    expect(t.stick.isPinned).toBe(true);
    t.pointer('pointermove', 290);
    expect(t.stick.isPinned).toBe(false);
  });

  it('ends drags on pointerup: later moves do nothing', () => {
    const t = setup();
    t.pointer('pointerdown', 300);
    t.pointer('pointerup', 300);
    t.pointer('pointermove', 200);
    expect(t.stick.isPinned).toBe(true);
  });

  it('unpins when the user scrolls up while holding a pointer (scrollbar drag), even by a little', () => {
    const t = setup();
    t.pointer('pointerdown', 300);
    t.userScrollToDistance(20);
    expect(t.stick.isPinned).toBe(false);
  });

  it('unpins on a user scroll ending more than 60 px from the bottom, not within 60 px', () => {
    const t = setup();
    t.userScrollToDistance(60);
    expect(t.stick.isPinned).toBe(true);
    t.grow(10); // still pinned: back to the bottom
    expect(t.stick.distanceFromBottom).toBe(0);
    t.userScrollToDistance(61);
    expect(t.stick.isPinned).toBe(false);
  });

  it('re-pins when the user scrolls back down to within 60 px, and follows growth again', () => {
    const t = setup();
    t.userScrollToDistance(300);
    expect(t.stick.isPinned).toBe(false);
    t.userScrollToDistance(100);
    expect(t.stick.isPinned).toBe(false);
    t.userScrollToDistance(55);
    expect(t.stick.isPinned).toBe(true);
    expect(t.scroller.style.getPropertyValue('overflow-anchor')).toBe('none');
    t.grow(120);
    expect(t.stick.distanceFromBottom).toBe(0);
  });

  it('does not re-pin while the user keeps scrolling up inside the 60 px band after a wheel', () => {
    const t = setup();
    t.wheel(-10);
    t.userScrollToDistance(10);
    t.userScrollToDistance(30);
    expect(t.stick.isPinned).toBe(false);
    t.userScrollToDistance(0); // reaching the very bottom re-pins
    expect(t.stick.isPinned).toBe(true);
  });

  it('shows the button past 200 px and hides it within 60 px, with hysteresis in between', () => {
    const t = setup();
    t.userScrollToDistance(150);
    expect(t.stick.state).toEqual({ pinned: false, showButton: false });
    t.userScrollToDistance(201);
    expect(t.stick.showButton).toBe(true);
    t.userScrollToDistance(120); // in the band: stays shown
    expect(t.stick.showButton).toBe(true);
    t.userScrollToDistance(200);
    expect(t.stick.showButton).toBe(true);
    t.userScrollToDistance(50);
    expect(t.stick.state).toEqual({ pinned: true, showButton: false });
    expect(t.changes).toEqual([
      { pinned: false, showButton: false },
      { pinned: false, showButton: true },
      { pinned: true, showButton: false },
    ]);
  });

  it('shows the button when content streams in below an unpinned reader', () => {
    const t = setup();
    t.wheel(-10);
    t.userScrollToDistance(100);
    expect(t.stick.showButton).toBe(false);
    t.grow(150); // 250 px below the view now
    expect(t.stick.distanceFromBottom).toBe(250);
    expect(t.stick.showButton).toBe(true);
  });

  it('pin() scrolls instantly to the bottom, pins and hides the button', () => {
    const t = setup();
    t.userScrollTo(0);
    t.grow(500);
    expect(t.stick.state).toEqual({ pinned: false, showButton: true });
    t.stick.pin();
    expect(t.box.scrollTop).toBe(1100);
    expect(t.stick.state).toEqual({ pinned: true, showButton: false });
    expect(t.changes.at(-1)).toEqual({ pinned: true, showButton: false });
    t.scrollEvent(); // the write's own event
    expect(t.stick.isPinned).toBe(true);
    t.grow(50);
    expect(t.stick.distanceFromBottom).toBe(0);
  });

  it('pin({ smooth: true }) scrolls smoothly; its intermediate scroll events do not unpin', () => {
    const t = setup();
    const calls: ScrollToOptions[] = [];
    t.scroller.scrollTo = ((options: ScrollToOptions) => void calls.push(options)) as typeof t.scroller.scrollTo;
    t.userScrollTo(0);
    t.stick.pin({ smooth: true });
    expect(calls).toEqual([{ top: 600, behavior: 'smooth' }]);
    expect(t.stick.state).toEqual({ pinned: true, showButton: false }); // hidden at once, though still far away
    expect(t.stick.distanceFromBottom).toBe(600);
    for (const top of [100, 250, 450, 590]) t.userScrollTo(top); // the animation's steps
    expect(t.stick.isPinned).toBe(true);
    t.userScrollTo(600);
    t.frames.step();
    expect(t.frames.pending).toBe(0); // arrived: nothing left to watch
    expect(t.stick.isPinned).toBe(true);
  });

  it('a smooth pin ends instantly when growth arrives, and a user scroll up cancels it', () => {
    const t = setup();
    t.scroller.scrollTo = (() => undefined) as typeof t.scroller.scrollTo;
    t.userScrollTo(0);
    t.stick.pin({ smooth: true });
    t.userScrollTo(200);
    t.grow(100); // streaming growth is always an instant write
    expect(t.box.scrollTop).toBe(700);
    t.stick.unpin();
    t.userScrollTo(0);
    t.stick.pin({ smooth: true });
    t.userScrollTo(300);
    t.userScrollTo(100); // the user pulls back up mid-animation
    expect(t.stick.isPinned).toBe(false);
  });

  it('finishes a smooth pin instantly if it never arrives', () => {
    const t = setup();
    t.scroller.scrollTo = (() => undefined) as typeof t.scroller.scrollTo;
    t.userScrollTo(0);
    t.stick.pin({ smooth: true });
    t.frames.step(200);
    expect(t.box.scrollTop).toBe(600);
    expect(t.stick.isPinned).toBe(true);
  });

  it('honours prefers-reduced-motion: the button scroll is instant', () => {
    const t = setup({ reducedMotion: true });
    const calls: ScrollToOptions[] = [];
    t.scroller.scrollTo = ((options: ScrollToOptions) => void calls.push(options)) as typeof t.scroller.scrollTo;
    t.userScrollTo(0);
    t.stick.pin({ smooth: true });
    expect(calls).toEqual([]);
    expect(t.box.scrollTop).toBe(600);
  });

  it('unpin() stops following growth', () => {
    const t = setup();
    t.stick.unpin();
    expect(t.changes).toEqual([{ pinned: false, showButton: false }]);
    t.grow(300);
    expect(t.box.scrollTop).toBe(600);
    expect(t.stick.showButton).toBe(true);
  });

  it('stays pinned when the content shrinks and the browser clamps scrollTop', () => {
    const t = setup();
    t.pointer('pointerdown', 300); // even with the mouse held on a message
    t.box.scrollHeight = 800;
    t.box.scrollTop = 400; // clamped by the browser
    t.observer?.trigger();
    t.scrollEvent();
    expect(t.stick.isPinned).toBe(true);
    t.grow(100);
    expect(t.stick.distanceFromBottom).toBe(0);
  });

  it('destroy() removes every listener and the observer, and restores overflow-anchor', () => {
    const t = setup();
    t.scroller.style.setProperty('overflow-anchor', 'none');
    t.stick.destroy();
    expect(t.observer?.disconnected).toBe(true);
    expect(t.scroller.style.getPropertyValue('overflow-anchor')).toBe('');
    t.wheel(-40);
    t.key('PageUp');
    t.touch('touchstart', 0);
    t.touch('touchmove', 100);
    t.pointer('pointerdown', 300);
    t.pointer('pointermove', 100);
    t.userScrollToDistance(500);
    t.stick.pin();
    t.stick.unpin();
    expect(t.stick.isPinned).toBe(true); // nothing reached the controller
    expect(t.changes).toEqual([]);
    const top = t.box.scrollTop;
    t.box.scrollHeight += 300;
    t.observer?.trigger();
    expect(t.box.scrollTop).toBe(top);
  });

  it('restores a pre-existing inline overflow-anchor when unpinned and on destroy', () => {
    const scroller = document.createElement('div');
    scroller.style.setProperty('overflow-anchor', 'auto');
    const content = document.createElement('div');
    scroller.append(content);
    document.body.append(scroller);
    const stick = createStickToBottom(scroller, content, { ResizeObserver: FakeResizeObserver });
    expect(scroller.style.getPropertyValue('overflow-anchor')).toBe('none');
    stick.unpin();
    expect(scroller.style.getPropertyValue('overflow-anchor')).toBe('auto');
    stick.pin();
    stick.destroy();
    expect(scroller.style.getPropertyValue('overflow-anchor')).toBe('auto');
  });

  it('without ResizeObserver, polls sizes once per frame and still follows growth', () => {
    const t = setup({ ResizeObserver: null });
    expect(t.observer).toBeUndefined();
    t.box.scrollHeight += 250;
    t.frames.step();
    expect(t.box.scrollTop).toBe(850);
    t.scrollEvent();
    expect(t.stick.isPinned).toBe(true);
    t.stick.destroy();
    expect(t.frames.pending).toBe(0);
  });

  it('feature-detects its environment (no ResizeObserver, matchMedia or rAF in plain jsdom)', async () => {
    const scroller = document.createElement('div');
    const content = document.createElement('div');
    scroller.append(content);
    document.body.append(scroller);
    const box = { scrollHeight: 1000, scrollTop: 0 };
    Object.defineProperty(scroller, 'scrollHeight', { configurable: true, get: () => box.scrollHeight });
    Object.defineProperty(scroller, 'clientHeight', { configurable: true, get: () => 400 });
    Object.defineProperty(scroller, 'scrollTop', {
      configurable: true,
      get: () => box.scrollTop,
      set: (value: number) => (box.scrollTop = Math.min(Math.max(0, value), box.scrollHeight - 400)),
    });
    const stick = createStickToBottom(scroller, content);
    cleanups.push(() => stick.destroy());
    expect(box.scrollTop).toBe(600);
    stick.unpin();
    stick.pin({ smooth: true }); // no scrollTo in jsdom: falls back to an instant write
    box.scrollHeight += 100;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(box.scrollTop).toBe(700);
  });
});

describe('ScrollToBottom.svelte', () => {
  const source = scrollToBottomSource;
  // Markup checks on the source (Svelte resolves to its server build under Vitest, so no mount here).
  it('is labelled, hides its icon, renders only when visible and uses no style attributes (CSP)', () => {
    expect(source).toContain(':focus-visible');
    expect(source).toContain('aria-label="Scroll to bottom"');
    expect(source).toMatch(/<svg[^>]*aria-hidden="true"/);
    expect(source).toContain('{#if visible}');
    expect(source).not.toMatch(/\sstyle[=:]/);
  });
});

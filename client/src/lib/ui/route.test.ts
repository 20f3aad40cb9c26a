import { afterEach, describe, expect, it, vi } from 'vitest';
import { chatIdFromPath, pagePath, pathOf, placeOf, Route, signInStepOf } from './route.svelte';

describe('the address', () => {
  it('names a page and, on the chat page, a chat', () => {
    expect(placeOf('/')).toEqual({ page: 'chat', chatId: null });
    expect(placeOf('/c/abc')).toEqual({ page: 'chat', chatId: 'abc' });
    expect(placeOf('/c/a%20b')).toEqual({ page: 'chat', chatId: 'a b' });
    expect(placeOf('/settings')).toEqual({ page: 'settings', chatId: null });
    expect(placeOf('/settings/')).toEqual({ page: 'settings', chatId: null });
    expect(placeOf('/admin')).toEqual({ page: 'admin', chatId: null });
  });

  it('anything else is a new chat', () => {
    expect(placeOf('/c/')).toEqual({ page: 'chat', chatId: null });
    expect(placeOf('/c/a/b')).toEqual({ page: 'chat', chatId: null });
    expect(placeOf('/settingsx')).toEqual({ page: 'chat', chatId: null });
    expect(placeOf('/nowhere')).toEqual({ page: 'chat', chatId: null });
    expect(chatIdFromPath('/admin')).toBeNull();
  });

  it('is written back the same way', () => {
    expect(pathOf(null)).toBe('/');
    expect(pathOf('a b')).toBe('/c/a%20b');
    expect(pagePath('chat', 'x')).toBe('/c/x');
    expect(pagePath('settings')).toBe('/settings');
    expect(pagePath('admin')).toBe('/admin');
    for (const path of ['/', '/c/a%2Fb', '/settings', '/admin']) {
      const place = placeOf(path);
      expect(pagePath(place.page, place.chatId)).toBe(path);
    }
  });
});

describe('Route', () => {
  afterEach(() => vi.unstubAllGlobals());

  /** A window with an address and a history that records what was pushed or replaced. */
  function browser(path: string) {
    const listeners: (() => void)[] = [];
    const loc = { pathname: '', search: '' };
    /** Goes to `p` (a path with, or without, a query). */
    const go = (p: string) => {
      const at = p.indexOf('?');
      loc.pathname = at < 0 ? p : p.slice(0, at);
      loc.search = at < 0 ? '' : p.slice(at);
    };
    go(path);
    const entries: string[] = [];
    vi.stubGlobal('location', loc);
    vi.stubGlobal('history', {
      pushState: (_s: unknown, _t: string, p: string) => {
        entries.push(`push ${p}`);
        go(p);
      },
      replaceState: (_s: unknown, _t: string, p: string) => {
        entries.push(`replace ${p}`);
        go(p);
      },
    });
    vi.stubGlobal('window', {
      addEventListener: (_type: string, f: () => void) => listeners.push(f),
      removeEventListener: () => undefined,
    });
    const back = (p: string) => {
      go(p);
      for (const f of listeners) f();
    };
    return { entries, back };
  }

  it('opens the pages and chats, pushing history entries (or replacing one)', () => {
    const { entries } = browser('/');
    const route = new Route();
    route.open('settings');
    expect([route.page, route.chatId]).toEqual(['settings', null]);
    route.navigate('c1');
    expect([route.page, route.chatId]).toEqual(['chat', 'c1']);
    route.open('admin', true);
    expect(route.page).toBe('admin');
    route.navigate(null);
    expect([route.page, route.chatId]).toEqual(['chat', null]);
    // Already there: no new entry.
    route.navigate(null);
    expect(entries).toEqual(['push /settings', 'push /c/c1', 'replace /admin', 'push /']);
  });

  it('follows back and forward', () => {
    const { back } = browser('/');
    const route = new Route();
    const stop = route.listen();
    back('/admin');
    expect(route.page).toBe('admin');
    back('/c/x');
    expect([route.page, route.chatId]).toEqual(['chat', 'x']);
    stop();
  });

  it('starts where the address points', () => {
    browser('/settings');
    expect(new Route().page).toBe('settings');
    browser('/c/x');
    const route = new Route();
    expect([route.page, route.chatId]).toEqual(['chat', 'x']);
  });

  it('a share page asks for the sign-in form, then comes back to the shared chat', () => {
    const { entries, back } = browser('/s/tok');
    const route = new Route();
    const stop = route.listen();
    expect([route.shareToken, route.signingIn]).toEqual(['tok', false]);
    route.signInToContinue();
    expect([route.shareToken, route.signingIn]).toEqual(['tok', true]);
    back('/s/tok');
    expect(route.signingIn).toBe(false);
    back('/s/tok?sign-in');
    expect(route.signingIn).toBe(true);
    route.backToShare();
    expect([route.shareToken, route.signingIn]).toEqual(['tok', false]);
    expect(entries).toEqual(['push /s/tok?sign-in', 'replace /s/tok']);
    stop();
  });

  it('starts on the sign-in step of a share page only', () => {
    browser('/s/tok?sign-in');
    expect(new Route().signingIn).toBe(true);
    browser('/?sign-in');
    const route = new Route();
    expect(route.signingIn).toBe(false);
    // Not on a share page: nothing to sign in for.
    route.signInToContinue();
    expect(route.signingIn).toBe(false);
    expect(signInStepOf('?sign-in')).toBe(true);
    expect(signInStepOf('?x=1&sign-in=')).toBe(true);
    expect(signInStepOf('')).toBe(false);
    expect(signInStepOf(undefined)).toBe(false);
  });

  it('leaves the sign-in step when a chat opens', () => {
    browser('/s/tok?sign-in');
    const route = new Route();
    route.navigate('c1');
    expect([route.shareToken, route.signingIn, route.chatId]).toEqual([null, false, 'c1']);
  });
});

// Shared by the end-to-end tests: Debian's Chromium, page-problem capture, sign-up, axe, direct
// API calls and the operator's command line (`confab user …`) against the e2e database.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

export const shots = new URL('../screenshots/', import.meta.url).pathname;

export async function launch() {
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Page errors and console errors (CSP violations included) collected while the test runs. */
export function watchProblems(page) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The silent session check on first load answers 401 (no refresh cookie yet): expected.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return problems;
}

/**
 * A new browser context (1280×900, plus `options` such as `acceptDownloads`; `clipboard`: the
 * app's origin may read and write the clipboard) with a page whose problems are watched, and a
 * fresh user registered there: `{ page, problems, composer, username, email, password }`.
 */
export async function newUserPage(browser, url, prefix, { clipboard = false, ...options } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  if (clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  const page = await context.newPage();
  const problems = watchProblems(page);
  return { page, problems, ...(await registerUser(page, url, prefix)) };
}

/** Opens the app, registers a fresh user through the form, and returns the composer. */
export async function register(page, url, prefix, { screenshot } = {}) {
  return (await registerUser(page, url, prefix, { screenshot })).composer;
}

/**
 * Like `register`, but also returns the credentials (to sign in again, e.g. from a second
 * browser context): `{ composer, username, email, password }`.
 */
export async function registerUser(page, url, prefix, { screenshot, password = 'correct horse battery' } = {}) {
  await page.goto(url);
  await page.getByRole('button', { name: 'Create one' }).click();
  const username = `${prefix}_${Date.now()}`;
  const email = `${username}@example.org`;
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  if (screenshot) await page.screenshot({ path: `${shots}${screenshot}` });
  await page.getByRole('button', { name: 'Create account' }).click();
  const composer = page.getByPlaceholder(/send a message/i);
  await composer.waitFor({ timeout: 10_000 });
  return { composer, username, email, password };
}

/**
 * Signs in through the login form of a page that shows it (opened at `url` unless
 * `{ goto: false }`); `login` is the email or the username. Returns the composer.
 */
export async function signIn(page, url, login, password, { screenshot, goto = true } = {}) {
  if (goto) await page.goto(url);
  await page.getByLabel('Email or username').fill(login);
  await page.getByLabel('Password').fill(password);
  if (screenshot) await page.screenshot({ path: `${shots}${screenshot}` });
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const composer = page.getByPlaceholder(/send a message/i);
  await composer.waitFor({ timeout: 10_000 });
  return composer;
}

/** The fake upstream's control endpoints (`base` is CONFAB_E2E_UPSTREAM). */
export function fakeUpstream(base) {
  /** PUT /__behaviour: delays, reply length etc. (missing fields default; `{}` is prompt and correct). */
  async function behave(behaviour) {
    const response = await fetch(`${base}/__behaviour`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(behaviour),
    });
    if (!response.ok) throw new Error(`PUT /__behaviour: ${response.status} ${await response.text()}`);
  }
  /** Every chat-completion body received, in order. */
  async function requests() {
    const response = await fetch(`${base}/__requests`);
    if (!response.ok) throw new Error(`GET /__requests: ${response.status}`);
    return response.json();
  }
  async function lastRequest() {
    const all = await requests();
    return all[all.length - 1];
  }
  return { behave, requests, lastRequest };
}

/** Polls `check` (sync or async) until it returns a truthy value; throws `message` after `timeout` ms. */
export async function until(check, { timeout = 5_000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${message}${last ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Records what a page exchanges with the server, for failure reports: API requests (method,
 * path, status) and the WebSocket (the `since` it opened with; each frame's type, seq, message
 * id, status), with times in ms since the call. `lines()` returns them, oldest first.
 */
export function recordTraffic(page) {
  const start = Date.now();
  const log = [];
  const at = () => String(Date.now() - start).padStart(6);
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) log.push(`${at()} ${r.request().method()} ${u.pathname}${u.search} → ${r.status()}`);
  });
  page.on('websocket', (ws) => {
    const since = new URL(ws.url()).searchParams.get('since');
    log.push(`${at()} ws open${since === null ? '' : ` since=${since}`}`);
    ws.on('framereceived', ({ payload }) => {
      try {
        const e = JSON.parse(String(payload));
        const status = e.data && typeof e.data === 'object' && 'status' in e.data ? ` status=${e.data.status}` : '';
        const offset = e.data && typeof e.data === 'object' && 'offset' in e.data ? ` offset=${e.data.offset}` : '';
        const seq = typeof e.seq === 'number' ? ` #${e.seq}` : '';
        log.push(`${at()} ws ${e.type}${seq}${e.message_id ? ` ${e.message_id}` : ''}${status}${offset}`);
      } catch {
        log.push(`${at()} ws frame ${String(payload).slice(0, 60)}`);
      }
    });
    ws.on('close', () => log.push(`${at()} ws closed`));
  });
  return { lines: () => [...log] };
}

/** axe-core's WCAG 2.0/2.1 A+AA rules and best practices. */
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
let axe = '';
function axeSource() {
  if (!axe) axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return axe;
}

/**
 * Runs axe on the current document and returns its violations as readable lines. The source is
 * evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not
 * govern, so the CSP stays on.
 */
export async function audit(page, state) {
  // Nothing hovered: hover styles must not decide the outcome.
  await page.mouse.move(0, 0);
  // Let transitions (opacity, colours) settle before contrast is measured.
  await page.waitForTimeout(250);
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource());
  const violations = await page.evaluate(
    (tags) =>
      // @ts-ignore -- injected above
      window.axe.run(document, { runOnly: tags, resultTypes: ['violations'] }).then((r) =>
        r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
        })),
      ),
    TAGS,
  );
  return violations.map(
    (v) =>
      `[${state}] ${v.id} (${v.impact}): ${v.help}\n` +
      v.nodes.map((n) => `    ${n.target}\n      ${(n.summary ?? '').replace(/\n/g, '\n      ')}`).join('\n'),
  );
}

/** axe in light and dark (`state` names the moment); the scheme is light again afterwards. */
export async function auditBoth(page, state) {
  const found = [...(await audit(page, `${state} light`))];
  await page.emulateMedia({ colorScheme: 'dark' });
  found.push(...(await audit(page, `${state} dark`)));
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

/** Roles a user operates; each needs an accessible name. */
const INTERACTIVE = new Set([
  'button', 'link', 'textbox', 'searchbox', 'combobox', 'listbox', 'slider', 'spinbutton',
  'checkbox', 'radio', 'switch', 'menuitem', 'tab', 'option', 'DisclosureTriangle',
]);

/** Every operable node of the accessibility tree has a name; returns the ones without. */
export async function unnamedControls(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const missing = [];
    for (const node of nodes) {
      const role = node.role?.value;
      if (node.ignored || !INTERACTIVE.has(role)) continue;
      if (String(node.name?.value ?? '').trim() !== '') continue;
      let html = '';
      if (node.backendDOMNodeId) {
        const { object } = await cdp.send('DOM.resolveNode', { backendNodeId: node.backendDOMNodeId });
        const { result } = await cdp.send('Runtime.callFunctionOn', {
          objectId: object.objectId,
          functionDeclaration: 'function () { return this.outerHTML ? this.outerHTML.slice(0, 160) : String(this.nodeName); }',
          returnByValue: true,
        });
        html = result.value;
      }
      missing.push(`${role}: ${html}`);
    }
    return missing;
  } finally {
    await cdp.detach();
  }
}

const repo = new URL('../../', import.meta.url).pathname;

/**
 * The e2e deployment's database: CONFAB_E2E_DATABASE, else the name scripts/test gives it,
 * `e2e_<port of CONFAB_E2E_URL>`.
 */
export function e2eDatabase() {
  if (process.env.CONFAB_E2E_DATABASE) return process.env.CONFAB_E2E_DATABASE;
  const url = process.env.CONFAB_E2E_URL;
  return url ? `e2e_${new URL(url).port}` : null;
}

/**
 * Runs the operator's command line, `target/debug/confab user …args`, against the e2e database
 * (CONFAB_E2E_MONGODB, host:port) and returns its standard output; throws with its error output
 * when it fails. Null when CONFAB_E2E_MONGODB is not set or the binary is not built.
 */
export function confabUser(...args) {
  const mongo = process.env.CONFAB_E2E_MONGODB;
  const database = e2eDatabase();
  const binary = `${repo}target/debug/confab`;
  if (!mongo || !database || !existsSync(binary)) return null;
  const run = spawnSync(binary, ['user', ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH,
      MONGODB_URI: `mongodb://${mongo}/?directConnection=true`,
      MONGODB_DATABASE: database,
      // Settings::load needs no more in development; a secret of the minimum length in case.
      JWT_SECRET: 'e2e-cli-secret-0123456789abcdef0123456789',
      RUST_LOG: 'warn',
    },
  });
  if (run.status !== 0) throw new Error(`confab user ${args.join(' ')}: exit ${run.status}\n${run.stderr}`);
  return run.stdout;
}

/** Calls the API directly (not through the page): `{ status, body }`, the body parsed when JSON. */
export async function callApi(base, method, path, { token, body } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed };
}

/**
 * Presses Tab (from wherever the focus is) until `isTarget(activeElement)` holds in the page;
 * throws after `max` presses. `isTarget` runs in the page.
 */
export async function tabTo(page, isTarget, { max = 100, what = 'the target' } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(isTarget)) return i + 1;
  }
  throw new Error(`Tab never reached ${what} in ${max} presses`);
}

/**
 * Waits until the open chat generates nothing (its composer shows Send, not Stop): only then
 * does Enter send (while an answer streams here or in another tab, Enter is ignored).
 */
export async function idle(page, { timeout = 15_000 } = {}) {
  await page.waitForFunction(() => !document.querySelector('button.stop'), null, { timeout });
}

/** An access token for `login` (asserting the sign-in worked). */
export async function signInToken(base, login, password) {
  const { status, body } = await callApi(base, 'POST', '/api/auth/login', { body: { email: login, password } });
  if (status !== 200) throw new Error(`sign-in of ${login}: ${status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/**
 * Makes `username` an admin (the operator's command line) unless the server made it one; skips
 * the test (false) when there is no way to.
 */
export async function makeAdmin(t, base, username, password) {
  const bearer = await signInToken(base, username, password);
  const me = await callApi(base, 'GET', '/api/users/me', { token: bearer });
  if (me.body.role === 'admin') return true;
  const printed = confabUser('set-role', username, 'admin');
  if (printed === null) {
    t.skip('not an admin, and CONFAB_E2E_MONGODB is not set (or target/debug/confab is missing): no way to make one');
    return false;
  }
  t.diagnostic(printed.trim());
  // Servers remember an account's standing for up to a second: wait until it holds.
  await until(async () => (await callApi(base, 'GET', '/api/admin/users?limit=1', { token: bearer })).status === 200, {
    message: 'the admin role to reach the server',
  });
  return true;
}

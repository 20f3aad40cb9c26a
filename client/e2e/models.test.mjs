// End-to-end in real Chromium: models that a server loads into memory and unloads. The e2e
// server runs with a MODELS_FILE that adds two endpoints on the fake upstream: `llama-router`
// (llama-server router mode) serving `router-model` ("Router model") and `ollama` serving
// `ollama-model`, beside the environment's `confab-demo` (vLLM, not manageable).
// - Admin > Models lists the three with their state; router-model is unloaded by keyboard (the
//   fake records the router's `POST /models/unload`), then loaded again, slowly: "Loading…",
//   then "Loaded" (the page polls), each change announced; ollama-model's memory (Ollama's
//   /api/ps) is shown with its VRAM; confab-demo is "Not managed". axe finds nothing in light and
//   dark; every control is named.
// - A member has no Models section (the page says admins only) and the API answers 403.
// - The member's answer with router-model chosen, the model unloaded and slow to load, says
//   "Loading Router model…" (announced) before its text, in this tab and in a second one (the
//   socket), then the answer comes.
// The admin is made as admin.test.mjs makes one (the operator's command line).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  audit,
  callApi,
  fakeUpstream,
  idle,
  launch,
  makeAdmin,
  registerUser,
  shots,
  signIn,
  signInToken,
  unnamedControls,
  until,
  watchProblems,
} from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)
const skip = !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set';

const { behave } = fakeUpstream(upstream ?? '');

/** The fake upstream's residency controls. */
async function control(method, path, body) {
  const response = await fetch(`${upstream}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}
const setResidency = (model, state) => control('PUT', `/__residency/${encodeURIComponent(model)}`, { state });
const residency = () => control('GET', '/__residency');
const residencyCalls = () => control('GET', '/__residency_calls');
const reset = () => control('POST', '/__reset');

/** Refusals the test causes on purpose (the member at the admin API). */
const expected = (p) => !/status of (401|403)/.test(p);

test('models: load and unload as admin, by keyboard and axe-clean; an answer says its model is loading', { skip, timeout: 180_000 }, async (t) => {
  await reset();
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const problems = watchProblems(page);
    const admin = await registerUser(page, url, 'e2e_models_admin');
    if (!(await makeAdmin(t, url, admin.username, admin.password))) return;

    // ---- the admin's Models section ---------------------------------------------------------
    await page.reload();
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { level: 1, name: 'Administration' }).waitFor();
    await page.getByRole('navigation', { name: 'Administration sections' }).getByRole('link', { name: 'Models' }).click();
    const models = page.getByRole('region', { name: 'Models' });
    const row = (id) => models.getByRole('row').filter({ has: page.locator('code', { hasText: new RegExp(`^${id}$`) }) });
    const state = (id) => row(id).locator('.badge');
    const router = row('router-model');
    for (const id of ['router-model', 'ollama-model', 'confab-demo']) {
      await row(id).waitFor({ timeout: 10_000 });
    }
    assert.match(await router.locator('th').innerText(), /Router model/);
    assert.match(await router.innerText(), /llama-router/);
    assert.equal(await state('router-model').innerText(), 'Loaded');
    assert.equal(await state('ollama-model').innerText(), 'Loaded');
    // The environment's model is not the server's to load: no buttons.
    await row('confab-demo').getByText('Not managed', { exact: true }).waitFor();
    assert.equal(await row('confab-demo').getByRole('button').count(), 0);
    // Ollama says how much memory the model takes: 1.5 GB, half of it in VRAM.
    assert.match(await row('ollama-model').locator('td.num').innerText(), /^1\.5 GB \(756 MB VRAM\)$/);
    const status = models.getByRole('status');

    // Unload router-model by keyboard: the focus stays on the row's button, which now loads it.
    const unload = router.getByRole('button', { name: 'Unload router-model' });
    await unload.focus();
    await page.keyboard.press('Enter');
    await until(async () => (await state('router-model').innerText()) === 'Unloaded', { timeout: 10_000, message: 'router-model unloaded' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Load router-model');
    await until(async () => (await status.textContent()).includes('router-model unloaded'), { message: 'the unload announced' });
    const calls = await residencyCalls();
    assert.ok(
      calls.some((c) => /\/models\/unload$/.test(c.path) && c.body?.model === 'router-model'),
      `the router was asked to unload router-model: ${JSON.stringify(calls)}`,
    );
    assert.equal((await residency())['router-model'], 'unloaded');

    // Load it again, slowly: "Loading…" (its button unavailable), then "Loaded" as the page polls.
    await behave({ load_ms: 1500 });
    await page.keyboard.press('Enter');
    await until(async () => (await state('router-model').innerText()) === 'Loading…', { timeout: 5_000, message: 'router-model loading' });
    assert.equal(await router.getByRole('button', { name: 'Load router-model' }).getAttribute('aria-disabled'), 'true');
    await page.screenshot({ path: `${shots}admin-models-loading.png` });
    await until(async () => (await state('router-model').innerText()) === 'Loaded', { timeout: 15_000, message: 'router-model loaded' });
    await until(async () => (await status.textContent()).includes('router-model loaded'), { message: 'the load announced' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Unload router-model');
    await page.screenshot({ path: `${shots}admin-models.png` });

    // axe, light and dark; every control named.
    const found = [...(await audit(page, 'admin models light'))];
    await page.emulateMedia({ colorScheme: 'dark' });
    found.push(...(await audit(page, 'admin models dark')));
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(found, [], `axe violations:\n${found.join('\n')}`);
    assert.deepEqual(await unnamedControls(page), [], 'controls without an accessible name');

    // ---- a member: no Models section, and the API refuses ------------------------------------
    const memberContext = await browser.newContext();
    const member = await memberContext.newPage();
    const memberProblems = watchProblems(member);
    const { composer, username, password } = await registerUser(member, url, 'e2e_models_member');
    await member.goto(`${url}/admin`);
    await member.getByText('Only admins can open this page.').waitFor({ timeout: 10_000 });
    assert.equal(await member.getByRole('region', { name: 'Models' }).count(), 0);
    const bearer = await signInToken(url, username, password);
    assert.equal((await callApi(url, 'GET', '/api/admin/models', { token: bearer })).status, 403);
    assert.equal((await callApi(url, 'POST', '/api/admin/models/router-model/unload', { token: bearer })).status, 403);

    // ---- the member's answer waits for router-model to load ---------------------------------
    await member.goto(url);
    await composer.waitFor({ timeout: 10_000 });
    await composer.fill('Warm up');
    await composer.press('Enter');
    await member.getByText(/Demo reply to: Warm up/).waitFor({ timeout: 15_000 });
    await member.waitForURL(/\/c\/[^/]+$/);
    await idle(member);
    const chatUrl = member.url();
    // Router model in the chat's parameters (it answers: not marked as not responding).
    await member.getByRole('button', { name: 'Parameters' }).click();
    const panel = member.locator('#params-panel');
    const picker = panel.getByLabel('Model', { exact: true });
    const offered = await picker.locator('option').allTextContents();
    assert.ok(offered.includes('Router model'), `Router model is offered as it is: ${JSON.stringify(offered)}`);
    await picker.selectOption({ label: 'Router model' });
    await panel.getByText('Saved', { exact: true }).waitFor({ timeout: 5_000 });
    await member.getByRole('button', { name: 'Close parameters' }).click();

    // A second tab of the member on the same chat hears it over the socket.
    const second = await memberContext.newPage();
    const secondProblems = watchProblems(second);
    await second.goto(chatUrl);
    await second.getByText(/Demo reply to: Warm up/).waitFor({ timeout: 15_000 });

    await setResidency('router-model', 'unloaded');
    await behave({ load_ms: 1500 });
    await composer.fill('Hello router');
    await composer.press('Enter');
    const answer = member.locator('article.message.assistant').last();
    await answer.getByText('Loading Router model…', { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal((await answer.locator('.markdown').innerText()).trim(), '', 'no text before the model is loaded');
    // Announced (the chat's status region; the answer itself is not a live region).
    assert.equal(await member.getByRole('status').filter({ hasText: 'Loading Router model…' }).count(), 1);
    await member.screenshot({ path: `${shots}answer-model-loading.png` });
    const secondAnswer = second.locator('article.message.assistant').last();
    await secondAnswer.getByText('Loading Router model…', { exact: true }).waitFor({ timeout: 10_000 });
    // Then the answer, and the note is gone.
    await answer.getByText(/Demo reply to: Hello router/).waitFor({ timeout: 15_000 });
    await idle(member);
    assert.equal(await answer.getByText('Loading Router model…').count(), 0);
    await secondAnswer.getByText(/Demo reply to: Hello router/).waitFor({ timeout: 15_000 });
    assert.equal(await secondAnswer.getByText('Loading Router model…').count(), 0);
    assert.equal((await residency())['router-model'], 'loaded');

    assert.deepEqual(problems.filter(expected), [], 'admin page: no page errors, console errors or CSP violations');
    assert.deepEqual(memberProblems.filter(expected), [], 'member page: no page or console errors');
    assert.deepEqual(secondProblems.filter(expected), [], 'second tab: no page or console errors');
  } finally {
    await browser.close();
    await reset();
  }
});

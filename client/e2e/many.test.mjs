// End-to-end in real Chromium across two processes of one deployment (one database, one JWT
// secret; CONFAB_E2E_URL and CONFAB_E2E_URL_B): the same user in a context on each follows the
// other live — a chat created on A shows in B's sidebar, an answer A streams grows in B while it
// streams, A's rename reaches B's header and sidebar, B's vote reaches A. B never reloads.
// Screenshots: client/screenshots/many-*.png (many-FAIL-*.png for a failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audit, fakeUpstream, launch, recordTraffic, registerUser, shots, signIn, until, watchProblems } from './browser.mjs';

const urlA = process.env.CONFAB_E2E_URL;
const urlB = process.env.CONFAB_E2E_URL_B;
const upstreamUrl = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)

/** How long the other process may take to show a change live. */
const LIVE_MS = 10_000;

const skip =
  (!urlB && 'CONFAB_E2E_URL_B not set (a second Confab process on the same database and JWT secret as CONFAB_E2E_URL)') ||
  (!(urlA && upstreamUrl) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set');

async function instanceOf(url) {
  const response = await fetch(`${url}/api/health`);
  assert.ok(response.ok, `GET ${url}/api/health: ${response.status}`);
  return (await response.json()).instance;
}

test('two processes of one deployment: a chat, a streaming answer, a rename and a vote cross live', { skip, timeout: 90_000 }, async (t) => {
  const upstream = fakeUpstream(upstreamUrl);
  const started = Date.now();
  const timings = [];
  let mark = started;
  const lap = (name) => {
    const now = Date.now();
    timings.push(`${name}: ${now - mark} ms`);
    mark = now;
  };

  // Really two processes: /api/health names a different instance on each URL.
  const [instanceA, instanceB] = await Promise.all([instanceOf(urlA), instanceOf(urlB)]);
  t.diagnostic(`instances: A=${instanceA}, B=${instanceB}`);
  assert.ok(instanceA && instanceB, 'both processes name their instance');
  assert.notEqual(instanceA, instanceB, 'CONFAB_E2E_URL and CONFAB_E2E_URL_B are different processes');

  /** Clicks a chat row's Rename/Delete button the way a mouse user does: hover the row first. */
  async function rowAction(nav, title, action) {
    const chat = nav.page().getByRole('button', { name: title, exact: true });
    await nav.getByRole('listitem').filter({ has: chat }).hover();
    await nav.getByRole('button', { name: `${action} “${title}”` }).click();
  }
  const textOf = (article) => article.locator('.markdown').innerText();

  const browser = await launch();
  const pages = {};
  const traffic = {};
  try {
    await upstream.behave({});
    // ---- A registers on process A; B signs in with the same credentials on process B -------
    const a = await (await browser.newContext()).newPage();
    pages.A = a;
    traffic.A = recordTraffic(a);
    const problemsA = watchProblems(a);
    const { composer, username, password } = await registerUser(a, urlA, 'e2e_many');
    const b = await (await browser.newContext()).newPage();
    pages.B = b;
    traffic.B = recordTraffic(b);
    const problemsB = watchProblems(b);
    await signIn(b, urlB, username, password);
    const navA = a.getByRole('navigation', { name: 'Chats' });
    const navB = b.getByRole('navigation', { name: 'Chats' });
    const answersA = a.getByRole('article', { name: 'Assistant' });
    const answersB = b.getByRole('article', { name: 'Assistant' });
    lap('sign up on A, sign in on B');

    // ---- A creates a chat: it appears in B's sidebar; B opens it (no reload) --------------
    await navA.getByRole('button', { name: 'New chat' }).click();
    const title = 'Otters across processes';
    await composer.fill(title);
    await composer.press('Enter');
    await a.waitForURL(/\/c\/[^/]+$/, { timeout: 10_000 });
    await answersA.last().getByText(`Demo reply to: ${title}`).waitFor({ timeout: 15_000 });
    const chatPath = new URL(a.url()).pathname;
    await navB.getByRole('button', { name: title, exact: true }).click({ timeout: LIVE_MS });
    await until(() => new URL(b.url()).pathname === chatPath, { timeout: 5_000, message: 'B to open the chat' });
    await answersB.last().getByText(`Demo reply to: ${title}`).waitFor({ timeout: 10_000 });
    lap('new chat reaches B');

    // ---- A sends; B sees the answer stream: its text grows while it is generating ---------
    // 150 tokens 40 ms apart (6 s); the owner saves every second, which B's process relays.
    await upstream.behave({ chunk_delay_ms: 40, reply_tokens: 150 });
    const question = 'Tell me how otters hold hands';
    await composer.fill(question);
    await composer.press('Enter');
    await b.getByRole('article', { name: 'You' }).filter({ hasText: question }).waitFor({ timeout: LIVE_MS });
    const answerB = answersB.filter({ hasText: `Demo reply to: ${question}` });
    await answerB.waitFor({ timeout: LIVE_MS });
    // While B still shows it generating, B shows at least 3 different lengths of its text (it
    // grows step by step, not in one jump at the end).
    const lengths = new Set();
    const growUntil = Date.now() + LIVE_MS;
    while (lengths.size < 3) {
      const text = await textOf(answerB);
      // Still generating after that read: the text was a partial one.
      assert.equal(await answerB.getAttribute('aria-busy'), 'true', `B's answer finished before B saw it grow (lengths ${[...lengths]})`);
      if (text.startsWith(`Demo reply to: ${question}`)) lengths.add(text.length);
      assert.ok(Date.now() < growUntil, `B's answer did not grow within ${LIVE_MS} ms (lengths ${[...lengths]})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await b.screenshot({ path: `${shots}many-streaming-B.png` });
    // It ends with the same text in both.
    const answerA = answersA.filter({ hasText: `Demo reply to: ${question}` });
    await until(async () => (await answerA.getAttribute('aria-busy')) === 'false', { timeout: 20_000, message: 'A’s answer to finish' });
    const full = await textOf(answerA);
    assert.ok(full.split(/\s+/).length >= 100, `A's whole answer: ${full}`);
    await until(async () => (await answerB.getAttribute('aria-busy')) === 'false' && (await textOf(answerB)) === full, {
      timeout: LIVE_MS,
      message: 'B to show the whole answer, finished',
    });
    t.diagnostic(`B saw the answer at ${lengths.size} lengths while it streamed: ${[...lengths].join(', ')} (final ${full.length})`);
    lap('streaming answer reaches B');

    // ---- A renames the chat: B's header and sidebar show the new title --------------------
    await rowAction(navA, title, 'Rename');
    const renameInput = navA.getByLabel('Rename chat');
    await renameInput.fill('Otter summit');
    await renameInput.press('Enter');
    await navA.getByRole('button', { name: 'Otter summit', exact: true }).waitFor({ timeout: 5_000 });
    await navB.getByRole('button', { name: 'Otter summit', exact: true }).waitFor({ timeout: LIVE_MS });
    await b.getByRole('heading', { level: 1, name: 'Otter summit' }).waitFor({ timeout: LIVE_MS });
    lap('rename reaches B');

    // ---- B votes the answer up: A shows the vote ------------------------------------------
    const votesB = answerB.getByRole('group', { name: 'Rate this answer' });
    await votesB.getByRole('button', { name: 'Good answer' }).click();
    await votesB.getByRole('button', { name: 'Good answer', pressed: true }).waitFor({ timeout: 5_000 });
    const votesA = answerA.getByRole('group', { name: 'Rate this answer' });
    await votesA.getByRole('button', { name: 'Good answer', pressed: true }).waitFor({ timeout: LIVE_MS });
    assert.equal(await votesA.getByRole('button', { name: 'Bad answer' }).getAttribute('aria-pressed'), 'false');
    await a.screenshot({ path: `${shots}many-A.png` });
    await b.screenshot({ path: `${shots}many-B.png` });
    lap('vote reaches A');

    // ---- B's page, filled by live events only, passes axe ---------------------------------
    const violations = await audit(b, 'B after live updates');
    assert.equal(violations.length, 0, violations.join('\n'));
    lap('audit');

    assert.equal(new URL(b.url()).origin, new URL(urlB).origin, 'B stayed on process B');
    assert.deepEqual(problemsA, [], 'context A: no page errors, console errors or CSP violations');
    assert.deepEqual(problemsB, [], 'context B: no page errors, console errors or CSP violations');
  } catch (e) {
    const step = timings.length + 1;
    for (const [label, page] of Object.entries(pages)) {
      const file = `many-FAIL-step-${step}-${label}.png`;
      await page.screenshot({ path: `${shots}${file}` }).catch(() => undefined);
      t.diagnostic(`failure screenshot: ${file}`);
      t.diagnostic(`${label}'s traffic before the failure (ms since its page opened):`);
      for (const line of traffic[label]?.lines().slice(-40) ?? []) t.diagnostic(`  ${label} ${line}`);
    }
    throw e;
  } finally {
    t.diagnostic(`timings: ${timings.join(', ')}; total ${Date.now() - started} ms`);
    await upstream.behave({}).catch(() => undefined);
    await browser.close();
  }
});

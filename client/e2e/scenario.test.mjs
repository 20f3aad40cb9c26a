// The whole user scenario in real Chromium against the real server, MongoDB-protocol server and
// fake upstream (CONFAB_E2E_URL, CONFAB_E2E_UPSTREAM): register → stream → stop → regenerate with
// other parameters → switch versions → vote → a second browser context of the same user follows
// votes, renames, new answers and the deletion live → search. Screenshots: client/screenshots/
// scenario-*.png (scenario-FAIL-*.png for a failed check).
//
// Checks whose failure does not stop the rest of the scenario (the live updates in the second
// context, the regenerate options) are "soft": they are recorded with a screenshot, the
// scenario goes on, and the test fails at the end with all of them listed.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeUpstream, launch, recordTraffic, registerUser, shots, signIn, until, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstreamUrl = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)

/** How long another context may take to show a change live. */
const LIVE_MS = 5_000;

test('the full scenario: stream, stop, regenerate, versions, votes, two contexts live, delete, search', {
  skip: !(url && upstreamUrl) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set',
  timeout: 90_000,
}, async (t) => {
  const upstream = fakeUpstream(upstreamUrl);
  // Failure screenshots of an earlier run would mislead.
  mkdirSync(shots, { recursive: true });
  for (const f of readdirSync(shots, { withFileTypes: true })) {
    if (f.isFile() && f.name.startsWith('scenario-FAIL-')) rmSync(`${shots}${f.name}`);
  }
  const started = Date.now();
  const timings = [];
  let mark = started;
  const lap = (name) => {
    const now = Date.now();
    timings.push(`${name}: ${now - mark} ms`);
    mark = now;
  };
  const soft = [];
  const shot = (page, name) => page.screenshot({ path: `${shots}scenario-${name}.png` });
  /** Runs a check that must not end the scenario; a failure is recorded with screenshots. */
  async function check(name, pages, fn) {
    try {
      await fn();
    } catch (e) {
      const files = [];
      for (const [label, page] of Object.entries(pages)) {
        const file = `scenario-FAIL-${name.replace(/[^a-z0-9]+/gi, '-')}-${label}.png`;
        await page.screenshot({ path: `${shots}${file}` }).catch(() => undefined);
        files.push(file);
      }
      soft.push(`${name}: ${e.message.split('\n')[0]} [${files.join(', ')}]`);
      for (const label of Object.keys(pages)) dumpTraffic(label, `before “${name}” failed`);
    }
  }

  /** Prints the last exchanges of context `label` with the server. */
  function dumpTraffic(label, when) {
    t.diagnostic(`${label}'s traffic ${when} (ms since its page opened):`);
    for (const line of traffic[label]?.lines().slice(-40) ?? []) t.diagnostic(`  ${label} ${line}`);
  }

  /** Clicks a chat row's Rename/Delete button the way a mouse user does: hover the row first. */
  async function rowAction(nav, title, action) {
    const chat = nav.page().getByRole('button', { name: title, exact: true }); // relative to the row
    await nav.getByRole('listitem').filter({ has: chat }).hover();
    await nav.getByRole('button', { name: `${action} “${title}”` }).click();
  }

  const browser = await launch();
  /** The open pages, for screenshots when a step fails. */
  const pages = {};
  /** What each context exchanged with the server (printed when a live check fails). */
  const traffic = {};
  try {
    // ---- context A: register ---------------------------------------------------------------
    // A long, slow answer: 300 tokens at 40 ms each (12 s) — long enough to watch it grow and stop it.
    await upstream.behave({ chunk_delay_ms: 40, reply_tokens: 300 });
    const contextA = await browser.newContext();
    const a = await contextA.newPage();
    pages.A = a;
    traffic.A = recordTraffic(a);
    const problemsA = watchProblems(a);
    const { composer, username, password } = await registerUser(a, url, 'scenario', { screenshot: 'scenario-01-register.png' });
    const navA = a.getByRole('navigation', { name: 'Chats' });
    const answersA = a.getByRole('article', { name: 'Assistant' });
    const textOf = (article) => article.locator('.markdown').innerText();
    lap('register');

    // ---- new chat, streamed answer ---------------------------------------------------------
    await navA.getByRole('button', { name: 'New chat' }).click();
    const question = 'Tell me a long story about otters';
    await composer.fill(question);
    await composer.press('Enter');
    await a.waitForURL(/\/c\/[^/]+$/, { timeout: 10_000 });
    const chatId = decodeURIComponent(new URL(a.url()).pathname.split('/').pop());
    const answer = answersA.last();
    // The text streams in: while the answer is still generating, it shows at least 2 distinct
    // non-empty lengths.
    const lengths = new Set();
    const growUntil = Date.now() + 10_000;
    while (lengths.size < 3) {
      const text = await textOf(answer);
      // Still generating after that read: the text was a partial one.
      assert.equal(await answer.getAttribute('aria-busy'), 'true', `the answer finished before it was seen growing (lengths ${[...lengths]})`);
      if (text.startsWith('Demo reply to:')) lengths.add(text.length);
      assert.ok(Date.now() < growUntil, `the answer did not grow within 10 s (lengths ${[...lengths]})`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await shot(a, '02-streaming');
    lap('stream');

    // ---- stop: the text freezes, also after a reload ---------------------------------------
    await a.getByRole('button', { name: 'Stop', exact: true }).click();
    await answer.getByText('Stopped.', { exact: true }).waitFor({ timeout: 10_000 });
    const frozen = await textOf(answer);
    // (It may stop inside the reply's first words: "Demo reply to: <question>." then filler.)
    assert.ok(frozen.startsWith('Demo reply to:'), `stopped text: ${frozen}`);
    assert.ok(frozen.split(/\s+/).length < 300, 'stopped before the end of the reply');
    await a.waitForTimeout(1_000);
    assert.equal(await textOf(answer), frozen, 'the stopped text does not grow in the next second');
    assert.equal(await answer.getAttribute('aria-busy'), 'false');
    await a.reload();
    await answersA.last().getByText('Stopped.', { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal(await textOf(answersA.last()), frozen, 'the stopped text after a reload');
    await shot(a, '03-stopped');
    lap('stop');

    // ---- regenerate with other parameters (the options popover) ----------------------------
    await upstream.behave({});
    const wanted = { temperature: 1.3, top_p: 0.8, top_k: 20, max_tokens: 12, seed: 99 };
    await answersA.last().getByRole('button', { name: 'Regenerate with options' }).click();
    const popover = a.getByRole('form', { name: 'Regenerate with options' });
    await popover.waitFor();
    // Every field of the popover is really visible (not clipped by the transcript or covered).
    await check('the regenerate popover is fully visible', { A: a }, async () => {
      const hidden = await popover.evaluate((form) =>
        [...form.querySelectorAll('input, button')]
          .filter((el) => {
            const r = el.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return !(hit && (hit === el || el.contains(hit)));
          })
          .map((el) => el.closest('label')?.textContent?.trim() || el.textContent?.trim() || el.tagName),
      );
      assert.deepEqual(hidden, [], `clipped or covered controls of the popover: ${hidden.join(', ')}`);
    });
    const fields = { temperature: 'Temperature', top_p: /^top p/i, top_k: /^top k/i, max_tokens: /^max(imum)? tokens/i, seed: 'Seed' };
    const offered = {};
    for (const [name, label] of Object.entries(fields)) {
      const input = popover.getByLabel(label);
      if ((await input.count()) === 1) {
        await input.fill(String(wanted[name]));
        offered[name] = wanted[name];
      }
    }
    const missing = Object.keys(wanted).filter((name) => !(name in offered));
    if (missing.length) {
      soft.push(`regenerate popover: no field for ${missing.join(', ')} (only ${Object.keys(offered).join(', ')}) [scenario-04-regenerate-popover.png]`);
    }
    await shot(a, '04-regenerate-popover');
    await popover.getByRole('button', { name: 'Regenerate', exact: true }).click();
    const versions = answersA.last().getByRole('group', { name: 'Versions' });
    await versions.getByText('2/2', { exact: true }).waitFor({ timeout: 15_000 });
    await until(async () => (await answersA.last().getAttribute('aria-busy')) === 'false', { timeout: 15_000, message: 'the regenerated answer to finish' });
    const sent = await upstream.lastRequest();
    for (const [name, value] of Object.entries(offered)) {
      assert.equal(sent[name], value, `the upstream received ${name}=${value} (got ${JSON.stringify(sent[name])})`);
    }
    const regenerated = await textOf(answersA.last());
    assert.ok(regenerated.startsWith(`Demo reply to: ${question}.`), `regenerated text: ${regenerated}`);
    assert.notEqual(regenerated, frozen);
    if ('max_tokens' in offered) assert.equal(regenerated.split(/\s+/).length, 12, 'max tokens cut the answer');
    lap('regenerate');

    // ---- versions: ‹ 1/2 › switches the text; the choice survives a reload -----------------
    const savedBranch = () =>
      a.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(`/api/chats/${encodeURIComponent(chatId)}`), { timeout: 5_000 });
    let saved = savedBranch();
    await versions.getByRole('button', { name: 'Previous version' }).click();
    await versions.getByText('1/2', { exact: true }).waitFor({ timeout: 5_000 });
    assert.equal(await textOf(answersA.last()), frozen, 'version 1 is the stopped answer');
    assert.ok(await answersA.last().getByText('Stopped.', { exact: true }).isVisible());
    assert.ok((await saved).ok(), 'the chosen version is saved');
    await shot(a, '05-branches');
    await a.reload();
    await answersA.last().getByRole('group', { name: 'Versions' }).getByText('1/2', { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal(await textOf(answersA.last()), frozen, 'version 1 still shown after a reload');
    saved = savedBranch();
    await versions.getByRole('button', { name: 'Next version' }).click();
    await versions.getByText('2/2', { exact: true }).waitFor({ timeout: 5_000 });
    assert.equal(await textOf(answersA.last()), regenerated, 'version 2 is the regenerated answer');
    assert.ok((await saved).ok(), 'the chosen version is saved');
    lap('versions');

    // ---- votes: up, then down with a reason ------------------------------------------------
    const votesA = answersA.last().getByRole('group', { name: 'Rate this answer' });
    await votesA.getByRole('button', { name: 'Good answer' }).click();
    await votesA.getByRole('button', { name: 'Good answer', pressed: true }).waitFor({ timeout: 5_000 });
    await votesA.getByRole('button', { name: 'Bad answer' }).click();
    await votesA.getByRole('button', { name: 'Bad answer', pressed: true }).waitFor({ timeout: 5_000 });
    assert.equal(await votesA.getByRole('button', { name: 'Good answer' }).getAttribute('aria-pressed'), 'false');
    const reason = answersA.last().getByLabel('What was wrong? (optional)');
    await reason.fill('Too short, and it ignores the otters');
    await shot(a, '06-vote-reason');
    const voted = a.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/vote'), { timeout: 5_000 });
    await answersA.last().getByRole('button', { name: 'Send', exact: true }).click();
    const voteResponse = await voted;
    assert.ok(voteResponse.ok(), `vote with reason: ${voteResponse.status()}`);
    assert.deepEqual(JSON.parse(voteResponse.request().postData() ?? '{}'), { vote: 'down', reason: 'Too short, and it ignores the otters' });
    await reason.waitFor({ state: 'detached', timeout: 5_000 });
    lap('votes');

    // ---- context B: same user signs in through the form, deep link to the chat -------------
    const contextB = await browser.newContext();
    const b = await contextB.newPage();
    pages.B = b;
    traffic.B = recordTraffic(b);
    const problemsB = watchProblems(b);
    await b.goto(`${url}/c/${encodeURIComponent(chatId)}`);
    await signIn(b, url, username, password, { goto: false, screenshot: 'scenario-07-sign-in.png' });
    assert.equal(new URL(b.url()).pathname, `/c/${encodeURIComponent(chatId)}`, 'the deep link survives the sign-in');
    const answersB = b.getByRole('article', { name: 'Assistant' });
    const navB = b.getByRole('navigation', { name: 'Chats' });
    await answersB.last().getByRole('group', { name: 'Versions' }).getByText('2/2', { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal(await textOf(answersB.last()), regenerated, 'B shows the version A chose');
    const votesB = answersB.last().getByRole('group', { name: 'Rate this answer' });
    await votesB.getByRole('button', { name: 'Bad answer', pressed: true }).waitFor({ timeout: 5_000 });
    lap('context B signs in');

    // A changes the vote (down → up): B shows it live.
    await votesA.getByRole('button', { name: 'Good answer' }).click();
    await votesA.getByRole('button', { name: 'Good answer', pressed: true }).waitFor({ timeout: 5_000 });
    await check('B sees the changed vote live', { A: a, B: b }, async () => {
      await votesB.getByRole('button', { name: 'Good answer', pressed: true }).waitFor({ timeout: LIVE_MS });
      assert.equal(await votesB.getByRole('button', { name: 'Bad answer' }).getAttribute('aria-pressed'), 'false');
    });

    // A renames the chat in the sidebar: B's header and sidebar show the new title live.
    await rowAction(navA, question, 'Rename');
    const renameInput = navA.getByLabel('Rename chat');
    await renameInput.fill('Otter saga');
    await renameInput.press('Enter');
    await navA.getByRole('button', { name: 'Otter saga', exact: true }).waitFor({ timeout: 5_000 });
    await check('B sees the new title live', { A: a, B: b }, async () => {
      await b.getByRole('heading', { level: 1, name: 'Otter saga' }).waitFor({ timeout: LIVE_MS });
      await navB.getByRole('button', { name: 'Otter saga', exact: true }).waitFor({ timeout: LIVE_MS });
    });
    await shot(a, '08-two-contexts-A');
    await shot(b, '08-two-contexts-B');
    lap('live vote and rename');

    // A sends a new message: B sees the answer appear live.
    await upstream.behave({ chunk_delay_ms: 20 });
    const followUp = 'And what did the otters do next';
    await composer.fill(followUp);
    await composer.press('Enter');
    const followAnswerA = answersA.filter({ hasText: `Demo reply to: ${followUp}.` });
    await followAnswerA.waitFor({ timeout: 10_000 });
    await until(async () => (await followAnswerA.getAttribute('aria-busy')) === 'false', { timeout: 10_000, message: 'A’s new answer to finish' });
    const followText = await textOf(followAnswerA);
    await check('B sees the new answer live', { A: a, B: b }, async () => {
      await b.getByRole('article', { name: 'You' }).filter({ hasText: followUp }).waitFor({ timeout: LIVE_MS });
      const followAnswerB = answersB.filter({ hasText: `Demo reply to: ${followUp}.` });
      await followAnswerB.waitFor({ timeout: LIVE_MS });
      await until(async () => (await textOf(followAnswerB)) === followText, { timeout: LIVE_MS, message: 'B to show the whole answer' });
    });
    await shot(b, '09-live-answer-B');
    lap('live answer');

    // ---- A deletes the chat (confirm dialog): B says so and leaves -------------------------
    await rowAction(navA, 'Otter saga', 'Delete');
    const dialog = a.getByRole('dialog', { name: 'Delete chat?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 5_000 });
    await navA.getByRole('button', { name: 'Otter saga', exact: true }).waitFor({ state: 'detached', timeout: 5_000 });
    assert.equal(new URL(a.url()).pathname, '/');
    await b.getByText('This chat was deleted in another tab.').waitFor({ timeout: LIVE_MS });
    await until(() => new URL(b.url()).pathname === '/', { timeout: LIVE_MS, message: 'B to leave the deleted chat' });
    assert.equal(await answersB.count(), 0, 'B shows no messages of the deleted chat');
    await navB.getByRole('button', { name: 'Otter saga', exact: true }).waitFor({ state: 'detached', timeout: LIVE_MS });
    await shot(b, '10-deleted-B');
    lap('delete');

    // ---- search finds another chat by a word of its message text, not the deleted one ------
    await upstream.behave({});
    await navA.getByRole('button', { name: 'New chat' }).click();
    await composer.fill('Quick note\nDo otters hold hands while they sleep?');
    await composer.press('Enter');
    await answersA.last().getByText(/Demo reply to: Quick note/).waitFor({ timeout: 10_000 });
    await navA.getByRole('button', { name: 'Quick note', exact: true }).waitFor({ timeout: 5_000 });
    const searched = a.waitForResponse((r) => r.request().method() === 'GET' && /\/api\/chats\?(.*&)?q=otters/.test(r.url()), { timeout: 5_000 });
    await navA.getByRole('searchbox', { name: 'Search chats' }).fill('otters');
    assert.ok((await searched).ok());
    // The chats listed (their titles; not the rows' Rename/Delete/More actions buttons).
    const listed = async () =>
      (await navA.getByRole('list').getByRole('button', { name: /^(?!Rename “|Delete “|More actions for “)/ }).allInnerTexts()).map((s) => s.trim());
    await until(async () => JSON.stringify(await listed()) === JSON.stringify(['Quick note']), {
      timeout: 5_000,
      message: 'the search to list only “Quick note” (its message says “otters”; the deleted chat’s did too)',
    }).catch(async (e) => assert.fail(`${e.message}; listed: ${JSON.stringify(await listed())}`));
    await shot(a, '11-search');
    lap('search');

    assert.deepEqual(problemsA, [], 'context A: no page errors, console errors or CSP violations');
    assert.deepEqual(problemsB, [], 'context B: no page errors, console errors or CSP violations');
  } catch (e) {
    // The step after the last lap failed: keep what each context showed.
    const step = timings.length;
    for (const [label, page] of Object.entries(pages)) {
      const file = `scenario-FAIL-step-${step + 1}-${label}.png`;
      await page.screenshot({ path: `${shots}${file}` }).catch(() => undefined);
      t.diagnostic(`failure screenshot: ${file}`);
      dumpTraffic(label, 'before the failure');
    }
    throw e;
  } finally {
    t.diagnostic(`timings: ${timings.join(', ')}; total ${Date.now() - started} ms`);
    for (const failure of soft) t.diagnostic(`soft failure: ${failure}`);
    await upstream.behave({}).catch(() => undefined);
    await browser.close();
  }
  assert.deepEqual(soft, [], 'soft checks');
});

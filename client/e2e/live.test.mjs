// End-to-end in real Chromium: a second tab that opens a chat while its answer streams sees the
// text so far, then follows it live to the end (never frozen, never repeated) over the answer's
// reattach stream; it can stop an answer another tab started; and a lost connection catches up
// after reconnecting. The tab that asked goes on in place after losing the network mid-answer,
// and after a reload mid-answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeUpstream, idle, launch, registerUser, shots, signIn, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM;
const { behave } = fakeUpstream(upstream ?? '');



const answerText = (page) => page.locator('article.message.assistant').last().locator('.markdown').innerText();

test('a second tab follows an answer that is streaming, and can stop it', { skip: !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set' }, async () => {
  const browser = await launch();
  const a = await browser.newContext();
  const b = await browser.newContext();
  try {
    await behave({});
    const pageA = await a.newPage();
    const problemsA = watchProblems(pageA);
    const { composer, username, password } = await registerUser(pageA, url, 'e2e_live');
    await composer.fill('Warm up');
    await composer.press('Enter');
    await pageA.getByText(/Demo reply to: Warm up/).waitFor({ timeout: 15_000 });
    await pageA.waitForURL(/\/c\/[0-9a-f]+$/);
    // The warm-up answer has ended (until then Enter does not send).
    await idle(pageA);
    const chatUrl = pageA.url();

    // A long, slow answer (about 200 tokens, 50 ms apart).
    await behave({ chunk_delay_ms: 50, reply_tokens: 200 });
    await composer.fill('Tell me everything');
    await composer.press('Enter');
    await pageA.getByText(/Demo reply to: Tell me everything/).waitFor({ timeout: 15_000 });

    // B opens the chat mid-stream by its deep link.
    const pageB = await b.newPage();
    const problemsB = watchProblems(pageB);
    await pageB.goto(chatUrl);
    await signIn(pageB, url, username, password, { goto: false });
    await pageB.getByText(/Demo reply to: Tell me everything/).waitFor({ timeout: 15_000 });
    const first = await answerText(pageB);
    // The text keeps growing in B (it is not a frozen snapshot).
    await pageB.waitForFunction(
      (n) => {
        const all = document.querySelectorAll('article.message.assistant .markdown');
        return (all[all.length - 1]?.textContent?.length ?? 0) > n + 20;
      },
      first.length,
      { timeout: 10_000 },
    );
    await pageB.screenshot({ path: `${shots}live-second-tab.png` });

    // B stops the answer A started: both show it stopped with the same text.
    await pageB.getByRole('button', { name: 'Stop' }).click();
    await pageB.locator('article.message.assistant').last().getByText('Stopped.').waitFor({ timeout: 10_000 });
    await pageA.locator('article.message.assistant').last().getByText('Stopped.').waitFor({ timeout: 10_000 });
    await pageA.waitForTimeout(300);
    const [textA, textB] = [await answerText(pageA), await answerText(pageB)];
    assert.equal(textB, textA, 'both tabs show the same stopped text');
    assert.ok(textA.startsWith('Demo reply to: Tell me everything'), textA);
    // Nothing was shown twice: the reply's opening appears once.
    assert.equal(textB.split('Demo reply to').length, 2, 'no repeated text');

    // A full answer streamed by A arrives in B with exactly the same text.
    await behave({ chunk_delay_ms: 10, reply_tokens: 60 });
    await composer.fill('One more');
    await composer.press('Enter');
    await pageA.waitForFunction(() => !document.querySelector('article.message.assistant[aria-busy="true"]'));
    await pageA.getByText(/Demo reply to: One more/).waitFor({ timeout: 15_000 });
    await pageB.getByText(/Demo reply to: One more/).waitFor({ timeout: 10_000 });
    await pageB.waitForFunction(() => !document.querySelector('article.message.assistant[aria-busy="true"]'), null, {
      timeout: 10_000,
    });
    assert.equal(await answerText(pageB), await answerText(pageA));

    // B loses its connection while A sends; after reconnecting B catches up.
    await b.setOffline(true);
    await pageB.getByText(/reconnecting/i).waitFor({ timeout: 10_000 });
    await behave({});
    await composer.fill('While you were away');
    await composer.press('Enter');
    await pageA.getByText(/Demo reply to: While you were away/).waitFor({ timeout: 15_000 });
    assert.equal(await pageB.getByText(/Demo reply to: While you were away/).count(), 0, 'B is really offline');
    await b.setOffline(false);
    await pageB.getByText(/Demo reply to: While you were away/).waitFor({ timeout: 20_000 });

    assert.deepEqual(problemsA, [], 'no page errors in A');
    assert.deepEqual(
      problemsB.filter((p) => !/ERR_INTERNET_DISCONNECTED|WebSocket|Failed to load resource/.test(p)),
      [],
      'no page errors in B (besides the planned disconnection)',
    );
  } finally {
    await behave({});
    await browser.close();
  }
});

test('an answer goes on in place after the network drops mid-answer, and after a reload mid-answer', { skip: !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set' }, async () => {
  const browser = await launch();
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const problems = watchProblems(page);
    const { composer } = await registerUser(page, url, 'e2e_resume');
    const last = () => page.locator('article.message.assistant').last();
    const done = () => page.waitForFunction(() => !document.querySelector('article.message.assistant[aria-busy="true"]'), null, { timeout: 30_000 });
    const grows = (n) =>
      page.waitForFunction(
        (min) => {
          const all = document.querySelectorAll('article.message.assistant .markdown');
          return (all[all.length - 1]?.textContent?.length ?? 0) > min;
        },
        n,
        { timeout: 15_000 },
      );

    // The network drops while this tab's own answer streams (about 150 tokens, 50 ms apart).
    await behave({ chunk_delay_ms: 50, reply_tokens: 150 });
    await composer.fill('Keep going');
    await composer.press('Enter');
    await last().getByText(/Demo reply to: Keep going/).waitFor({ timeout: 15_000 });
    await grows(60);
    await context.setOffline(true);
    await page.waitForTimeout(1_000);
    const before = (await answerText(page)).length;
    await context.setOffline(false);
    await grows(before + 20); // it goes on, in place
    await done();
    const shown = await answerText(page);
    assert.equal(shown.split('Demo reply to').length, 2, 'no repeated text');
    assert.equal(await page.locator('.chat-error').count(), 0, 'no error shown');
    await page.reload();
    await page.getByText(/Demo reply to: Keep going/).waitFor({ timeout: 15_000 });
    assert.equal(await answerText(page), shown, 'the stored answer is the one shown');

    // A reload mid-answer: the answer goes on from where the reloaded page's text ends.
    await composer.fill('Once more');
    await composer.press('Enter');
    await last().getByText(/Demo reply to: Once more/).waitFor({ timeout: 15_000 });
    await grows(60);
    await page.reload();
    await page.getByText(/Demo reply to: Once more/).waitFor({ timeout: 15_000 });
    await grows((await answerText(page)).length + 20);
    await done();
    const followed = await answerText(page);
    assert.equal(followed.split('Demo reply to').length, 2, 'no repeated text after the reload');
    await page.reload();
    await page.getByText(/Demo reply to: Once more/).waitFor({ timeout: 15_000 });
    assert.equal(await answerText(page), followed, 'the stored answer is the one followed');

    assert.deepEqual(
      problems.filter((p) => !/ERR_INTERNET_DISCONNECTED|WebSocket|Failed to load resource/.test(p)),
      [],
      'no page errors (besides the planned disconnection)',
    );
  } finally {
    await behave({});
    await browser.close();
  }
});

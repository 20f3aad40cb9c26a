// End-to-end in real Chromium: continue an answer in place. An answer cut at max tokens (finish
// reason `length`) offers "Continue"; continuing it grows the same answer (no new version) with
// the upstream asked to go on from its text (vLLM's continue_final_message); the stats say so. A
// stopped answer offers it too, a continuation can itself be stopped, and a second tab sees the
// same answer grow in place (over the socket and its reattach stream). The text survives a
// reload; axe finds nothing on an answer with the button.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audit, fakeUpstream, launch, registerUser, shots, signIn, until, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)

const { behave, lastRequest, requests } = upstream ? fakeUpstream(upstream) : {};

/** Waits until no answer is streaming. */
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('article.message.assistant[aria-busy="true"]'), null, { timeout: 20_000 });
}

/** Sets Max tokens in the chat's parameters panel ('' resets it), waits for "Saved", closes it. */
async function maxTokens(page, value) {
  await page.getByRole('button', { name: 'Parameters' }).click();
  const panel = page.locator('#params-panel');
  await panel.getByLabel('Max tokens', { exact: true }).fill(value);
  await panel.getByText('Saved', { exact: true }).waitFor({ timeout: 5_000 });
  await page.getByRole('button', { name: 'Close parameters' }).click();
}

test('continue an answer cut at max tokens, and a stopped one', { skip: !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set' }, async () => {
  const browser = await launch();
  try {
    await behave({});
    const page = await (await browser.newContext()).newPage();
    const problems = watchProblems(page);
    const { composer, username, password } = await registerUser(page, url, 'e2e_cont');
    const answers = page.locator('article.message.assistant');
    const last = () => answers.last();
    const text = async () => (await last().locator('.markdown').innerText()).trim();

    // A first exchange creates the chat (its parameters panel needs one).
    await composer.fill('Hello there');
    await composer.press('Enter');
    await last().getByText(/Demo reply to: Hello there/).waitFor({ timeout: 15_000 });
    await settled(page);
    // Complete (finish reason stop): nothing to continue.
    assert.equal(await last().getByRole('button', { name: 'Continue' }).count(), 0, 'a complete answer offers no Continue');

    // Max tokens 3: the next answer is cut (finish reason length) and offers "Continue".
    await maxTokens(page, '3');
    await composer.fill('Count to ten please');
    await composer.press('Enter');
    const cont = last().getByRole('button', { name: 'Continue', exact: true });
    await cont.waitFor({ timeout: 15_000 });
    await settled(page);
    const cut = await text();
    assert.equal(cut, 'Demo reply to:');
    const count = await answers.count();
    const before = (await requests()).length;

    // Continue with the keyboard: the same answer grows (no new version, no new article).
    await cont.focus();
    await page.keyboard.press('Enter');
    await until(async () => (await text()).length > cut.length, { timeout: 15_000, message: 'the continued text' });
    await settled(page);
    const grown = await text();
    assert.ok(grown.startsWith(cut), `the text goes on from the earlier text: ${JSON.stringify(grown)}`);
    assert.equal(await answers.count(), count, 'still one answer: continued in place');
    assert.equal(await page.getByText(/^\d+\/\d+$/).count(), 0, 'no second version');
    await until(async () => (await requests()).length > before, { message: 'the continue request' });
    const sent = await lastRequest();
    assert.equal(sent.continue_final_message, true);
    assert.equal(sent.add_generation_prompt, false);
    assert.deepEqual(sent.messages.at(-1), { role: 'assistant', content: cut });
    // The stats say it was continued, and the details list the continuation.
    const stats = last().locator('details.stats');
    await stats.locator('summary').getByText('continued 1×').waitFor({ timeout: 5_000 });
    await stats.locator('summary').click();
    assert.match(await stats.locator('ol.runs').innerText(), /3 tokens .*finish: length/);
    // Cut again at 3 tokens: Continue is still offered. axe on it, light and dark.
    await cont.waitFor({ timeout: 5_000 });
    await page.screenshot({ path: `${shots}continued.png` });
    const found = [];
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      found.push(...(await audit(page, `${scheme} answer with Continue`)));
    }
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(found, [], `axe violations:\n${found.join('\n')}`);

    // A stopped answer offers Continue too; the continuation streams, and Stop stops it.
    await maxTokens(page, '');
    await behave({ chunk_delay_ms: 40, reply_tokens: 300 });
    await composer.fill('Tell me a long story');
    await composer.press('Enter');
    await last().getByText(/Demo reply to: Tell me a long story/).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await last().getByText('Stopped.').waitFor({ timeout: 10_000 });
    await settled(page);
    const stopped = await text();
    const stoppedCount = await answers.count();

    // A second tab (another browser context) shows the chat, stopped.
    const other = await (await browser.newContext()).newPage();
    const otherProblems = watchProblems(other);
    await other.goto(page.url());
    await signIn(other, url, username, password, { goto: false });
    const otherLast = () => other.locator('article.message.assistant').last();
    const otherText = async () => (await otherLast().locator('.markdown').innerText()).trim();
    await otherLast().getByText('Stopped.').waitFor({ timeout: 10_000 });
    assert.equal(await otherText(), stopped);

    await last().getByRole('button', { name: 'Continue', exact: true }).click();
    await until(async () => (await text()).length > stopped.length + 20, { timeout: 15_000, message: 'the continuation streaming' });
    assert.equal(await last().getAttribute('aria-busy'), 'true', 'the answer streams again');
    // The other tab sees the same answer stream again and grow, in place.
    await until(async () => (await otherText()).length > stopped.length + 20, { timeout: 15_000, message: 'the continuation in the other tab' });
    assert.equal(await other.locator('article.message.assistant').count(), stoppedCount, 'one answer in the other tab too');
    assert.ok((await otherText()).startsWith(stopped), 'no text twice in the other tab');
    await page.getByRole('button', { name: 'Stop' }).click();
    await last().getByText('Stopped.').waitFor({ timeout: 10_000 });
    await settled(page);
    const continued = await text();
    await otherLast().getByText('Stopped.').waitFor({ timeout: 10_000 });
    await until(async () => (await otherText()) === continued, { timeout: 10_000, message: 'the other tab showing the stopped text' });
    assert.deepEqual(otherProblems, [], 'no problems in the other tab');
    assert.ok(continued.startsWith(stopped), 'the continuation went on from the stopped text');
    assert.ok(continued.length > stopped.length);
    assert.equal(await answers.count(), stoppedCount, 'still one answer');
    const again = await lastRequest();
    assert.equal(again.continue_final_message, true);
    assert.equal(again.messages.at(-1).role, 'assistant');
    assert.ok(continued.startsWith(again.messages.at(-1).content.trim().slice(0, 20)));
    await last().locator('details.stats summary').getByText('continued 1×').waitFor({ timeout: 5_000 });
    await last().getByRole('button', { name: 'Continue', exact: true }).waitFor({ timeout: 5_000 });

    // Reload: the continued text is what was stored.
    await page.reload();
    await last().getByText('Stopped.').waitFor({ timeout: 10_000 });
    assert.equal(await text(), continued, 'the continued text survives a reload');
    await last().locator('details.stats summary').getByText('continued 1×').waitFor({ timeout: 5_000 });

    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } finally {
    await behave({});
    await browser.close();
  }
});

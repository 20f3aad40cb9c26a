// End-to-end in real Chromium: regenerate with other parameters (the fake upstream must receive
// them), switch versions, vote, and stop a long answer (its text stays after a reload).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeUpstream, launch, register, shots, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)

const { behave, lastRequest } = upstream ? fakeUpstream(upstream) : {};

test('regenerate with new parameters, switch versions, vote, stop', { skip: !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set' }, async () => {
  const browser = await launch();
  try {
    await behave({});
    const page = await browser.newPage();
    const problems = watchProblems(page);
    const composer = await register(page, url, 'e2e_chat');
    await composer.fill('First question');
    await composer.press('Enter');
    const answers = page.locator('article.message.assistant');
    await answers.last().getByText(/Demo reply to: First question/).waitFor({ timeout: 15_000 });

    // Regenerate with temperature 1.3 and seed 99: the upstream receives them, a 2/2 appears.
    await answers.last().getByRole('button', { name: 'Regenerate with options' }).click();
    await page.getByLabel('Temperature').fill('1.3');
    await page.getByLabel('Seed').fill('99');
    await page.getByRole('button', { name: 'Regenerate', exact: true }).last().click();
    await page.getByText('2/2').first().waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Previous version' }).first().waitFor();
    await page.waitForFunction(() => !document.querySelector('article.message.assistant[aria-busy="true"]'));
    const sent = await lastRequest();
    assert.equal(sent.temperature, 1.3);
    assert.equal(sent.seed, 99);
    await page.screenshot({ path: `${shots}regenerated.png` });

    // Back to the first version.
    await page.getByRole('button', { name: 'Previous version' }).first().click();
    await page.getByText('1/2').first().waitFor({ timeout: 5_000 });

    // Vote up: the button shows it.
    const up = answers.last().getByRole('button', { name: 'Good answer' });
    await up.click();
    await page.waitForFunction(
      () => [...document.querySelectorAll('article.message.assistant button[aria-label="Good answer"]')].some((b) => b.getAttribute('aria-pressed') === 'true'),
      null,
      { timeout: 5_000 },
    );

    // Min P, set in the chat's parameters panel, reaches the upstream (vLLM reads it).
    await page.getByRole('button', { name: 'Parameters' }).click();
    await page.getByLabel('Min P value', { exact: true }).fill('0.1');
    await page.locator('#params-panel').getByText('Saved', { exact: true }).waitFor({ timeout: 5_000 });
    await page.getByRole('button', { name: 'Close parameters' }).click();
    await composer.fill('With min p');
    await composer.press('Enter');
    await answers.last().getByText(/Demo reply to: With min p/).waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => !document.querySelector('article.message.assistant[aria-busy="true"]'));
    assert.equal((await lastRequest()).min_p, 0.1, 'the upstream received min_p');

    // Stop a long answer: the text freezes and survives a reload.
    await behave({ chunk_delay_ms: 40, reply_tokens: 400 });
    await composer.fill('Tell me a long story');
    await composer.press('Enter');
    await answers.last().getByText(/Demo reply to: Tell me a long story/).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await answers.last().getByText('Stopped.').waitFor({ timeout: 10_000 });
    const frozen = await answers.last().locator('.markdown').innerText();
    await page.waitForTimeout(500);
    assert.equal(await answers.last().locator('.markdown').innerText(), frozen, 'stopped text does not grow');
    await page.screenshot({ path: `${shots}stopped.png` });
    await page.reload();
    await page.getByText('Stopped.').first().waitFor({ timeout: 10_000 });
    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } finally {
    await behave({});
    await browser.close();
  }
});

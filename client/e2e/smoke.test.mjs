// End-to-end smoke test in real Chromium against the real server, MongoDB-protocol server and
// fake upstream (scripts/test starts them and sets CONFAB_E2E_URL). Screenshots go to
// client/screenshots/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, register, shots, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;

test('register, stream an answer, reload keeps it', { skip: !url && 'CONFAB_E2E_URL not set' }, async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    const composer = await register(page, url, 'e2e', { screenshot: 'register.png' });
    await composer.fill('Hello from the browser');
    await composer.press('Enter');
    const answer = page.locator('article.message.assistant').last();
    await answer.getByText(/Demo reply to/).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: `${shots}chat.png` });
    const shown = await answer.innerText();
    assert.match(shown, /Demo reply to: Hello from the browser/);

    await page.reload();
    await page.getByText(/Demo reply to: Hello from the browser/).first().waitFor({ timeout: 10_000 });
    await page.screenshot({ path: `${shots}reloaded.png` });
    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } finally {
    await browser.close();
  }
});

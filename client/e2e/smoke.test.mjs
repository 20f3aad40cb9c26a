// End-to-end smoke test in real Chromium against the real server, MongoDB-protocol server and
// fake upstream (scripts/test starts them and sets CONFAB_E2E_URL). Screenshots go to
// client/screenshots/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.env.CONFAB_E2E_URL;
const shots = new URL('../screenshots/', import.meta.url).pathname;

test('register, stream an answer, stop, reload keeps it', { skip: !url && 'CONFAB_E2E_URL not set' }, async () => {
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // The silent session check on first load answers 401 (no refresh cookie yet): expected.
      if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    await page.goto(url);
    await page.getByRole('button', { name: 'Create one' }).click();
    const name = `e2e_${Date.now()}`;
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Email').fill(`${name}@example.org`);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.screenshot({ path: `${shots}register.png` });
    await page.getByRole('button', { name: 'Create account' }).click();

    const composer = page.getByPlaceholder(/send a message/i);
    await composer.waitFor({ timeout: 10_000 });
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

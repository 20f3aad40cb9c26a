// End-to-end in real Chromium: the transcript follows a streaming answer, lets go when the
// reader scrolls up (the view holds while text keeps arriving), and "Scroll to bottom" re-pins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeUpstream, launch, register, shots, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM;
const { behave } = fakeUpstream(upstream ?? '');


const position = (page) =>
  page.locator('.transcript').evaluate((el) => ({
    top: el.scrollTop,
    fromBottom: el.scrollHeight - el.scrollTop - el.clientHeight,
    height: el.scrollHeight,
  }));

test('autoscroll follows the stream, holds when the reader scrolls up, re-pins on request', { skip: !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set' }, async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    const problems = watchProblems(page);
    const composer = await register(page, url, 'e2e_scroll');
    await behave({ chunk_delay_ms: 25, reply_tokens: 500 });
    await composer.fill('A very long answer please');
    await composer.press('Enter');
    const answer = page.locator('article.message.assistant').last();
    await answer.getByText(/Demo reply to/).waitFor({ timeout: 15_000 });

    // Pinned: the transcript grows past the viewport and the view stays at the bottom.
    await page.waitForFunction(() => {
      const el = document.querySelector('.transcript');
      return el && el.scrollHeight > el.clientHeight + 400;
    }, null, { timeout: 20_000 });
    const pinned = await position(page);
    assert.ok(pinned.fromBottom < 60, `pinned while streaming (${pinned.fromBottom} px from the bottom)`);
    assert.equal(await page.getByRole('button', { name: 'Scroll to bottom' }).count(), 0);

    // The reader scrolls up: the view holds while the answer keeps growing.
    await page.locator('.transcript').hover();
    await page.mouse.wheel(0, -400);
    // Where the wheel's (smooth) scroll comes to rest: a busy machine may still be animating it
    // 150 ms later.
    let held = await position(page);
    for (let i = 0; i < 30; i++) {
      await page.waitForTimeout(100);
      const now = await position(page);
      if (Math.abs(now.top - held.top) < 1) break;
      held = now;
    }
    await page.waitForFunction((h) => document.querySelector('.transcript').scrollHeight > h + 100, held.height, {
      timeout: 10_000,
    });
    const later = await position(page);
    assert.ok(Math.abs(later.top - held.top) < 2, `view held (${held.top} → ${later.top})`);
    const button = page.getByRole('button', { name: 'Scroll to bottom' });
    await button.waitFor({ timeout: 5_000 });
    await page.screenshot({ path: `${shots}scrolled-up.png` });

    // "Scroll to bottom" re-pins: the view follows the stream again.
    await button.click();
    await page.waitForFunction(() => {
      const el = document.querySelector('.transcript');
      return el.scrollHeight - el.scrollTop - el.clientHeight < 60;
    }, null, { timeout: 5_000 });
    const grown = (await position(page)).height;
    await page.waitForFunction((h) => document.querySelector('.transcript').scrollHeight > h + 100, grown, {
      timeout: 10_000,
    });
    assert.ok((await position(page)).fromBottom < 60, 'pinned again');
    await page.getByRole('button', { name: 'Stop' }).click();
    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } finally {
    await behave({});
    await browser.close();
  }
});

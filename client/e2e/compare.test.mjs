// End-to-end in real Chromium: compare the versions of an answer (word diff, parameter table
// with the differing rows marked, axe, keyboard), then regenerate with a version's parameters
// (from the compare view and from the regenerate options): the upstream receives them, seed
// included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audit, fakeUpstream, idle, launch, register, shots, until, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)

const { behave, lastRequest, requests } = upstream ? fakeUpstream(upstream) : {};

/** Waits until no answer is streaming. */
/** Waits until the last answer's version navigation reads `n/of` (exactly). */
async function showing(answers, n, of, timeout = 15_000) {
  await answers.last().getByRole('group', { name: 'Versions' }).getByText(`${n}/${of}`, { exact: true }).waitFor({ timeout });
}

async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('article.message.assistant[aria-busy="true"]'), null, { timeout: 15_000 });
  await idle(page);
}

test('compare versions, regenerate with their parameters', { skip: !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set' }, async () => {
  const browser = await launch();
  let page;
  try {
    await behave({});
    page = await browser.newPage();
    const problems = watchProblems(page);
    const composer = await register(page, url, 'e2e_cmp');
    await composer.fill('Compare these answers');
    await composer.press('Enter');
    const answers = page.locator('article.message.assistant');
    await answers.last().getByText(/Demo reply to: Compare these answers/).waitFor({ timeout: 15_000 });
    await settled(page);
    // One version: nothing to compare.
    assert.equal(await page.getByRole('button', { name: 'Compare versions' }).count(), 0);

    // Regenerate with temperature 1.3 and seed 99 (the fake's filler text follows the seed).
    await answers.last().getByRole('button', { name: 'Regenerate with options' }).click();
    await page.getByLabel('Temperature').fill('1.3');
    await page.getByLabel('Seed').fill('99');
    await page.getByRole('button', { name: 'Regenerate', exact: true }).last().click();
    await showing(answers, 2, 2, 15_000);
    await settled(page);
    const seeded = await lastRequest();
    assert.equal(seeded.temperature, 1.3);
    assert.equal(seeded.seed, 99);

    // Open the comparison: versions 1 and 2, their texts, a diff.
    const open = answers.last().getByRole('button', { name: 'Compare versions' });
    await open.click();
    const view = page.getByRole('dialog', { name: 'Compare versions' });
    await view.waitFor({ timeout: 5_000 });
    assert.ok(await view.evaluate((d) => d.contains(document.activeElement)), 'the focus moved into the view');
    const columns = view.locator('section');
    assert.equal(await columns.count(), 2);
    await columns.nth(0).getByRole('heading', { name: 'Version 1' }).waitFor();
    await columns.nth(1).getByRole('heading', { name: 'Version 2 (shown)' }).waitFor();
    assert.match(await columns.nth(0).locator('.text').innerText(), /Demo reply to: Compare these answers/);
    assert.match(await columns.nth(1).locator('.text').innerText(), /Demo reply to: Compare these answers/);
    const marks = await view.locator('ins, del').count();
    assert.ok(marks > 0, 'the diff marks insertions or deletions');
    const insStyle = await view.locator('ins, del').first().evaluate((el) => getComputedStyle(el).textDecorationLine);
    assert.match(insStyle, /underline|line-through/, 'changes are told apart without colour');

    // The table: temperature and seed differ (marked in words), the model does not.
    const table = view.getByRole('table');
    const headers = await table.locator('thead th').allInnerTexts();
    assert.deepEqual(headers.slice(1), ['Version 1', 'Version 2']);
    const temperature = table.locator('tr[data-row="temperature"]');
    const seed = table.locator('tr[data-row="seed"]');
    assert.match(await temperature.innerText(), /differs/i);
    assert.match(await temperature.innerText(), /1\.3/);
    assert.match(await seed.innerText(), /differs/i);
    assert.match(await seed.innerText(), /99/);
    assert.doesNotMatch(await table.locator('tr[data-row="model"]').innerText(), /differs/i);
    await page.screenshot({ path: `${shots}compare.png` });

    // axe on the open view, light and dark.
    const found = [];
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      found.push(...(await audit(page, `${scheme} compare view`)));
    }
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(found, [], `axe violations:\n${found.join('\n')}`);

    // Escape closes it and the focus returns to the button.
    await page.keyboard.press('Escape');
    await view.waitFor({ state: 'detached', timeout: 5_000 });
    assert.ok(await open.evaluate((b) => b === document.activeElement), 'the focus returned to "Compare versions"');

    // Keyboard: open with Enter, close with Escape.
    await page.keyboard.press('Enter');
    await view.waitFor({ timeout: 5_000 });
    await page.keyboard.press('Tab');
    assert.ok(await view.evaluate((d) => d.contains(document.activeElement)), 'Tab stays in the view');
    await page.keyboard.press('Escape');
    await view.waitFor({ state: 'detached', timeout: 5_000 });
    assert.ok(await open.evaluate((b) => b === document.activeElement), 'the focus returned again');

    // Switch to version 1, compare, regenerate with version 2's parameters: a 3/3 with them.
    await page.getByRole('button', { name: 'Previous version' }).first().click();
    await showing(answers, 1, 2, 5_000);
    await answers.last().getByRole('button', { name: 'Compare versions' }).click();
    await view.waitFor({ timeout: 5_000 });
    await columns.nth(0).getByRole('heading', { name: 'Version 1 (shown)' }).waitFor();
    const before = (await requests()).length;
    await columns.nth(1).getByRole('button', { name: 'Regenerate with these parameters' }).click();
    await view.waitFor({ state: 'detached', timeout: 5_000 });
    await showing(answers, 3, 3, 15_000);
    await settled(page);
    await until(async () => (await requests()).length > before, { message: 'the regenerate request' });
    const again = await lastRequest();
    assert.equal(again.temperature, 1.3);
    assert.equal(again.seed, 99);

    // From the regenerate options: the same parameters (version 3's: seed 99) → 4/4.
    const beforeSame = (await requests()).length;
    await answers.last().getByRole('button', { name: 'Regenerate with options' }).click();
    await page.getByRole('button', { name: 'Regenerate with the same parameters' }).click();
    await until(async () => (await requests()).length > beforeSame, { timeout: 15_000, message: 'the regenerate request (same parameters)' });
    await showing(answers, 4, 4, 15_000);
    await settled(page);
    const same = await lastRequest();
    assert.equal(same.temperature, 1.3);
    assert.equal(same.seed, 99);

    // "As version 1": its parameters (no seed, no temperature set) → 5/5.
    await answers.last().getByRole('button', { name: 'Regenerate with options' }).click();
    await page.getByLabel('Parameters of').selectOption({ label: 'Version 1' });
    await page.getByRole('button', { name: 'Regenerate as version 1' }).click();
    await showing(answers, 5, 5, 15_000);
    await settled(page);
    const first = await lastRequest();
    assert.equal(first.seed, undefined);
    assert.notEqual(first.temperature, 1.3);

    // Five versions: the view offers checkboxes, at most three at once.
    await answers.last().getByRole('button', { name: 'Compare versions' }).click();
    await view.waitFor({ timeout: 5_000 });
    assert.equal(await columns.count(), 2);
    await view.getByRole('checkbox', { name: /Version 1/ }).check();
    assert.equal(await columns.count(), 3);
    assert.ok(await view.getByRole('checkbox', { name: /Version 2/ }).isDisabled(), 'a fourth cannot be added');
    const more = await audit(page, 'compare view, three versions');
    assert.deepEqual(more, [], `axe violations:\n${more.join('\n')}`);
    await view.getByRole('button', { name: 'Close comparison' }).click();
    await view.waitFor({ state: 'detached', timeout: 5_000 });

    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } catch (error) {
    // What the page showed when it failed (an error alert, a disabled control…).
    await page?.screenshot({ path: `${shots}compare-failure.png`, fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await behave({});
    await browser.close();
  }
});

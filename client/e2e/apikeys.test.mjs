// End-to-end in real Chromium: API keys (Settings › API keys). Reached by keyboard, a key named
// "script" is created (a blank name is refused at the field first); the dialog shows it once, in
// a read-only field, with Copy; closing it gives the focus back and leaves no trace of the key in
// the page. The list shows the key's prefix and "Never" last used. From Node, the key opens
// `/v1/models` (200) but not `/api/users/me` (401); after a reload the list says when it was
// used. A completion the key saves (`confab.save`) shows in the chat list live and opens.
// Revoked (after a confirmation, announced), it opens nothing. axe finds nothing on the
// section, the key dialog or the confirmation, in light and dark; no page errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditBoth, callApi, fakeUpstream, launch, newUserPage, shots, tabTo, until } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)
const skip = !url && 'CONFAB_E2E_URL not set';

/** GET /v1/models with `key` as the bearer token: the status. */
async function models(key) {
  const response = await fetch(`${url}/v1/models`, { headers: { Authorization: `Bearer ${key}` } });
  await response.body?.cancel();
  return response.status;
}

test('api keys: created by keyboard and shown once, used on /v1 only, revoked', { skip, timeout: 120_000 }, async () => {
  if (upstream) await fakeUpstream(upstream).behave({});
  const browser = await launch();
  try {
    const { page, problems } = await newUserPage(browser, url, 'e2e_apikeys', { clipboard: true });

    // Settings, by keyboard, from the sidebar; then on to the API keys' name field.
    await page.getByRole('button', { name: 'New chat' }).focus();
    await tabTo(page, () => document.activeElement?.tagName === 'A' && document.activeElement.textContent?.trim() === 'Settings', {
      what: 'the Settings link',
    });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
    const section = page.getByRole('region', { name: 'API keys' });
    await section.getByText('No API keys yet.').waitFor({ timeout: 5_000 });
    const origin = new URL(url).origin;
    assert.equal(await section.locator('code').first().innerText(), `${origin}/v1`, 'the base URL, with the real origin');
    await tabTo(page, () => document.activeElement?.id === 'api-key-name', { what: 'the API key name field' });

    // A blank name is refused at the field, which keeps the focus.
    await page.keyboard.press('Enter');
    const name = section.getByLabel('Name', { exact: true });
    await until(async () => (await name.getAttribute('aria-invalid')) === 'true', { message: 'the name field marked invalid' });
    const describedBy = (await name.getAttribute('aria-describedby')) ?? '';
    assert.match(await page.locator(`[id="${describedBy.split(' ').at(-1)}"]`).innerText(), /Enter a name/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'api-key-name');
    const found = await auditBoth(page, 'api keys, blank name');

    // "script", never expiring (the default), by keyboard.
    await page.keyboard.type('script');
    assert.equal(await section.getByLabel('Expires', { exact: true }).evaluate((s) => s.selectedOptions[0]?.textContent?.trim()), 'Never');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'API key created' });
    await dialog.waitFor({ timeout: 5_000 });
    await dialog.getByText(/It will not be shown again\./).waitFor();
    const field = dialog.getByLabel('API key', { exact: true });
    await page.waitForFunction(() => document.activeElement?.closest('dialog[open]') !== null);
    assert.equal(await field.evaluate((el) => el === document.activeElement && el.readOnly), true, 'the read-only key has the focus');
    const key = await field.inputValue();
    assert.match(key, /^cfk_\S{8,}$/);
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
    await page.screenshot({ path: `${shots}apikeys-created.png` });
    found.push(...(await auditBoth(page, 'api key dialog')));

    // Esc closes it: the focus is back in the (emptied) name field, and the key is gone from the page.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'api-key-name', 'the focus is back');
    assert.equal(await name.inputValue(), '');
    assert.equal(await page.evaluate((k) => document.documentElement.outerHTML.includes(k) || [...document.querySelectorAll('input')].some((i) => i.value === k), key), false);

    // The list: its prefix, created, last used "Never", expires "Never".
    const row = section.locator('tbody tr', { hasText: 'script' });
    const cells = () => row.getByRole('cell').allInnerTexts();
    await row.waitFor();
    let shown = await cells();
    assert.equal(shown[0], 'script');
    assert.equal(shown[1], `${key.slice(0, 12)}…`);
    assert.equal(shown[3], 'Never', 'last used');
    assert.equal(shown[4], 'Never', 'expires');
    found.push(...(await auditBoth(page, 'api keys list')));

    // From Node: the key opens the OpenAI-compatible API only.
    assert.equal(await models(key), 200, 'GET /v1/models with the key');
    assert.equal((await callApi(url, 'GET', '/api/users/me', { token: key })).status, 401, 'the key on /api');

    // Reloaded, the list says when it was used.
    await until(
      async () => {
        await page.reload();
        await row.waitFor({ timeout: 10_000 });
        shown = await cells();
        return shown[3] !== 'Never';
      },
      { timeout: 10_000, interval: 500, message: '"Last used" to be set after a reload' },
    );
    assert.notEqual(shown[3], '—');

    // An exchange a script saves (`confab.save`) appears in the open page's chat list at once
    // (no reload), and opens with its question and answer.
    const saved = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: 'confab-demo',
        messages: [{ role: 'user', content: 'Saved from a script' }],
        confab: { save: true },
      }),
    });
    assert.equal(saved.status, 200, 'a saved completion');
    const completion = await saved.json();
    const nav = page.getByRole('navigation', { name: 'Chats' });
    const listed = nav.getByRole('button', { name: 'Saved from a script', exact: true });
    await listed.waitFor({ timeout: 10_000 });
    await listed.click();
    await page.getByText('Saved from a script', { exact: true }).first().waitFor({ timeout: 10_000 });
    await page.getByText(completion.choices[0].message.content.trim().slice(0, 30)).first().waitFor({ timeout: 10_000 });
    await page.goto(`${url}/settings`);
    await row.waitFor({ timeout: 10_000 });

    // Revoke, by keyboard, after a confirmation; the row goes and a status says so.
    await row.getByRole('button', { name: /^Revoke script/ }).focus();
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('dialog', { name: 'Revoke API key?' });
    await confirm.waitFor();
    await confirm.getByText(/“script”/).waitFor();
    found.push(...(await auditBoth(page, 'revoke confirmation')));
    await confirm.getByRole('button', { name: 'Revoke' }).click();
    await section.getByRole('status').filter({ hasText: 'Revoked “script”.' }).waitFor({ timeout: 5_000 });
    await confirm.waitFor({ state: 'hidden' });
    assert.equal(await row.count(), 0, 'the row is gone');
    await section.getByText('No API keys yet.').waitFor();
    // A server may remember a key for a moment: the refusal must come soon.
    await until(async () => (await models(key)) === 401, { timeout: 5_000, interval: 250, message: 'the revoked key refused on /v1/models' });

    assert.equal(found.length, 0, `axe violations:\n${found.join('\n')}`);
    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } finally {
    await browser.close();
  }
});

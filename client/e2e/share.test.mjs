// End-to-end in real Chromium: share links and export. A chat's "Share…" dialog (with model and
// parameters) gives a link; a new, signed-out browser context opens it and sees the question,
// the answer and the model, with none of the app (no sidebar, no sign-in form) and "Sign in to
// continue" instead of "Continue this chat". That goes through the sign-in form (a new account
// is made there) and back to the shared chat, whose "Continue this chat" (by the keyboard: it has
// the focus) makes a chat of the second user's own: it opens with the shared messages on screen,
// and it is in their sidebar. Export JSON downloads the chat tree (`format: "confab.chat"`).
// Settings › Share links revokes the link (after a confirmation): "Continue this chat" on a page
// opened before then says the link no longer works, and the page, reloaded, that it does not
// exist. axe finds nothing on the dialog or the share page, in light and dark; no page errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { auditBoth, fakeUpstream, launch, newUserPage, until, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM;
const skip = !url && 'CONFAB_E2E_URL not set';

test('share: a link readable signed out, continued by another user after signing in, an export, revoked from Settings', { skip, timeout: 150_000 }, async () => {
  if (upstream) await fakeUpstream(upstream).behave({});
  const browser = await launch();
  try {
    const { page, problems, composer } = await newUserPage(browser, url, 'e2e_share', { clipboard: true, acceptDownloads: true });

    await composer.fill('Why do cats purr?');
    await composer.press('Enter');
    const answer = page.locator('article.message.assistant').last();
    await answer.waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => !document.querySelector('article.message.assistant[aria-busy="true"]'), null, { timeout: 15_000 });
    const answerText = (await answer.locator('.markdown').innerText()).trim();
    assert.ok(answerText.length > 0, 'an answer');

    // Share… with the model and parameters.
    await page.getByRole('button', { name: 'Share…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Share this chat' });
    await dialog.waitFor();
    const found = await auditBoth(page, 'share dialog');
    await dialog.getByLabel('Include model and parameters').check();
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const field = dialog.getByLabel('Link', { exact: true });
    await field.waitFor({ timeout: 5_000 });
    const link = await field.inputValue();
    assert.match(link, new RegExp(`^${new URL(url).origin}/s/\\S+$`));
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
    found.push(...(await auditBoth(page, 'share dialog with link')));
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    // Export JSON: the chat tree.
    await page.getByRole('button', { name: 'Export' }).click();
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download JSON' }).click();
    const download = await downloading;
    assert.match(download.suggestedFilename(), /\.json$/);
    const exported = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert.equal(exported.format, 'confab.chat');

    // A stranger, signed out, reads it: no app around it.
    const strangerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const stranger = await strangerContext.newPage();
    const strangerProblems = watchProblems(stranger);
    await stranger.goto(link);
    const messages = stranger.getByRole('list', { name: 'Messages' });
    await messages.getByText('Why do cats purr?', { exact: true }).waitFor({ timeout: 10_000 });
    await messages.getByText(answerText.slice(0, 30)).first().waitFor();
    await stranger.getByText(/^Model: \S+/).first().waitFor();
    assert.equal(await stranger.getByRole('navigation').count(), 0, 'no sidebar');
    assert.equal(await stranger.getByLabel('Password').count(), 0, 'no sign-in form');
    assert.equal(await stranger.getByRole('button', { name: 'Continue this chat' }).count(), 0, 'signed out: no Continue');
    found.push(...(await auditBoth(stranger, 'share page')));
    const sharedTitle = (await stranger.getByRole('heading', { level: 1 }).innerText()).trim();

    // "Sign in to continue": the sign-in form (an account is made there), then the shared chat again.
    await stranger.getByRole('button', { name: 'Sign in to continue' }).click();
    await stranger.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 5_000 });
    assert.match(new URL(stranger.url()).search, /sign-in/);
    await stranger.getByRole('button', { name: 'Back to the shared chat' }).waitFor();
    found.push(...(await auditBoth(stranger, 'sign-in from a share page')));
    await stranger.getByRole('button', { name: 'Create one' }).click();
    const second = `e2e_share2_${Date.now()}`;
    await stranger.getByLabel('Username').fill(second);
    await stranger.getByLabel('Email').fill(`${second}@example.org`);
    await stranger.getByLabel('Password').fill('correct horse battery');
    await stranger.getByRole('button', { name: 'Create account' }).click();
    const continueButton = stranger.getByRole('button', { name: 'Continue this chat' });
    await continueButton.waitFor({ timeout: 10_000 });
    assert.equal(new URL(stranger.url()).pathname, new URL(link).pathname, 'back on the shared chat');
    assert.equal(new URL(stranger.url()).search, '');
    await until(() => continueButton.evaluate((b) => b === document.activeElement), { message: '"Continue this chat" to take the focus' });

    // Continue this chat: a chat of the second user's own, with the shared messages, in their sidebar.
    await stranger.keyboard.press('Enter');
    await stranger.waitForURL((u) => /^\/c\/[^/]+$/.test(u.pathname), { timeout: 10_000 });
    await stranger.locator('article.message.user').getByText('Why do cats purr?', { exact: true }).waitFor({ timeout: 10_000 });
    await stranger.locator('article.message.assistant').getByText(answerText.slice(0, 30)).first().waitFor();
    const sidebar = stranger.getByRole('navigation', { name: 'Chats' });
    const current = sidebar.locator('.chat-list .chat-item[aria-current="page"]');
    await current.waitFor({ timeout: 5_000 });
    assert.ok((await current.innerText()).includes(sharedTitle), `the copy (“${await current.innerText()}”) is listed as “${sharedTitle}”`);
    assert.equal(await sidebar.locator('.chat-list .chat-item').count(), 1, 'one chat in the second user’s sidebar');
    found.push(...(await auditBoth(stranger, 'the continued chat')));

    // The shared chat again, signed in: Continue is offered at once (and used after the revocation below).
    await stranger.goto(link);
    await stranger.getByRole('button', { name: 'Continue this chat' }).waitFor({ timeout: 10_000 });
    assert.equal(await stranger.getByRole('button', { name: 'Sign in to continue' }).count(), 0);

    // Revoked from Settings › Share links.
    await page.goto(`${url}/settings`);
    const section = page.getByRole('region', { name: 'Share links' });
    const row = section.locator('tbody tr').first();
    await row.waitFor({ timeout: 10_000 });
    await row.getByRole('button', { name: /^Revoke link to/ }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke share link?' });
    await confirm.waitFor();
    found.push(...(await auditBoth(page, 'revoke confirmation')));
    await confirm.getByRole('button', { name: 'Revoke' }).click();
    await section.getByRole('status').filter({ hasText: /Revoked the link/ }).waitFor({ timeout: 5_000 });
    await section.getByText('No share links yet.').waitFor();

    // The page opened before the revocation: Continue now says the link no longer works.
    await stranger.getByRole('button', { name: 'Continue this chat' }).click();
    await stranger.getByRole('alert').filter({ hasText: 'This link no longer works.' }).waitFor({ timeout: 5_000 });
    assert.equal(await stranger.getByRole('button', { name: 'Continue this chat' }).count(), 0, 'nothing left to continue');
    assert.match(new URL(stranger.url()).pathname, /^\/s\//, 'still on the share page');

    await stranger.reload();
    await stranger.getByRole('heading', { name: /404: this link does not exist or was revoked/ }).waitFor({ timeout: 10_000 });
    found.push(...(await auditBoth(stranger, 'revoked share page')));

    assert.equal(found.length, 0, `axe violations:\n${found.join('\n')}`);
    assert.deepEqual(problems, [], 'no page errors');
    assert.deepEqual(strangerProblems.filter((p) => !/status of 404/.test(p)), [], 'no page errors on the share page');
    await strangerContext.close();
  } finally {
    await browser.close();
  }
});

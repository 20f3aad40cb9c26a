// Organising chats in real Chromium against the real server and fake upstream (CONFAB_E2E_URL,
// CONFAB_E2E_UPSTREAM): pin, archive and unarchive, folders (move by the keyboard menu and by
// drag and drop, expand, delete), a second tab of the same user that sees a folder made, renamed
// and deleted in the first appear, change and go without a reload, fork from an answer, axe in
// light and dark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audit, fakeUpstream, idle, launch, register, shots, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstreamUrl = process.env.CONFAB_E2E_UPSTREAM;

/** Resolves once the page's live socket has the server's `ready` (events from then on reach it). */
function socketReady(page) {
  return new Promise((resolve) => {
    page.on('websocket', (ws) => ws.on('framereceived', (frame) => /"type":"ready"/.test(String(frame.payload)) && resolve()));
  });
}

test('pin, archive, folders, drag and drop, fork', {
  skip: !(url && upstreamUrl) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set',
  timeout: 90_000,
}, async () => {
  await fakeUpstream(upstreamUrl).behave({});
  const browser = await launch();
  try {
    // One context: its second page is a second tab of the same signed-in user.
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchProblems(page);
    const composer = await register(page, url, 'e2e_org');
    const sidebar = page.getByRole('navigation', { name: 'Chats' });
    const row = (name) => sidebar.locator('.chat-list').getByRole('button', { name: new RegExp(`^(Pinned: )?${name}`) });
    const rowNames = () => sidebar.locator('.chat-list .chat-item').allInnerTexts();

    for (const name of ['Alpha', 'Bravo', 'Charlie']) {
      await sidebar.getByRole('button', { name: 'New chat' }).click();
      await composer.fill(`${name} question`);
      await composer.press('Enter');
      await page.locator('article.message.assistant').last().getByText(new RegExp(`Demo reply to: ${name} question`)).waitFor({ timeout: 15_000 });
      await idle(page);
      await row(name).waitFor({ timeout: 5_000 });
    }
    assert.match((await rowNames())[0], /Charlie/);

    // Pin Alpha: it moves first with a pin marker.
    await sidebar.getByRole('button', { name: /More actions for “Alpha/ }).click();
    await sidebar.getByRole('button', { name: 'Pin', exact: true }).click();
    await sidebar.getByRole('button', { name: /^Pinned: Alpha/ }).waitFor({ timeout: 5_000 });
    assert.match((await rowNames())[0], /Alpha/);

    // Archive Bravo: gone from the list, shown in the Archived view, unarchived back.
    await sidebar.getByRole('button', { name: /More actions for “Bravo/ }).click();
    await sidebar.getByRole('button', { name: 'Archive', exact: true }).click();
    await row('Bravo').waitFor({ state: 'detached', timeout: 5_000 });
    await sidebar.getByRole('button', { name: 'Archived chats' }).click();
    await sidebar.getByRole('button', { name: /Unarchive “Bravo/ }).click();
    await sidebar.getByText('No archived chats.').waitFor({ timeout: 5_000 });
    await sidebar.getByRole('button', { name: 'Back to chats' }).click();
    await row('Bravo').waitFor({ timeout: 5_000 });

    // A folder; a duplicate name is refused at the field.
    await sidebar.getByRole('button', { name: 'New folder' }).click();
    await sidebar.getByLabel('Folder name').fill('Work');
    await sidebar.getByRole('button', { name: 'Create folder' }).click();
    const folder = sidebar.getByRole('button', { name: /Work$/ }).and(sidebar.locator('[aria-expanded]'));
    await folder.waitFor({ timeout: 5_000 });
    await sidebar.getByRole('button', { name: 'New folder' }).click();
    await sidebar.getByLabel('Folder name').fill('work');
    await sidebar.getByRole('button', { name: 'Create folder' }).click();
    await sidebar.locator('#new-folder-error').waitFor({ timeout: 5_000 });
    await page.keyboard.press('Escape');

    // Charlie into the folder by the keyboard, through its menu.
    await sidebar.getByRole('button', { name: /More actions for “Charlie/ }).focus();
    await page.keyboard.press('Enter');
    const select = sidebar.getByLabel('Move to folder…');
    await select.focus();
    await select.selectOption({ label: 'Work' });
    await page.keyboard.press('Escape');
    // Bravo by drag and drop.
    await row('Bravo').dragTo(folder);
    await folder.click();
    assert.equal(await folder.getAttribute('aria-expanded'), 'true');
    const inFolder = sidebar.getByRole('list', { name: 'Chats in Work' });
    await inFolder.getByRole('button', { name: /Charlie/ }).waitFor({ timeout: 5_000 });
    await inFolder.getByRole('button', { name: /Bravo/ }).waitFor({ timeout: 5_000 });
    await page.screenshot({ path: `${shots}organise-folder.png` });

    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      const found = await audit(page, `organise ${scheme}`);
      assert.deepEqual(found, [], `axe violations:\n${found.join('\n')}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });

    // Delete the folder: its chats stay in the list.
    await sidebar.getByRole('button', { name: 'Delete folder “Work”' }).click();
    await page.getByRole('button', { name: 'Delete folder', exact: true }).click();
    await folder.waitFor({ state: 'detached', timeout: 5_000 });
    await row('Bravo').waitFor();
    await row('Charlie').waitFor();

    // A second tab of the same user: a folder made, renamed and deleted in the first shows there
    // live (the page is never reloaded: a mark left on its window stays).
    const other = await context.newPage();
    const otherProblems = watchProblems(other);
    const ready = socketReady(other);
    await other.goto(url);
    await ready;
    await other.evaluate(() => (window.__notReloaded = true));
    const otherFolders = other.getByRole('navigation', { name: 'Chats' }).getByRole('region', { name: 'Folders' });
    const folderIn = (where, name) => where.getByRole('button', { name: new RegExp(`^${name}$`) }).and(where.locator('[aria-expanded]'));
    await sidebar.getByRole('button', { name: 'New folder' }).click();
    await sidebar.getByLabel('Folder name').fill('Later');
    await sidebar.getByRole('button', { name: 'Create folder' }).click();
    await folderIn(otherFolders, 'Later').waitFor({ timeout: 5_000 });
    await sidebar.getByRole('button', { name: 'Rename folder “Later”' }).click();
    await sidebar.getByLabel('Rename folder').fill('Someday');
    await page.keyboard.press('Enter');
    await folderIn(otherFolders, 'Someday').waitFor({ timeout: 5_000 });
    assert.equal(await folderIn(otherFolders, 'Later').count(), 0, 'the old name is gone');
    await sidebar.getByRole('button', { name: 'Delete folder “Someday”' }).click();
    await page.getByRole('button', { name: 'Delete folder', exact: true }).click();
    await folderIn(otherFolders, 'Someday').waitFor({ state: 'detached', timeout: 5_000 });
    assert.equal(await other.evaluate(() => window.__notReloaded), true, 'the second tab was not reloaded');
    assert.deepEqual(otherProblems, [], 'no page errors in the second tab');
    await other.close();

    // Fork from Charlie's answer: a new chat opens with the question and the answer.
    await row('Charlie').click();
    await page.getByText('Charlie question').first().waitFor({ timeout: 5_000 });
    const before = page.url();
    await page.locator('article.message.assistant').last().getByRole('button', { name: 'Fork from here' }).click();
    await page.waitForURL((u) => u.toString() !== before && /\/c\//.test(u.pathname), { timeout: 5_000 });
    await page.locator('article.message.user').getByText('Charlie question').waitFor({ timeout: 5_000 });
    await page.locator('article.message.assistant').getByText(/Demo reply to: Charlie question/).waitFor({ timeout: 5_000 });
    // Fork from the question itself, by keyboard: a chat holding the question alone.
    const forked = page.url();
    await page.locator('article.message.user').last().getByRole('button', { name: 'Fork from here' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.toString() !== forked && /\/c\//.test(u.pathname), { timeout: 5_000 });
    await page.locator('article.message.user').getByText('Charlie question').waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('article.message.assistant').count(), 0, 'only the question');
    // The one expected failed request: the duplicate folder name (409).
    assert.deepEqual(problems.filter((p) => !/status of 409/.test(p)), [], 'no page errors or console errors');
  } finally {
    await browser.close();
  }
});

// End-to-end in real Chromium: Settings › Import & export. A ChatGPT `conversations.json` built
// here (two conversations; in the first, a question edited into two branches, each answered, the
// second one current; the second has a tool message and an image part that are left out) is
// chosen and imported: the section shows the progress, then "Imported 2 of 2", what was left
// out, and the recent imports list. The sidebar lists both chats without a reload, and the first
// opens on its second branch. Importing the same file again adds nothing (2 already here); a file
// that is not JSON is refused at the picker with the parser's line. "Download export (.zip)"
// saves a zip with a manifest and the chats, which imports back. axe finds nothing on the section, in light and
// dark; no page errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { auditBoth, fakeUpstream, launch, newUserPage, shots, unnamedControls, until } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM;
const skip = !url && 'CONFAB_E2E_URL not set';

/** Refusals the test causes on purpose (the bad file). */
const expected = (p) => !/status of 422/.test(p);

/** One node of a ChatGPT export's `mapping`. */
function node(id, parent, children, message) {
  return { id, message, parent, children };
}

function message(id, role, text, at, { parts, type = 'text' } = {}) {
  return {
    id,
    author: { role, name: null, metadata: {} },
    create_time: at,
    update_time: null,
    content: { content_type: type, parts: parts ?? [text] },
    status: 'finished_successfully',
    end_turn: role === 'assistant' ? true : null,
    weight: 1,
    metadata: { model_slug: 'gpt-4o' },
    recipient: 'all',
  };
}

/** The export's texts, unique to this run so that what the page shows can only come from here. */
function texts(stamp) {
  return {
    firstTitle: `Lisbon trip ${stamp}`,
    secondTitle: `Sourdough help ${stamp}`,
    question1: 'Plan three days in Lisbon.',
    answer1: 'Day one: Alfama and the castle (first branch).',
    question2: 'Plan three days in Lisbon on a budget.',
    answer2: 'Budget plan: tram 28, free museums on Sunday (second branch).',
    question3: 'Why is my sourdough flat?',
    answer3: 'Your starter may be underfed; feed it twice a day.',
  };
}

/** A ChatGPT `conversations.json`: an array of two conversations. */
function chatgptExport(t) {
  const base = 1_717_000_000.25;
  const first = {
    id: 'conv-lisbon',
    title: t.firstTitle,
    create_time: base,
    update_time: base + 300.5,
    current_node: 'a2',
    mapping: {
      root: node('root', null, ['sys'], null),
      sys: node('sys', 'root', ['u1', 'u2'], message('sys', 'system', '', base)),
      // The question, then edited: two user children of the same node, each answered.
      u1: node('u1', 'sys', ['a1'], message('u1', 'user', t.question1, base + 1)),
      a1: node('a1', 'u1', [], message('a1', 'assistant', t.answer1, base + 2)),
      u2: node('u2', 'sys', ['a2'], message('u2', 'user', t.question2, base + 100)),
      a2: node('a2', 'u2', [], message('a2', 'assistant', t.answer2, base + 101)),
    },
  };
  const second = {
    id: 'conv-sourdough',
    title: t.secondTitle,
    create_time: base + 1000,
    update_time: base + 1100,
    current_node: 'b3',
    mapping: {
      r: node('r', null, ['b1'], null),
      b1: node('b1', 'r', ['bt'], message('b1', 'user', t.question3, base + 1001, {
          // With a photo (as ChatGPT exports one): the image part is left out.
          type: 'multimodal_text',
          parts: [{ content_type: 'image_asset_pointer', asset_pointer: 'file-service://file-x', width: 64, height: 64 }, t.question3],
        })),
      // A tool call's output: left out.
      bt: node('bt', 'b1', ['b3'], message('bt', 'tool', 'search results', base + 1002)),
      b3: node('b3', 'bt', [], message('b3', 'assistant', t.answer3, base + 1003)),
    },
  };
  return [first, second];
}

test('import: a ChatGPT export into the sidebar, once only; a bad file refused; the account exported', { skip, timeout: 180_000 }, async (t) => {
  if (upstream) await fakeUpstream(upstream).behave({});
  const browser = await launch();
  try {
    const { page, problems } = await newUserPage(browser, url, 'e2e_import', { acceptDownloads: true });
    const words = texts(Date.now().toString(36));
    const buffer = Buffer.from(JSON.stringify(chatgptExport(words)));
    const file = { name: 'conversations.json', mimeType: 'application/json', buffer };

    // Settings › Import & export: nothing imported yet.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    const section = page.getByRole('region', { name: 'Import & export' });
    await section.getByText('No imports yet.').waitFor({ timeout: 10_000 });
    const picker = section.getByLabel('File to import');
    assert.equal(await picker.getAttribute('accept'), '.json,.zip,application/json,application/zip');
    const found = await auditBoth(page, 'import section, empty');

    // Import: the progress (or already the summary: small files go fast), then the summary.
    await picker.setInputFiles(file);
    const importing = page.waitForResponse((r) => r.url().endsWith('/api/imports') && r.request().method() === 'POST');
    await section.getByRole('button', { name: 'Import', exact: true }).click();
    const posted = await importing;
    assert.equal(posted.status(), 202, 'POST /api/imports');
    assert.equal(posted.request().headers()['content-type'], 'application/json');
    const current = section.getByRole('group', { name: /conversations\.json/ });
    const summary = current.locator('.summary');
    await summary.waitFor({ timeout: 30_000 });
    assert.equal(await summary.innerText(), 'Imported 2 of 2 conversations.');
    const leftOut = await current.locator('p.muted').innerText();
    t.diagnostic(`left out: ${leftOut}`);
    assert.match(leftOut, /\d+ messages? imported/);
    assert.match(leftOut, /tool, hidden or unsupported message/, 'the tool message was left out');
    const status = section.getByRole('status').filter({ hasText: /Import finished/ });
    await status.waitFor({ timeout: 5_000 });
    assert.equal((await status.innerText()).trim(), 'Import finished. Imported 2 of 2 conversations.');
    const rows = section.locator('tbody tr');
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().innerText(), /conversations\.json[\s\S]*Done[\s\S]*Imported 2 of 2/);
    await page.screenshot({ path: `${shots}import-done.png`, fullPage: true });
    found.push(...(await auditBoth(page, 'import done')));
    assert.deepEqual(await unnamedControls(page), [], 'controls without an accessible name');

    // The sidebar lists both, without a reload.
    const nav = page.getByRole('navigation', { name: 'Chats' });
    const firstChat = nav.getByRole('button', { name: words.firstTitle, exact: true });
    await firstChat.waitFor({ timeout: 10_000 });
    await nav.getByRole('button', { name: words.secondTitle, exact: true }).waitFor({ timeout: 10_000 });

    // The first opens on its second branch: the edited question and its answer, not the first's.
    await firstChat.click();
    await page.getByText(words.answer2).first().waitFor({ timeout: 10_000 });
    await page.getByText(words.question2, { exact: true }).first().waitFor();
    assert.equal(await page.getByText(words.answer1).count(), 0, 'the first branch is not on screen');
    await page.getByText('2/2', { exact: true }).first().waitFor();
    await page.screenshot({ path: `${shots}import-chat.png` });

    // Again: the same file adds nothing.
    await page.getByRole('link', { name: 'Settings' }).click();
    await section.locator('tbody tr').first().waitFor({ timeout: 10_000 });
    await picker.setInputFiles(file);
    await section.getByRole('button', { name: 'Import', exact: true }).click();
    await until(async () => (await rows.count()) === 2, { timeout: 10_000, message: 'the second import listed' });
    await until(async () => (await summary.count()) === 1 && /2 already here/.test(await summary.innerText()), {
      timeout: 30_000,
      message: 'the second import to end',
    });
    assert.equal(await summary.innerText(), 'Imported 0 of 2 conversations (2 already here).');
    assert.equal(await nav.getByRole('button', { name: words.firstTitle, exact: true }).count(), 1, 'listed once');

    // A file that is not JSON: refused at the picker (422), with where the parser stopped.
    await picker.setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"x": [1,2,') });
    await section.getByRole('button', { name: 'Import', exact: true }).click();
    const fieldError = section.locator('#import-file-error');
    await fieldError.waitFor({ timeout: 10_000 });
    t.diagnostic(`bad file: ${await fieldError.innerText()}`);
    assert.match(await fieldError.innerText(), /line \d+/);
    assert.equal(await picker.getAttribute('aria-invalid'), 'true');
    assert.match((await picker.getAttribute('aria-describedby')) ?? '', /import-file-error/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'import-file', 'the picker has the focus');
    assert.equal(await rows.count(), 2, 'no import was started');
    found.push(...(await auditBoth(page, 'import bad file')));

    // After a reload the recent imports are listed, newest first.
    await page.reload();
    await section.locator('tbody tr').nth(1).waitFor({ timeout: 10_000 });
    assert.match(await rows.first().innerText(), /2 already here/);

    // Export everything: a zip with a manifest and the chats.
    const downloading = page.waitForEvent('download');
    await section.getByRole('button', { name: 'Download export (.zip)' }).click();
    const download = await downloading;
    assert.match(download.suggestedFilename(), /\.zip$/);
    const zip = await readFile(await download.path());
    assert.equal(zip.subarray(0, 2).toString('latin1'), 'PK');
    assert.ok(zip.includes('manifest.json'), 'a manifest');
    assert.ok(zip.includes('chats/'), 'the chats');
    await section.getByRole('status').filter({ hasText: 'Your export has been downloaded.' }).waitFor();

    // The export imports back (a Confab zip, sent as application/zip).
    await picker.setInputFiles({ name: 'confab-export.zip', mimeType: 'application/zip', buffer: zip });
    const zipped = page.waitForResponse((r) => r.url().endsWith('/api/imports') && r.request().method() === 'POST');
    await section.getByRole('button', { name: 'Import', exact: true }).click();
    assert.equal((await zipped).request().headers()['content-type'], 'application/zip');
    const zipSummary = section.getByRole('group', { name: /confab-export\.zip/ }).locator('.summary');
    await zipSummary.waitFor({ timeout: 30_000 });
    t.diagnostic(`export imported back: ${await zipSummary.innerText()}`);
    assert.equal(await zipSummary.innerText(), 'Imported 0 of 2 conversations (2 already here).', 'the same chats, not again');

    assert.equal(found.length, 0, `axe violations:\n${found.join('\n')}`);
    assert.deepEqual(problems.filter(expected), [], 'no page errors, console errors or CSP violations');
  } finally {
    await browser.close();
  }
});

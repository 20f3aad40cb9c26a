// End-to-end in real Chromium: the administration page (/admin) of an admin.
// The e2e database is shared by every e2e test, so its first account (the one that became admin)
// is some other test's: this test signs up and is made admin by the operator's command line,
// `confab user set-role <name> admin` against the e2e database (CONFAB_E2E_MONGODB, and
// CONFAB_E2E_DATABASE or scripts/test's `e2e_<port>`), unless it already is.
// - The Admin link shows for an admin only and opens the page by keyboard (focus on its title).
// - Users: the debounced search finds a new member; disable (the member cannot sign in: 403
//   account_disabled) and enable; role to admin and back; limits (a daily token limit of 1 makes
//   the member's next message answer 429 quota_exceeded, shown with when to try again; an empty
//   field puts the default back); delete through the confirmation dialog.
// - Invites: create one (the link is shown with Copy); the link prefills the sign-up form of a
//   new browser and signs the invitee up (used 1 of 1); revoke another.
// - Usage by day and by model (a chart and its table); the audit log with "Load more".
// axe finds nothing in light and dark (the delete dialog included); every control is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  audit,
  callApi,
  fakeUpstream,
  launch,
  makeAdmin,
  registerUser,
  shots,
  signIn,
  tabTo,
  unnamedControls,
  until,
  watchProblems,
} from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM;
const skip = !url && 'CONFAB_E2E_URL not set';

/** Refusals the test causes on purpose (a disabled member, the quota, a bad reset). */
const expected = (p) => !/status of (401|403|409|422|429)/.test(p);

test('admin: users, limits and quota, invites, usage and audit, by keyboard and axe-clean', { skip, timeout: 180_000 }, async (t) => {
  if (upstream) await fakeUpstream(upstream).behave({});
  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    const page = await context.newPage();
    const problems = watchProblems(page);
    const admin = await registerUser(page, url, 'e2e_admin');
    if (!(await makeAdmin(t, url, admin.username, admin.password))) return;

    // A member to manage, signed up through the API.
    const member = `e2e_member_${Date.now()}`;
    const memberPassword = 'member passphrase';
    const made = await callApi(url, 'POST', '/api/auth/register', {
      body: { username: member, email: `${member}@example.org`, password: memberPassword },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.user.role, 'user');

    // The role is read again on reload: the Admin link shows, and opens the page by keyboard.
    await page.reload();
    const link = page.getByRole('link', { name: 'Admin' });
    await link.waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'New chat' }).focus();
    await tabTo(page, () => document.activeElement?.tagName === 'A' && document.activeElement.textContent?.trim() === 'Admin', {
      what: 'the Admin link',
    });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Administration' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/admin');
    await page.waitForFunction(() => document.activeElement?.tagName === 'H1');

    // ---- users: the search is debounced, then finds the member alone ------------------------
    const users = page.getByRole('region', { name: 'Users' });
    let searches = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/admin/users' && new URL(r.url()).searchParams.get('q')) searches++;
    });
    await users.getByLabel('Search users').pressSequentially(member, { delay: 10 });
    const rows = users.locator('tbody tr');
    await until(async () => (await rows.count()) === 1 && (await rows.first().innerText()).includes(member), {
      message: 'the member alone in the list',
    });
    assert.ok(searches <= 2, `typing the name sent ${searches} searches (debounced: one or two)`);
    const row = rows.first();

    // Disable: the member cannot sign in; enable again.
    await row.getByRole('button', { name: `Disable ${member}` }).click();
    await row.getByText('Disabled', { exact: true }).waitFor();
    const refused = await callApi(url, 'POST', '/api/auth/login', { body: { email: member, password: memberPassword } });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'account_disabled');
    await row.getByRole('button', { name: `Enable ${member}` }).click();
    await row.getByText('Active', { exact: true }).waitFor();

    // Role: admin and back.
    const role = row.getByLabel(`Role of ${member}`);
    for (const value of ['admin', 'user']) {
      const saved = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/admin/users/'));
      await role.selectOption(value);
      assert.equal((await saved).status(), 200);
      assert.equal(await role.inputValue(), value);
    }

    // Limits: a daily token limit of 1, by keyboard; the editor closes back onto its button.
    const limitsButton = row.getByRole('button', { name: `Limits of ${member}` });
    await limitsButton.focus();
    await page.keyboard.press('Enter');
    const limits = page.getByRole('form', { name: `Limits of ${member}` });
    await limits.getByLabel('Tokens per day').fill('1');
    const editorViolations = await audit(page, 'admin limits editor');
    assert.deepEqual(editorViolations, [], editorViolations.join('\n'));
    await limits.getByRole('button', { name: 'Save limits' }).click();
    await limits.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), `Limits of ${member}`);

    // The member's next messages meet the quota: the message says when to try again.
    const memberPage = await (await browser.newContext()).newPage();
    const memberProblems = watchProblems(memberPage);
    const composer = await signIn(memberPage, url, member, memberPassword);
    const quota = memberPage.getByRole('alert').filter({ hasText: /quota/i });
    // The first answer may still be allowed (nothing used yet); the one after it is not.
    for (let i = 1; i <= 4 && (await quota.count()) === 0; i++) {
      await composer.fill(`Use my quota ${i}`);
      await composer.press('Enter');
      await Promise.race([
        quota.waitFor({ timeout: 15_000 }),
        memberPage.getByText(`Demo reply to: Use my quota ${i}`).first().waitFor({ timeout: 15_000 }),
      ]);
      // An answer that was allowed ends (and is counted) before the next message.
      await memberPage.waitForFunction(() => !document.querySelector('article.message[aria-busy="true"]'), null, {
        timeout: 15_000,
      });
    }
    const said = await quota.innerText();
    assert.match(said, /send again (tomorrow|next month) \(in .+\)|when your quota resets/, said);
    assert.match(await composer.inputValue(), /^Use my quota/, 'the refused text is back in the composer');
    await memberPage.screenshot({ path: `${shots}quota-exceeded.png` });
    const quotaViolations = await audit(memberPage, 'quota exceeded');
    assert.deepEqual(quotaViolations, [], quotaViolations.join('\n'));
    assert.deepEqual(memberProblems.filter(expected), [], 'member page: no page or console errors');
    await memberPage.context().close();

    // An empty field puts the default back.
    await limitsButton.click();
    await limits.getByLabel('Tokens per day').fill('');
    await limits.getByRole('button', { name: 'Save limits' }).click();
    await limits.waitFor({ state: 'detached' });

    // ---- invites ------------------------------------------------------------------------
    const invites = page.getByRole('region', { name: 'Invites' });
    await invites.getByLabel('Uses').fill('1');
    await invites.getByLabel('Expires in (hours)').fill('24');
    await invites.getByLabel('Role').selectOption('user');
    await invites.getByRole('button', { name: 'Create invite' }).click();
    const linkBox = invites.getByLabel('Invite link');
    await linkBox.waitFor();
    const inviteUrl = await linkBox.inputValue();
    const code = new URL(inviteUrl).searchParams.get('invite');
    assert.ok(code, `an invite link: ${inviteUrl}`);
    await invites.getByRole('button', { name: 'Copy' }).click();
    await invites.getByText(/Link copied|press Ctrl\+C/).waitFor();
    await until(async () => (await invites.locator('tbody tr').count()) >= 1, { message: 'the invite listed' });
    await page.screenshot({ path: `${shots}admin.png` });

    // The link (on this server's address: PUBLIC_URL may name another) prefills the code.
    const invitee = await (await browser.newContext()).newPage();
    await invitee.goto(`${url}/?invite=${encodeURIComponent(code)}`);
    assert.equal(await invitee.getByLabel('Invite code').inputValue(), code);
    const inviteeName = `e2e_invitee_${Date.now()}`;
    await invitee.getByLabel('Username').fill(inviteeName);
    await invitee.getByLabel('Email').fill(`${inviteeName}@example.org`);
    await invitee.getByLabel('Password').fill('invitee passphrase');
    await invitee.getByRole('button', { name: 'Create account' }).click();
    await invitee.getByPlaceholder(/send a message/i).waitFor({ timeout: 10_000 });
    assert.equal(new URL(invitee.url()).search, '', 'the used invite left the address');
    // Not an admin: no Admin link, and the page says so.
    assert.equal(await invitee.getByRole('link', { name: 'Admin' }).count(), 0);
    await invitee.goto(`${url}/admin`);
    await invitee.getByText('Only admins can open this page.').waitFor({ timeout: 10_000 });
    await invitee.context().close();

    // Revoke a second invite (found by its code: other runs' invites may be listed too).
    await invites.getByRole('button', { name: 'Create invite' }).click();
    await until(async () => (await linkBox.inputValue()) !== inviteUrl, { message: 'a second invite link' });
    const second = new URL(await linkBox.inputValue()).searchParams.get('invite');
    const prefixes = invites.locator('tbody th code');
    const prefix = await until(
      async () => (await prefixes.allInnerTexts()).map((p) => p.replace(/…$/, '')).find((p) => p && second.startsWith(p)),
      { message: 'the second invite listed' },
    );
    await invites.getByRole('button', { name: `Revoke invite ${prefix}` }).click();
    await invites.getByRole('button', { name: `Revoke invite ${prefix}` }).waitFor({ state: 'detached' });
    // The section's title has the focus (the row and its button are gone), and the link box too.
    await page.waitForFunction(() => document.activeElement?.id === 'invites-title');
    assert.equal(await linkBox.count(), 0);

    // ---- usage and audit ------------------------------------------------------------------
    const usage = page.getByRole('region', { name: 'Usage' });
    await usage.getByText(/tokens from \d{4}-\d{2}-\d{2} to/).waitFor({ timeout: 10_000 });
    for (const by of ['model', 'day']) {
      const answered = page.waitForResponse((r) => r.url().includes('/api/admin/usage') && r.url().includes(`group_by=${by}`));
      await usage.getByLabel('Group by').selectOption(by);
      await usage.getByRole('button', { name: 'Show usage' }).click();
      assert.equal((await answered).status(), 200);
    }
    // By day, every day of the range has a row (the members' answers of today included).
    const days = usage.getByRole('table').locator('tbody tr');
    await until(async () => (await days.count()) >= 28, { message: 'a row for each day' });
    await usage.getByRole('img', { name: /^Bar chart/ }).waitFor();

    // ---- axe, light and dark; every control named -----------------------------------------
    const found = [...(await audit(page, 'admin light'))];
    await page.emulateMedia({ colorScheme: 'dark' });
    found.push(...(await audit(page, 'admin dark')));
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(await unnamedControls(page), [], 'controls without an accessible name');

    // ---- delete the member through the dialog ------------------------------------------------
    await row.getByRole('button', { name: `Delete ${member}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete user?' });
    await dialog.waitFor();
    found.push(...(await audit(page, 'admin delete dialog')));
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await users.getByText('No user matches.').waitFor({ timeout: 10_000 });
    assert.equal((await callApi(url, 'POST', '/api/auth/login', { body: { email: member, password: memberPassword } })).status, 401);

    // The audit log as it is now (the page was opened before this test's own actions were
    // logged): the limits set and the member deleted are there.
    await page.reload();
    const auditLog = page.getByRole('region', { name: 'Audit log' });
    const entries = auditLog.locator('tbody tr');
    await until(async () => (await entries.count()) > 0, { timeout: 10_000, message: 'audit entries' });
    const logged = await auditLog.innerText();
    assert.ok(logged.includes('user.update') && logged.includes('user.delete'), `this test's actions are logged:\n${logged}`);
    const more = auditLog.getByRole('button', { name: 'Load more entries' });
    if (await more.count()) {
      const shown = await entries.count();
      await more.click();
      await until(async () => (await entries.count()) > shown, { message: 'more audit entries' });
    }
    found.push(...(await audit(page, 'admin audit log')));

    assert.equal(found.length, 0, `axe violations:\n${found.join('\n')}`);
    assert.deepEqual(problems.filter(expected), [], 'no page errors, console errors or CSP violations');
  } finally {
    await browser.close();
  }
});

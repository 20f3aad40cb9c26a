// Accessibility in real Chromium: axe-core (WCAG 2.0/2.1 A+AA and best practices) must report
// zero violations on the sign-in and register forms, a chat with a streamed answer (code block
// included), the sidebar with several chats, the parameters panel, the regenerate options, the
// feedback form and the delete dialog, in light and dark colour schemes. Then a keyboard-only
// pass: focus order, visible focus, accessible names, and sending without a mouse.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { audit, fakeUpstream, launch, register, shots, unnamedControls, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)
const skip = !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set';

/** What the fake model answers: Markdown with a highlighted code block, a list and a table. */
const REPLY = [
  'Here is a small example in Python:',
  '',
  '```python',
  'def greet(name: str) -> str:',
  '    # Say hello politely.',
  '    return f"Hello, {name}!"  # 42',
  '',
  'print(", ".join(greet(person) for person in ["Ada", "Grace", "Barbara", "Frances", "Katherine", "Margaret"]))',
  '```',
  '',
  'Call it with `greet("world")`. Some **bold** text, a [link](https://example.org) and a list:',
  '',
  '- first item',
  '- second item',
  '',
  '| Name | Value |',
  '| ---- | ----- |',
  '| seed | 7 |',
].join('\n');

let browser;

const { behave } = upstream ? fakeUpstream(upstream) : {};

before(async () => {
  if (skip) return;
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** Runs `run(page)` on a fresh page (in `scheme`) while the fake model answers REPLY. */
async function withPage(scheme, run) {
  await behave({ reply: REPLY });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.emulateMedia({ colorScheme: scheme });
  try {
    return await run(page);
  } finally {
    await page.close();
    await behave({});
  }
}

/** Sends a message in the open chat and waits until its answer (code highlighted) is done. */
async function ask(page, composer, text) {
  const answers = page.locator('article.message.assistant');
  const before = await answers.count();
  await composer.fill(text);
  await composer.press('Enter');
  await answers.nth(before).locator('.code-block code.hljs').waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => !document.querySelector('article.message[aria-busy="true"]'), null, {
    timeout: 15_000,
  });
}

/** Chromium's computed role and accessible name of the focused element. */
async function focusedAX(cdp) {
  const { result } = await cdp.send('Runtime.evaluate', { expression: 'document.activeElement' });
  const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { objectId: result.objectId, fetchRelatives: false });
  const node = nodes.find((n) => !n.ignored) ?? nodes[0];
  return { role: node?.role?.value, name: String(node?.name?.value ?? '').trim() };
}

/** Walks every state of the app in one colour scheme; returns all violations found. */
async function auditAll(page, scheme) {
  const problems = watchProblems(page);
  const found = [];
  // Sign-in, register, and register with field errors (empty submit: the server says why).
  await page.goto(url);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  found.push(...(await audit(page, `${scheme} sign-in`)));
  await page.getByRole('button', { name: 'Create one' }).click();
  await page.getByLabel('Username').waitFor();
  found.push(...(await audit(page, `${scheme} register`)));
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('[role="alert"]').waitFor({ timeout: 5_000 });
  found.push(...(await audit(page, `${scheme} register errors`)));

  // A chat with a streamed, highlighted answer; then two more chats for the sidebar.
  const composer = await register(page, url, `a11y_${scheme}`);
  found.push(...(await audit(page, `${scheme} new chat`)));
  await ask(page, composer, 'Show me a Python greeting function');
  await page.screenshot({ path: `${shots}a11y-chat-${scheme}.png` });
  found.push(...(await audit(page, `${scheme} chat`)));
  for (const prompt of ['Second conversation about code', 'Third conversation about tables']) {
    await page.getByRole('button', { name: 'New chat' }).click();
    await ask(page, composer, prompt);
  }
  await page.locator('.chat-list .chat-item').nth(2).waitFor({ timeout: 10_000 });
  found.push(...(await audit(page, `${scheme} sidebar`)));

  // Parameters panel.
  await page.getByRole('button', { name: 'Parameters' }).click();
  await page.getByRole('heading', { name: 'Parameters' }).waitFor();
  found.push(...(await audit(page, `${scheme} parameters`)));
  await page.getByRole('button', { name: 'Close parameters' }).click();

  // Regenerate options popover, then a second version (the version switcher shows).
  const answer = page.locator('article.message.assistant').last();
  await answer.getByRole('button', { name: 'Regenerate with options' }).click();
  const popover = page.getByRole('form', { name: 'Regenerate with options' });
  await popover.getByLabel('Temperature').fill('0.5');
  found.push(...(await audit(page, `${scheme} regenerate options`)));
  await popover.getByRole('button', { name: 'Regenerate', exact: true }).click();
  await answer.getByText('2/2').waitFor({ timeout: 15_000 });
  await answer.locator('.code-block code.hljs').waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => !document.querySelector('article.message[aria-busy="true"]'));
  found.push(...(await audit(page, `${scheme} versions`)));

  // Feedback form after a thumbs-down.
  await answer.getByRole('button', { name: 'Bad answer' }).click();
  await page.getByLabel('What was wrong? (optional)').waitFor();
  found.push(...(await audit(page, `${scheme} feedback`)));
  await page.getByRole('button', { name: 'Skip' }).click();

  // Delete confirmation dialog.
  await page.locator('.chat-list .chat-row').first().hover();
  await page.locator('.chat-list .chat-row').first().getByRole('button', { name: /^Delete / }).click();
  await page.getByRole('dialog', { name: 'Delete chat?' }).waitFor();
  found.push(...(await audit(page, `${scheme} delete dialog`)));
  await page.getByRole('button', { name: 'Cancel' }).click();
  // The empty register submit is answered 422 on purpose.
  return { found, problems: problems.filter((p) => !/status of 422/.test(p)) };
}

for (const scheme of /** @type {const} */ (['light', 'dark'])) {
  test(`axe: no violations, ${scheme} colour scheme`, { skip }, async () => {
    const { found, problems } = await withPage(scheme, (page) => auditAll(page, scheme));
    assert.equal(found.length, 0, `axe violations:\n${found.join('\n')}`);
    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  });
}

test('keyboard only: focus order, visible focus, names, send with Enter', { skip }, (t) =>
  withPage('light', async (page) => {
    const problems = watchProblems(page);
    const composer = await register(page, url, 'a11y_keys');
    await ask(page, composer, 'First keyboard question');

    // The composer: typing, Tab reaches Send, Enter on it sends.
    await composer.focus();
    await page.keyboard.type('Sent from the keyboard');
    await page.keyboard.press('Tab');
    const focused = page.locator(':focus');
    assert.equal(await focused.getAttribute('type'), 'submit');
    assert.equal((await focused.innerText()).trim(), 'Send');
    const answers = page.locator('article.message.assistant');
    await behave({ reply: REPLY, chunk_delay_ms: 25 });
    await page.keyboard.press('Enter');
    // Send gives way to Stop while the answer streams: the focus follows instead of dropping
    // to the page body.
    await page.waitForFunction(() => document.activeElement?.textContent?.trim() === 'Stop', null, { timeout: 5_000 });
    await answers.nth(1).locator('.code-block code.hljs').waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => !document.querySelector('article.message[aria-busy="true"]'), null, { timeout: 15_000 });
    await behave({ reply: REPLY });
    assert.equal(await page.locator('article.message.user').nth(1).innerText(), 'Sent from the keyboard');
    // After the answer the focus is back in the composer.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'composer-input');

    // Tab through the whole page from the top: every stop has a name, a visible focus ring,
    // a size, and is not inside an aria-hidden subtree; the order follows the layout.
    await page.reload();
    await answers.nth(1).locator('.code-block code.hljs').waitFor({ timeout: 10_000 });
    const stops = [];
    const cdp = await page.context().newCDPSession(page);
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      const stop = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        const box = el.getBoundingClientRect();
        return {
          key: el.id || `${el.tagName}:${el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 30)}`,
          ring: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none',
          sized: box.width > 0 && box.height > 0,
          hidden: el.closest('[aria-hidden="true"], [inert]') !== null,
          region: el.closest('nav') ? 'sidebar' : el.closest('.chat-header') ? 'header' : el.closest('.composer') ? 'composer' : el.closest('.transcript') ? 'transcript' : 'other',
        };
      });
      if (!stop) break;
      if (stops.length && stop.key === stops[0].key) break; // wrapped around
      stops.push({ ...stop, ...(await focusedAX(cdp)) });
    }
    await cdp.detach();
    t.diagnostic(`tab order: ${stops.map((s) => `${s.role} "${s.name}"`).join(', ')}`);
    assert.ok(stops.length > 10, `tab stops: ${stops.length}`);
    const bad = stops.filter((s) => !s.name || !s.ring || !s.sized || s.hidden);
    assert.deepEqual(bad, [], 'every tab stop is named, visibly focused, sized and not hidden');
    const regions = stops.map((s) => s.region).filter((r, i, all) => r !== all[i - 1]);
    assert.deepEqual(regions, ['sidebar', 'header', 'transcript', 'composer'], 'focus order follows the layout');
    assert.deepEqual(
      stops.filter((s) => s.region === 'composer').map((s) => s.name),
      ['Message'],
      'composer: the message box (Send is disabled while it is empty)',
    );

    // The parameters toggle moves the focus into the panel (it comes after the chat in the
    // tab order).
    const toggle = page.getByRole('button', { name: 'Parameters' });
    await toggle.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Parameters' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'param-model');

    // Every operable control (parameters panel and regenerate popover open) has a name.
    await answers.last().getByRole('button', { name: 'Regenerate with options' }).click();
    await page.getByRole('form', { name: 'Regenerate with options' }).getByLabel('Temperature').waitFor();
    assert.deepEqual(await unnamedControls(page), [], 'controls without an accessible name');

    // Esc closes the popover and gives the focus back to its toggle.
    await page.keyboard.press('Escape');
    assert.equal(await page.locator(':focus').getAttribute('aria-label'), 'Regenerate with options');

    // Esc in the parameters panel closes it and gives the focus back to its toggle.
    await page.locator('#param-model').focus();
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Parameters' }).waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Parameters');

    // The delete dialog takes the focus (on Cancel) and Esc returns it to the Delete button.
    const row = page.locator('.chat-list .chat-row').first();
    await row.getByRole('button', { name: /^Delete / }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Delete chat?' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.textContent === 'Cancel');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.match((await page.locator(':focus').getAttribute('aria-label')) ?? '', /^Delete /);
    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  }),
);

// End-to-end in real Chromium: structured output. A JSON Schema set in the chat's parameters panel
// (invalid JSON refused inline, a schema the server rejects shown at the field) reaches the
// upstream as `response_format`; an answer that follows it shows "Valid JSON" and a tree of its
// values, one that does not shows its errors; "Copy as JSON" works from the keyboard; axe finds
// nothing (panel and answers, light and dark); the verdicts survive a reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audit, fakeUpstream, launch, register, shots, tabTo, unnamedControls, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)

const { behave, lastRequest } = upstream ? fakeUpstream(upstream) : {};

const NAME = 'person';
const SCHEMA = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' } },
  required: ['name', 'age'],
  additionalProperties: false,
};

/** Sends `text` and waits until its answer (a new one) has ended; returns that answer. */
async function ask(page, composer, text) {
  const answers = page.locator('article.message.assistant');
  const before = await answers.count();
  await composer.fill(text);
  await composer.press('Enter');
  await answers.nth(before).waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => !document.querySelector('article.message[aria-busy="true"]'), null, { timeout: 15_000 });
  return answers.nth(before);
}

test('structured output: JSON Schema in the panel, verdict, tree, errors, copy', { skip: !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set' }, async () => {
  const browser = await launch();
  try {
    await behave({});
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    const page = await context.newPage();
    const problems = watchProblems(page);
    const composer = await register(page, url, 'e2e_structured');
    // A chat to set parameters on (a plain answer: no response format yet, so no verdict).
    const plain = await ask(page, composer, 'Hello there');
    await plain.getByText(/Demo reply to: Hello there/).waitFor();
    assert.equal(await plain.getByText('Valid JSON').count(), 0);

    // The panel: JSON Schema, a name, Strict.
    await page.getByRole('button', { name: 'Parameters' }).click();
    const panel = page.locator('#params-panel');
    await panel.getByLabel('Response format').selectOption('json_schema');
    await panel.getByLabel('Schema name').fill(NAME);
    await panel.getByLabel('Strict').check();
    const schemaBox = panel.getByLabel('JSON Schema', { exact: true });

    // Invalid JSON: an inline error tied to the textarea, nothing saved.
    await schemaBox.fill('{"type": ');
    assert.equal(await schemaBox.getAttribute('aria-invalid'), 'true');
    const describedBy = (await schemaBox.getAttribute('aria-describedby')) ?? '';
    assert.ok(describedBy.split(' ').length > 0 && describedBy !== '', 'the textarea is described by its error');
    const errorText = await page.locator(`#${describedBy.split(' ')[0]}`).innerText();
    assert.match(errorText, /Not valid JSON/);
    await page.waitForTimeout(800); // past the panel's save debounce
    assert.equal(await panel.getByRole('status').innerText(), '', 'nothing was saved');
    const invalidViolations = await audit(page, 'structured parameters, invalid schema');

    // Valid JSON but not a JSON Schema: the server's 422 shows at the field.
    await schemaBox.fill('{"type": 12}');
    await panel.locator('#param-response_format-server-error').waitFor({ timeout: 5_000 });
    assert.match(await panel.locator('#param-response_format-server-error').innerText(), /json_schema\.schema/);
    assert.equal(await schemaBox.getAttribute('aria-invalid'), 'true');

    // The real schema: saved.
    await schemaBox.fill(JSON.stringify(SCHEMA, null, 2));
    assert.equal(await schemaBox.getAttribute('aria-invalid'), 'false');
    await panel.getByText('Saved', { exact: true }).waitFor({ timeout: 5_000 });
    await page.screenshot({ path: `${shots}structured-panel.png` });
    const panelViolations = [...invalidViolations, ...(await audit(page, 'structured parameters'))];
    assert.deepEqual(await unnamedControls(page), [], 'panel controls without an accessible name');
    await page.getByRole('button', { name: 'Close parameters' }).click();

    // An answer that follows the schema: the upstream was asked for it; "Valid JSON" and the tree.
    await behave({ reply: '{"name": "Ada", "age": 36}' });
    const good = await ask(page, composer, 'Who wrote the first program?');
    const sent = await lastRequest();
    assert.deepEqual(sent.response_format, { type: 'json_schema', json_schema: { name: NAME, schema: SCHEMA, strict: true } });
    await good.getByText('Valid JSON', { exact: true }).waitFor({ timeout: 5_000 });
    const tree = good.getByRole('group', { name: 'Answer as JSON' });
    await tree.locator('.json-key', { hasText: 'name' }).waitFor();
    assert.equal(await tree.locator('.json-string').innerText(), '"Ada"');
    assert.equal(await tree.locator('.json-number').innerText(), '36');
    assert.equal(await good.getByRole('list', { name: 'Schema errors' }).count(), 0);

    // One that does not: "2 errors", and where.
    await behave({ reply: '{"name": 3}' });
    const bad = await ask(page, composer, 'And the second?');
    await bad.getByText('2 errors', { exact: true }).waitFor({ timeout: 5_000 });
    const errors = await bad.getByRole('list', { name: 'Schema errors' }).locator('li code').allInnerTexts();
    assert.deepEqual([...errors].sort(), ['/', '/name']);
    await bad.getByRole('group', { name: 'Answer as JSON' }).locator('.json-number', { hasText: '3' }).waitFor();
    await page.screenshot({ path: `${shots}structured-answers.png` });
    assert.deepEqual(await unnamedControls(page), [], 'answer controls without an accessible name');

    // "Copy as JSON" by keyboard: from the question's last button, Tab reaches it.
    await page.locator('article.message.user').last().getByRole('button').last().focus();
    await tabTo(
      page,
      () => {
        const el = document.activeElement;
        return el?.textContent?.trim() === 'Copy as JSON' && el.closest('article.message.assistant') === [...document.querySelectorAll('article.message.assistant')].pop();
      },
      { max: 5, what: '"Copy as JSON"' },
    );
    await page.keyboard.press('Enter');
    await bad.getByRole('status').filter({ hasText: 'Copied' }).waitFor({ timeout: 5_000 });
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), JSON.stringify({ name: 3 }, null, 2));

    const violations = [...panelViolations, ...(await audit(page, 'structured answer'))];
    await page.emulateMedia({ colorScheme: 'dark' });
    violations.push(...(await audit(page, 'structured answer, dark')));
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(violations.length, 0, `axe violations:\n${violations.join('\n')}`);

    // The verdicts come with the messages after a reload.
    await page.reload();
    const answers = page.locator('article.message.assistant');
    await answers.last().getByText('2 errors', { exact: true }).waitFor({ timeout: 10_000 });
    await answers.nth(1).getByText('Valid JSON', { exact: true }).waitFor({ timeout: 10_000 });
    // The 422 above is expected (the console reports the failed request).
    assert.deepEqual(
      problems.filter((p) => !/status of 422/.test(p)),
      [],
      'no page errors, console errors or CSP violations',
    );
  } finally {
    await behave({});
    await browser.close();
  }
});

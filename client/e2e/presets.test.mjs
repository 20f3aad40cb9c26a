// End-to-end in real Chromium: presets. Parameters set in a chat are saved as a named preset
// (a taken name is refused at the field); a new chat created with that preset sends its
// temperature to the upstream; the picker applies it to another chat; Settings renames and
// deletes it (gone from the picker too). axe finds nothing on the panel with the picker and the
// save form, nor on the Settings presets section; no page errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audit, fakeUpstream, launch, register, shots, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM; // http://127.0.0.1:PORT (fake upstream)

const { behave, lastRequest } = upstream ? fakeUpstream(upstream) : {};

test('presets: save, start a chat with one, apply, rename, delete', { skip: !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set' }, async () => {
  const browser = await launch();
  try {
    await behave({});
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = watchProblems(page);
    const composer = await register(page, url, 'e2e_presets');
    const answers = page.locator('article.message.assistant');
    const panel = page.locator('#params-panel');
    const found = [];

    /** Sends `text` in the open chat and waits until its answer is done. */
    async function ask(text) {
      await composer.fill(text);
      await composer.press('Enter');
      await answers.last().getByText(`Demo reply to: ${text}`).waitFor({ timeout: 15_000 });
      await page.waitForFunction(() => !document.querySelector('article.message.assistant[aria-busy="true"]'));
    }

    /** The text of the option the panel's preset picker shows. */
    const pickerShows = () => panel.getByLabel('Preset', { exact: true }).evaluate((s) => s.selectedOptions[0]?.textContent?.trim());

    async function openPanel() {
      if (!(await panel.isVisible())) await page.getByRole('button', { name: 'Parameters' }).click();
      await panel.getByLabel('Preset', { exact: true }).waitFor();
    }

    // A first chat; its temperature set to 0.3 by hand. The picker says "Custom".
    await ask('First question');
    await openPanel();
    assert.equal(await pickerShows(), 'Custom');
    await panel.getByLabel('Temperature value', { exact: true }).fill('0.3');
    await panel.getByText('Saved', { exact: true }).waitFor({ timeout: 5_000 });

    // Save as preset.
    const name = `Precise ${Math.random().toString(36).slice(2, 8)}`;
    await panel.getByRole('button', { name: 'Save as preset…' }).click();
    const nameField = panel.getByLabel('Preset name');
    await nameField.fill(name);
    // Admins (the first account of a fresh database) may share it; nobody else sees the box.
    const isAdmin = (await page.getByRole('link', { name: 'Admin' }).count()) > 0;
    assert.equal(await panel.getByLabel('Shared with everyone').count(), isAdmin ? 1 : 0, 'the shared box is for admins only');
    found.push(...(await audit(page, 'parameters with preset picker and save form')));
    await panel.getByRole('button', { name: 'Save', exact: true }).click();
    await panel.getByText(`Preset saved: ${name}`, { exact: true }).waitFor({ timeout: 5_000 });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Save as preset…', 'the focus is back on the button');

    // The same name again (any case): refused at the field.
    await panel.getByRole('button', { name: 'Save as preset…' }).click();
    await nameField.fill(name.toUpperCase());
    await panel.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForFunction(() => document.querySelector('#preset-name')?.getAttribute('aria-invalid') === 'true', null, { timeout: 5_000 });
    const describedBy = await nameField.getAttribute('aria-describedby');
    assert.ok(describedBy && (await page.locator(`#${describedBy}`).innerText()).trim().length > 0, 'the error is tied to the field');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'preset-name', 'the focus is on the field to fix');
    found.push(...(await audit(page, 'save as preset, name taken')));
    await panel.getByRole('button', { name: 'Cancel' }).click();
    await page.screenshot({ path: `${shots}presets-panel.png` });
    await page.getByRole('button', { name: 'Close parameters' }).click();

    // A new chat created with the preset: the upstream receives its temperature.
    await page.getByRole('button', { name: 'New chat' }).click();
    const newPreset = page.getByLabel('Preset', { exact: true });
    await newPreset.waitFor();
    await newPreset.selectOption({ label: name });
    found.push(...(await audit(page, 'new chat with preset picker')));
    await ask('With the preset');
    assert.equal((await lastRequest()).temperature, 0.3, 'the new chat used the preset');
    await openPanel();
    assert.equal(await pickerShows(), name, "the picker shows the chat's preset");
    await page.getByRole('button', { name: 'Close parameters' }).click();

    // Another chat without a preset: the picker applies it.
    await page.getByRole('button', { name: 'New chat' }).click();
    await ask('No preset yet');
    assert.notEqual((await lastRequest()).temperature, 0.3);
    await openPanel();
    assert.equal(await pickerShows(), 'Custom');
    await panel.getByLabel('Preset', { exact: true }).selectOption({ label: name });
    await panel.getByText('Saved', { exact: true }).waitFor({ timeout: 5_000 });
    assert.equal(await panel.getByLabel('Temperature value', { exact: true }).inputValue(), '0.3', "the panel shows the preset's parameters");
    assert.equal(await pickerShows(), name);
    await ask('Now with the preset');
    assert.equal((await lastRequest()).temperature, 0.3, 'the applied preset reaches the upstream');

    // Settings → Presets: rename, then delete (with confirmation).
    await page.getByRole('link', { name: 'Settings' }).click();
    const section = page.locator('section[aria-labelledby="presets-title"]');
    await section.getByText(name, { exact: true }).waitFor({ timeout: 5_000 });
    await section.getByText('temperature 0.3').first().waitFor();
    found.push(...(await audit(page, 'settings presets')));
    const renamed = `${name} renamed`;
    await section.getByRole('button', { name: `Rename ${name}` }).click();
    await section.getByLabel('New name').fill(renamed);
    await section.getByLabel('New name').press('Enter');
    await section.getByText(renamed, { exact: true }).waitFor({ timeout: 5_000 });
    await section.getByRole('button', { name: `Delete ${renamed}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete preset?' });
    await dialog.waitFor();
    found.push(...(await audit(page, 'delete preset dialog')));
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await section.getByText(`Deleted “${renamed}”.`).waitFor({ timeout: 5_000 });
    assert.equal(await section.getByText(renamed, { exact: true }).count(), 0, 'gone from the list');
    await page.screenshot({ path: `${shots}presets-settings.png` });

    // Gone from the picker; the chat keeps its parameters (shown as Custom).
    await page.locator('.chat-list .chat-item').first().click();
    await openPanel();
    const options = await panel.getByLabel('Preset', { exact: true }).locator('option').allInnerTexts();
    assert.ok(!options.some((o) => o.startsWith(name)), `the deleted preset is not offered: ${options.join(', ')}`);
    assert.equal(await pickerShows(), 'Custom');

    assert.equal(found.length, 0, `axe violations:\n${found.join('\n')}`);
    assert.deepEqual(
      problems.filter((p) => !/status of 409/.test(p)),
      [],
      'no page errors, console errors or CSP violations (the taken name is a 409 on purpose)',
    );
  } finally {
    await behave({});
    await browser.close();
  }
});

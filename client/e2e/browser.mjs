// Shared by the end-to-end tests: Debian's Chromium, page-problem capture, and sign-up.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const shots = new URL('../screenshots/', import.meta.url).pathname;

export async function launch() {
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Page errors and console errors (CSP violations included) collected while the test runs. */
export function watchProblems(page) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The silent session check on first load answers 401 (no refresh cookie yet): expected.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return problems;
}

/** Opens the app, registers a fresh user through the form, and returns the composer. */
export async function register(page, url, prefix, { screenshot } = {}) {
  await page.goto(url);
  await page.getByRole('button', { name: 'Create one' }).click();
  const name = `${prefix}_${Date.now()}`;
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Email').fill(`${name}@example.org`);
  await page.getByLabel('Password').fill('correct horse battery');
  if (screenshot) await page.screenshot({ path: `${shots}${screenshot}` });
  await page.getByRole('button', { name: 'Create account' }).click();
  const composer = page.getByPlaceholder(/send a message/i);
  await composer.waitFor({ timeout: 10_000 });
  return composer;
}

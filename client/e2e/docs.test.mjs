// The interactive API reference at /api/docs in real Chromium: Swagger UI, bundled by the
// client build, renders the server's own OpenAPI document under the app's strict CSP with no
// console error, no CSP violation and no request leaving the deployment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shots, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;

test('the API reference renders every route offline under the strict CSP', { skip: !url && 'CONFAB_E2E_URL not set' }, async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    const elsewhere = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(url) && !request.url().startsWith('data:')) elsewhere.push(request.url());
    });
    const response = await page.goto(`${url}/api/docs`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    // Every documented operation is listed (the document's own count).
    const doc = await (await fetch(`${url}/api/openapi.json`)).json();
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    const blocks = page.locator('.opblock');
    await page.waitForFunction((n) => document.querySelectorAll('.opblock').length >= n, operations, { timeout: 15_000 });
    assert.equal(await blocks.count(), operations);
    // An operation opens with its parameters and responses.
    const presets = page.locator('.opblock', { hasText: '/api/presets' }).first();
    await presets.locator('.opblock-summary-control').click();
    await presets.getByText('Responses', { exact: true }).waitFor({ timeout: 5_000 });
    await page.screenshot({ path: `${shots}api-docs.png` });
    assert.deepEqual(elsewhere, [], 'no request leaves the deployment');
    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } finally {
    await browser.close();
  }
});

// End-to-end in real Chromium, for what the server refuses or cannot do:
// - too many answers at once: a clear message, and the text goes back into the composer;
// - the database goes away while an answer streams: the whole answer stays on screen with a
//   "not saved yet" warning (never "complete"), which clears once the server has saved it.
// The second test runs its own Confab process whose MongoDB connection passes through a proxy
// the test can cut.
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audit, fakeUpstream, launch, registerUser, shots, until, watchProblems } from './browser.mjs';

const url = process.env.CONFAB_E2E_URL;
const upstream = process.env.CONFAB_E2E_UPSTREAM;
const mongo = process.env.CONFAB_E2E_MONGODB; // host:port of the MongoDB-protocol server
const skip = !(url && upstream) && 'CONFAB_E2E_URL / CONFAB_E2E_UPSTREAM not set';
const { behave } = fakeUpstream(upstream ?? '');
const repo = new URL('../../', import.meta.url).pathname;

async function api(base, method, path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response;
}

test('too many answers at once: a clear message, and the text is kept', { skip }, async () => {
  const browser = await launch();
  const controller = new AbortController();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    const { composer, email, password } = await registerUser(page, url, 'e2e_fair');
    // Three slow answers started elsewhere (another tab, a script) by the same user.
    await behave({ chunk_delay_ms: 100, reply_tokens: 300 });
    const login = await api(url, 'POST', '/api/auth/login', null, { email, password });
    const { access_token: token } = await login.json();
    const chat = await (await api(url, 'POST', '/api/chats', token, {})).json();
    const running = [];
    for (const i of [1, 2, 3]) {
      const response = await fetch(`${url}/api/chats/${chat.id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ content: `background ${i}` }),
        signal: controller.signal,
      });
      assert.equal(response.status, 200);
      const reader = response.body.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      const id = /"id":"([0-9a-f]{24})"/.exec(first.slice(first.indexOf('assistant_message')))?.[1];
      running.push(id);
      reader.read().catch(() => {});
    }
    await composer.fill('A fourth question');
    await composer.press('Enter');
    const alert = page.getByRole('alert').filter({ hasText: /too many answers are being generated/i });
    await alert.waitFor({ timeout: 10_000 });
    assert.equal(await composer.inputValue(), 'A fourth question', 'the text is back in the composer');
    await page.screenshot({ path: `${shots}too-many-answers.png` });
    const violations = await audit(page, 'too many answers');
    assert.equal(violations.length, 0, violations.join('\n'));
    // Stopping one makes room: the same text sends.
    for (const id of running.filter(Boolean)) {
      await api(url, 'POST', `/api/chats/${chat.id}/messages/${id}/stop`, token);
    }
    await behave({});
    await composer.press('Enter');
    await page.getByText(/Demo reply to: A fourth question/).waitFor({ timeout: 15_000 });
    assert.deepEqual(problems.filter((p) => !/429/.test(p)), []);
  } finally {
    controller.abort();
    await behave({});
    await browser.close();
  }
});

/** A TCP proxy to `target` ("host:port") that can be cut and restored. */
async function cuttableProxy(target) {
  const [host, port] = target.split(':');
  const open = new Set();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return client.destroy();
    const server = connect(Number(port), host);
    open.add(client).add(server);
    const close = () => {
      client.destroy();
      server.destroy();
      open.delete(client);
      open.delete(server);
    };
    client.on('error', close).on('close', close);
    server.on('error', close).on('close', close);
    client.pipe(server).pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    cut() {
      cut = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    restore() {
      cut = false;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test(
  'an answer that ends while the database is down stays on screen, marked not saved, until it is',
  { skip: skip || (!mongo && 'CONFAB_E2E_MONGODB not set') },
  async () => {
    const proxy = await cuttableProxy(mongo);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = spawn(`${repo}target/debug/confab`, [], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOST: '127.0.0.1',
        CLIENT_DIR: `${repo}client/dist`,
        MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`,
        MONGODB_DATABASE: `e2e_outage_${port}`,
        MONGODB_TIMEOUT_MS: '1500',
        JWT_SECRET: `e2e-outage-secret-${Date.now()}-0123456789abcdef`,
        OPENAI_API_BASE_URL: `${upstream}/v1`,
        UPSTREAM_KIND: 'vllm',
        AVAILABLE_MODELS: 'confab-demo',
        RUST_LOG: 'warn',
      },
      stdio: 'ignore',
    });
    const browser = await launch();
    try {
      await until(() => fetch(`${base}/api/health`).then((r) => r.ok), { timeout: 30_000, message: 'the server' });
      const page = await browser.newPage();
      const { composer } = await registerUser(page, base, 'e2e_outage');
      await behave({ chunk_delay_ms: 40, reply_tokens: 80 });
      await composer.fill('Tell me a long story');
      await composer.press('Enter');
      const answer = page.locator('article.message.assistant').last();
      await answer.getByText(/Demo reply to: Tell me a long story/).waitFor({ timeout: 15_000 });

      proxy.cut();
      const warning = answer.getByRole('alert').filter({ hasText: /not saved yet/i });
      await warning.waitFor({ timeout: 30_000 });
      const shown = await answer.locator('.markdown').innerText();
      assert.ok(shown.split(/\s+/).length >= 70, `the whole answer is on screen: ${shown}`);
      assert.notEqual(await answer.getAttribute('aria-busy'), 'true', 'no longer streaming');
      assert.equal(await page.getByText(/The answer failed/).count(), 0, 'not shown as a failure');
      await page.screenshot({ path: `${shots}not-saved.png` });
      const violations = await audit(page, 'not saved');
      assert.equal(violations.length, 0, violations.join('\n'));

      // The database comes back: the server saves the answer and says so; the warning goes.
      proxy.restore();
      await warning.waitFor({ state: 'detached', timeout: 60_000 });
      await page.reload();
      await page.getByText(/Demo reply to: Tell me a long story/).waitFor({ timeout: 15_000 });
      const reloaded = await page.locator('article.message.assistant').last().locator('.markdown').innerText();
      assert.equal(reloaded, shown, 'the saved answer is the one that was shown');
    } finally {
      await behave({});
      await browser.close();
      server.kill('SIGTERM');
      await proxy.close().catch(() => {});
    }
  },
);

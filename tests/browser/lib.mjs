// Helpers of the browser tests: Chromium through playwright-core (from ui/node_modules), the
// API with a bearer token for set-up, screenshots.
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const require = createRequire(new URL('../../ui/package.json', import.meta.url));
const { chromium } = require('playwright-core');
export const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const BASE = (process.env.APG_UI_URL ?? 'http://127.0.0.1:5055').replace(/\/$/, '');
export const API = (process.env.APG_API_URL ?? BASE).replace(/\/$/, '');
export const ADMIN_PASSWORD = process.env.APG_ADMIN_PASSWORD ?? 'adminpass123456';
export const SHOTS = resolve(process.env.APG_SCREENSHOTS ?? 'target/ui-screenshots');
mkdirSync(SHOTS, { recursive: true });

let browser;
let profile;
export async function launch() {
  // A fresh profile every run: Playwright gives Chromium its own new temporary --user-data-dir
  // (it refuses the flag among args) and deletes it at close.
  profile = null;
  browser = await chromium.launch({
    executablePath: process.env.APG_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return browser;
}
export async function close() {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
}

export async function newPage({ dark = false } = {}) {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    colorScheme: dark ? 'dark' : 'light',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => console.error('  [page error]', e.message));
  return page;
}

export async function uiLogin(page, username, password) {
  await page.goto(`${BASE}/workflows`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('current-user').waitFor();
}

export async function token(username = 'admin', password = ADMIN_PASSWORD) {
  const r = await fetch(`${API}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await r.json();
  if (!body.success) throw new Error(`login ${username}: ${JSON.stringify(body)}`);
  return body.data.access_token;
}

export async function api(tok, path, { method, body } = {}) {
  const r = await fetch(`${API}/api/v1/${path}`, {
    method: method ?? (body ? 'POST' : 'GET'),
    headers: { authorization: `Bearer ${tok}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json();
  if (!j.success) throw new Error(`${method ?? 'GET'} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j.data;
}

export async function shot(page, name) {
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  console.log(`  screenshot: ${file}`);
}

/** Serious and critical axe-core violations on the page as it stands. */
export async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Client-side navigation (the router's own), so an in-memory session survives it. */
export async function go(page, path) {
  await page.evaluate((p) => {
    window.history.pushState({}, '', p);
    window.dispatchEvent(new PopStateEvent('popstate'));
  }, path);
}

// The UI's browser tests, each its own test, in order (later ones use what earlier ones made).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, API, BASE, api, axe, close, go, launch, newPage, shot, token, uiLogin } from './lib.mjs';

let page;
let admin;
let workflowId;
let workflowName;
const runs = [];

before(async () => {
  await launch();
  admin = await token();
  page = await newPage();
});
after(close);

const node = (id) => page.getByTestId(`node-${id}`);

async function dropFromPalette(kind, x, y) {
  const canvas = page.getByTestId('canvas');
  const box = await canvas.boundingBox();
  await page.getByTestId(`palette-${kind}`).dragTo(canvas, { targetPosition: { x, y } });
  await page.waitForTimeout(50);
  assert.ok(box);
}

async function connect(from, to) {
  await node(from).locator('.react-flow__handle.source').dragTo(node(to).locator('.react-flow__handle.target'));
}

test('log in', async () => {
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('heading', { name: 'Workflows' }).waitFor();
  assert.equal(await page.getByTestId('current-user').textContent(), 'admin');
});

test('build a three-component workflow by dragging from the palette, configure it, see a validation error come and go, save', async () => {
  await go(page, `/workflows/new/design`);
  await page.getByTestId('palette-start').waitFor();
  workflowName = `Browser flow ${Date.now()}`;
  await page.getByLabel('Workflow name').fill(workflowName);
  await dropFromPalette('start', 110, 260);
  await dropFromPalette('delay', 390, 260);
  await dropFromPalette('end', 660, 260);
  await node('start').waitFor();
  await node('delay_1').waitFor();
  await node('end').waitFor();
  await connect('start', 'delay_1');
  await connect('delay_1', 'end');
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__edge').length === 2);
  // A declared parameter, used by the end's output through the generated form.
  await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
  await page.getByRole('button', { name: '+ Add parameter' }).click();
  await page.getByLabel('Parameter 1 name').fill('who');
  await node('end').click();
  const out = page.getByRole('textbox', { name: 'output' });
  await out.click();
  await page.keyboard.type('{{ who }} waited');
  // The delay lacks its required seconds: the error shows on the node and on its field.
  await node('delay_1').click();
  await page.getByTestId('node-error-delay_1').waitFor();
  await page.getByText(/seconds/i).first().waitFor();
  await page.locator('#f-seconds').fill('1');
  await page.getByTestId('node-error-delay_1').waitFor({ state: 'detached' });
  await page.getByTestId('validity').filter({ hasText: 'Valid' }).waitFor();
  // Auto-layout (L) and a look at the result.
  await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
  await page.keyboard.press('l');
  await page.waitForTimeout(700);
  await node('end').click();
  await shot(page, 'designer');
  await page.getByTestId('save').click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}\/design/);
  workflowId = page.url().match(/workflows\/([0-9a-f-]{36})/)[1];
  const w = await api(admin, `workflows/${workflowId}`);
  assert.equal(w.name, workflowName);
  assert.deepEqual(w.definition.components.map((c) => c.type), ['start', 'delay', 'end']);
  assert.equal(w.definition.components[1].config.seconds, 1);
  assert.equal(w.definition.connections.length, 2);
  assert.equal(w.definition.parameters[0].name, 'who');
});

test('run it with the parameter form and watch every node turn green live', async () => {
  await page.getByTestId('run').click();
  await page.getByLabel(/^who/).fill('Ada');
  await page.getByTestId('start-run').click();
  await page.waitForURL(/\/executions\//);
  runs.push(page.url().split('/').pop());
  await node('delay_1').waitFor();
  // Running first (the delay holds for a second), then completed, from the live feed.
  await page.waitForSelector('[data-testid="node-delay_1"][data-status="running"], [data-testid="node-delay_1"][data-status="completed"]');
  await shot(page, 'live-run');
  for (const id of ['start', 'delay_1', 'end']) {
    await page.waitForSelector(`[data-testid="node-${id}"][data-status="completed"]`, { timeout: 20_000 });
  }
  await page.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor();
});

test("open a node's output and logs", async () => {
  await node('end').click();
  const panel = page.getByTestId('exec-node-panel');
  await panel.getByRole('tab', { name: /output/ }).click();
  await panel.getByLabel('Output', { exact: true }).filter({ hasText: 'Ada waited' }).waitFor();
  await panel.getByRole('tab', { name: /logs/ }).click();
  await page.getByTestId('node-logs').filter({ hasText: "component 'end' completed" }).waitFor();
  await node('delay_1').click();
  await panel.getByRole('tab', { name: /input/ }).click();
  await panel.getByLabel('Input', { exact: true }).filter({ hasText: 'Ada' }).waitFor();
});

test('set a breakpoint, run, see it paused with its input, step, continue to the end', async () => {
  await go(page, `/workflows/${workflowId}/design`);
  // The breakpoint is on the start; each step runs one component and pauses before the next:
  // the delay (a durable wait pauses like any other component), then the end.
  await node('start').click();
  await page.getByTestId('toggle-breakpoint').click();
  await node('start').locator('.bp-dot').waitFor();
  await page.getByTestId('run').click();
  await page.getByLabel(/^who/).fill('Grace');
  await page.getByTestId('start-run').click();
  await page.waitForURL(/\/executions\//);
  runs.push(page.url().split('/').pop());
  await page.getByTestId('debugger').waitFor();
  await page.getByTestId('paused-at').filter({ hasText: 'start' }).waitFor();
  await page.getByLabel('Waiting input').filter({ hasText: 'Grace' }).waitFor();
  await page.waitForSelector('[data-testid="node-start"] .fnode.paused, [data-testid="node-start"].paused');
  await shot(page, 'debugger-paused');
  await page.getByTestId('step').click();
  await page.getByTestId('paused-at').filter({ hasText: 'delay_1' }).waitFor({ timeout: 20_000 });
  await page.getByTestId('step').click();
  await page.getByTestId('paused-at').filter({ hasText: 'end' }).waitFor({ timeout: 20_000 });
  await page.waitForSelector('[data-testid="node-delay_1"][data-status="completed"]');
  await page.getByTestId('continue').click();
  await page.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
  await page.waitForSelector('[data-testid="node-end"][data-status="completed"]');
});

test('undo and redo an edit', async () => {
  await go(page, `/workflows/${workflowId}/design`);
  await node('end').waitFor();
  await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
  const count = () => page.locator('.react-flow__node').count();
  assert.equal(await count(), 3);
  await page.getByTestId('palette-task').click();
  await node('task_1').waitFor();
  assert.equal(await count(), 4);
  await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
  await page.keyboard.press('Control+z');
  await node('task_1').waitFor({ state: 'detached' });
  assert.equal(await count(), 3);
  await page.keyboard.press('Control+Shift+z');
  await node('task_1').waitFor();
  assert.equal(await count(), 4);
  await page.getByRole('button', { name: 'Undo' }).click();
  await node('task_1').waitFor({ state: 'detached' });
});

test('export a workflow and import it back unchanged', async () => {
  await go(page, `/workflows`);
  await page.getByLabel('Search workflows').fill(workflowName);
  await page.getByTestId('workflow-row').first().waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Export ${workflowName}` }).click()]);
  const file = await download.path();
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  const before = await api(admin, `workflows/${workflowId}`);
  assert.deepEqual(doc.definition, before.definition);
  const wait = page.waitForURL((u) => /\/workflows\/[0-9a-f-]{36}\/design/.test(u.pathname) && !u.pathname.includes(workflowId));
  await page.getByTestId('import-file').setInputFiles(file);
  await wait;
  const imported = await api(admin, `workflows/${page.url().match(/workflows\/([0-9a-f-]{36})/)[1]}`);
  assert.notEqual(imported.id, workflowId);
  assert.ok(imported.name.startsWith(before.name), imported.name);
  assert.deepEqual(imported.definition, before.definition);
  assert.deepEqual(imported.tags, before.tags);
});

test('a viewer sees only the workflows shared with it and no edit controls', async () => {
  const username = `viewer${Date.now() % 100000}`;
  const password = 'viewer-password-123';
  const user = await api(admin, 'users', { body: { username, password, role: 'viewer' } });
  await api(admin, `workflows/${workflowId}/shares`, { method: 'PUT', body: { shares: [{ user_id: user.id, actions: ['read'] }] } });
  const vp = await newPage();
  try {
    await uiLogin(vp, username, password);
    await vp.getByTestId('workflow-row').first().waitFor();
    assert.equal(await vp.getByTestId('workflow-row').count(), 1);
    assert.match(await vp.getByTestId('workflow-row').textContent(), new RegExp(workflowName));
    assert.equal(await vp.getByRole('link', { name: '+ New workflow' }).count(), 0);
    assert.equal(await vp.getByRole('button', { name: /^Delete / }).count(), 0);
    assert.equal(await vp.getByRole('button', { name: 'Import JSON' }).count(), 0);
    await vp.getByRole('link', { name: workflowName }).click();
    await vp.getByTestId('node-delay_1').waitFor();
    assert.equal(await vp.getByTestId('save').count(), 0);
    assert.equal(await vp.getByTestId('run').count(), 0);
    assert.equal(await vp.getByLabel('Component palette').count(), 0);
    await vp.getByTestId('node-delay_1').click();
    assert.equal(await vp.locator('#f-seconds').isDisabled(), true);
  } finally {
    await vp.context().close();
  }
});

test('the dashboard shows charts with the runs just made', async () => {
  await go(page, `/dashboard`);
  await page.getByTestId('chart').first().waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=chart] canvas').length >= 2);
  const n = Number(await page.getByTestId('stat-runs').textContent());
  assert.ok(n >= runs.length, `${n} runs shown, ${runs.length} made`);
  await shot(page, 'dashboard');
});

test('a notification sent by a workflow run appears in the bell live, opens its execution and is marked read by keyboard', async () => {
  const title = `Report ready ${Date.now() % 100000}`;
  const w = await api(admin, 'workflows', {
    body: {
      name: `Notify ${Date.now()}`,
      definition: {
        components: [
          { id: 'start', type: 'start' },
          { id: 'notify', type: 'apg_notification', config: { channel: 'in_app', title, message: '{{ 1 + 2 }} rows', level: 'success' } },
          { id: 'end', type: 'end' },
        ],
        connections: [
          { source: 'start', target: 'notify' },
          { source: 'notify', target: 'end' },
        ],
      },
    },
  });
  await go(page, '/workflows');
  // The tab's live feed is up before the run, so what arrives next came over /ws, not a fetch.
  await page.locator('[data-testid=bell][data-live=on]').waitFor();
  const before = (await page.getByTestId('bell-count').count()) ? Number(await page.getByTestId('bell-count').textContent()) : 0;
  const run = await api(admin, `workflows/${w.id}/execute`, { body: {} });
  await page.getByTestId('bell-count').filter({ hasText: String(before + 1) }).waitFor({ timeout: 20_000 });
  assert.match(await page.getByTestId('bell').getAttribute('aria-label'), new RegExp(`${before + 1} unread`));
  // Keyboard only: focus the bell, open it with Enter, reach the item's Mark read with Tab.
  await page.getByTestId('bell').focus();
  await page.keyboard.press('Enter');
  const panel = page.getByRole('dialog', { name: 'Notifications' });
  const item = panel.getByTestId('notification').filter({ hasText: title });
  await item.waitFor();
  assert.match(await item.textContent(), /3 rows/);
  assert.match(await item.getAttribute('class'), /lv-success/);
  assert.equal(await item.getByRole('link', { name: /Open execution/ }).getAttribute('href'), `/executions/${run.id}`);
  await shot(page, 'notifications');
  assert.deepEqual(await axe(page), []);
  const mark = item.getByRole('button', { name: `Mark read “${title}”` });
  for (let i = 0; i < 20 && !(await mark.evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await mark.waitFor({ state: 'detached' });
  const left = await api(admin, 'notifications?unread=true');
  assert.ok(!left.some((n) => n.title === title), 'marked read on the server');
  const all = await api(admin, 'notifications');
  assert.ok(all.find((n) => n.title === title)?.read_at);
  // Escape closes the panel and gives focus back to the bell.
  await page.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('bell').evaluate((b) => b === document.activeElement), true);
  // The link leads to the run that sent it.
  await page.getByTestId('bell').click();
  await panel.getByTestId('notification').filter({ hasText: title }).getByRole('link', { name: /Open execution/ }).click();
  await page.waitForURL(new RegExp(`/executions/${run.id}$`));
  await page.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
});

test('files: upload, download and delete a file (errors from the envelope), and a viewer sees no upload or delete', async () => {
  await go(page, '/files');
  await page.getByRole('heading', { name: 'Files' }).waitFor();
  const text = `hello from the browser ${Date.now()}\n`;
  await page.getByTestId('file-upload').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(text) });
  const row = page.getByTestId('file-row').filter({ hasText: 'notes.txt' });
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(`${Buffer.byteLength(text)} B`));
  const stored = await api(admin, 'files');
  assert.equal(stored.find((f) => f.name === 'notes.txt')?.size, Buffer.byteLength(text));
  await shot(page, 'files');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download notes.txt' }).click()]);
  assert.equal(download.suggestedFilename(), 'notes.txt');
  assert.equal(readFileSync(await download.path(), 'utf8'), text);
  // A name the store refuses: the envelope's message and the issue it names.
  await page.getByTestId('file-upload').setInputFiles({ name: '.hidden', mimeType: 'text/plain', buffer: Buffer.from('x') });
  const alert = page.getByRole('alert').filter({ hasText: 'The provided data is invalid' });
  await alert.waitFor();
  assert.match(await alert.textContent(), /starts with a dot/);
  // Delete asks first.
  await page.getByRole('button', { name: 'Delete notes.txt' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete “notes.txt”?' });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await row.count(), 1);
  await page.getByRole('button', { name: 'Delete notes.txt' }).click();
  await dialog.getByRole('button', { name: 'Delete file' }).click();
  await row.waitFor({ state: 'detached' });
  assert.ok(!(await api(admin, 'files')).some((f) => f.name === 'notes.txt'));

  const username = `fileviewer${Date.now() % 100000}`;
  await api(admin, 'users', { body: { username, password: 'viewer-password-123', role: 'viewer' } });
  const vp = await newPage();
  try {
    await uiLogin(vp, username, 'viewer-password-123');
    await go(vp, '/files');
    await vp.getByRole('heading', { name: 'Files' }).waitFor();
    await vp.getByText('No files yet.').waitFor();
    await vp.getByText(/You may download files/).waitFor();
    assert.equal(await vp.getByTestId('file-upload').count(), 0);
    assert.equal(await vp.getByText('Upload files').count(), 0);
    assert.equal(await vp.getByRole('button', { name: /^Delete / }).count(), 0);
  } finally {
    await vp.context().close();
  }
});

test('credentials: create one, its value never shown again, delete it', async () => {
  const name = `browser_secret_${Date.now() % 100000}`;
  const value = `s3cr3t-${Date.now()}-value`;
  await go(page, '/admin/credentials');
  const form = page.getByRole('form', { name: 'New credential' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Value').fill(value);
  await form.getByLabel('Description').fill('made by the browser test');
  await form.getByRole('button', { name: 'Store secret' }).click();
  const row = page.getByRole('row').filter({ hasText: name });
  await row.waitFor();
  assert.match(await row.textContent(), /\*\*\*/);
  assert.equal(await form.getByLabel('Value').inputValue(), '', 'the form forgets the value');
  const shown = async () => page.evaluate((v) => document.body.innerText.includes(v) || [...document.querySelectorAll('input')].some((i) => i.value.includes(v)), value);
  assert.equal(await shown(), false);
  // Not after a fresh load either: the server never sends it back.
  await page.reload();
  await page.getByTestId('current-user').waitFor();
  await row.waitFor();
  assert.equal(await shown(), false);
  const listed = await api(admin, 'credentials');
  assert.ok(!JSON.stringify(listed).includes(value));
  await shot(page, 'credentials');
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  await row.waitFor({ state: 'detached' });
  assert.ok(!(await api(admin, 'credentials')).some((c) => c.name === name));
});

test('API keys: a created key is shown once, and works', async () => {
  const name = `browser key ${Date.now() % 100000}`;
  await go(page, '/admin/keys');
  const form = page.getByRole('form', { name: 'New API key' });
  await form.getByLabel('Name').fill(name);
  await form.getByRole('button', { name: 'Create key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Your new API key' });
  const key = await dialog.getByLabel('New API key').inputValue();
  assert.match(key, /^apg_/);
  await shot(page, 'api-key-created');
  const me = await fetch(`${API}/api/v1/auth/me`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json());
  assert.equal(me.data.username, 'admin');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'detached' });
  const row = page.getByRole('row').filter({ hasText: name });
  await row.waitFor();
  assert.equal(await page.evaluate((k) => document.body.innerText.includes(k), key), false, 'shown once');
  await page.getByRole('button', { name: `Revoke ${name}` }).click();
  await row.filter({ hasText: 'revoked' }).waitFor();
  assert.equal(await page.getByRole('button', { name: `Revoke ${name}` }).count(), 0);
  const gone = await fetch(`${API}/api/v1/auth/me`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(gone.status, 401);
});

test('share a workflow with a viewer from the workflow list', async () => {
  const username = `sharee${Date.now() % 100000}`;
  const password = 'sharee-password-123';
  const viewer = await api(admin, 'users', { body: { username, password, role: 'viewer' } });
  const mine = await api(admin, 'workflows', { body: { name: `Shared flow ${Date.now()}`, definition: { components: [{ id: 'start', type: 'start' }, { id: 'end', type: 'end' }], connections: [{ source: 'start', target: 'end' }] } } });
  await go(page, '/workflows');
  await page.getByLabel('Search workflows').fill(mine.name);
  await page.getByRole('button', { name: `Share ${mine.name}` }).click();
  const dialog = page.getByRole('dialog', { name: `Share “${mine.name}”` });
  await dialog.getByLabel('User to share with').selectOption({ label: `${username} (viewer)` });
  await dialog.getByRole('button', { name: 'Add' }).click();
  assert.equal(await dialog.getByLabel(`read for ${username}`).isChecked(), true);
  await shot(page, 'share');
  await dialog.getByRole('button', { name: 'Save shares' }).click();
  await dialog.waitFor({ state: 'detached' });
  const shares = await api(admin, `workflows/${mine.id}/shares`);
  assert.deepEqual(shares.map((s) => [s.user_id, s.actions]), [[viewer.id, ['read']]]);
  const seen = await api(await token(username, password), `workflows/${mine.id}`);
  assert.equal(seen.id, mine.id);
});

test('the audit log filtered by action shows the entries just made', async () => {
  await go(page, '/admin/audit');
  const filter = page.getByLabel('Filter by action');
  const table = page.getByRole('table', { name: 'Audit entries' });
  for (const [action, resource] of [
    ['file.upload', 'file/notes.txt'],
    ['file.delete', 'file/notes.txt'],
    ['credential.create', 'credential/'],
    ['credential.delete', 'credential/'],
    ['apikey.create', 'apikey/'],
    ['workflow.share', 'workflow/'],
  ]) {
    await filter.fill(action);
    await table.getByRole('row').filter({ hasText: action }).filter({ hasText: resource }).first().waitFor();
    const actions = await table.locator('tbody td:nth-child(3)').allTextContents();
    assert.ok(actions.length > 0 && actions.every((a) => a === action), `${action}: ${actions}`);
    if (action === 'file.upload') await shot(page, 'audit-filtered');
  }
});

test('axe-core reports no serious or critical violations on the main pages', async () => {
  const pages = [
    ['workflows', `/workflows`, 'workflow-row'],
    ['designer', `/workflows/${workflowId}/design`, 'node-end'],
    ['execution', `/executions/${runs[0]}`, 'node-end'],
    ['executions', `/executions`, null],
    ['dashboard', `/dashboard`, 'chart'],
    ['files', `/files`, null],
    ['credentials', `/admin/credentials`, null],
    ['api keys', `/admin/keys`, null],
    ['users', `/admin/users`, null],
    ['audit', `/admin/audit`, null],
  ];
  const found = [];
  for (const dark of [false, true]) {
    const p = dark ? await newPage({ dark: true }) : page;
    if (dark) await uiLogin(p, 'admin', ADMIN_PASSWORD);
    for (const [name, url, wait] of pages) {
      await go(p, url);
      await p.getByRole('main').waitFor();
      if (wait) await p.getByTestId(wait).first().waitFor();
      await p.waitForTimeout(300);
      for (const v of await axe(p)) found.push(`${dark ? 'dark' : 'light'} ${name}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
    }
    if (dark) await p.context().close();
  }
  assert.deepEqual(found, []);
});

test('the 1,000-component example is drawn, panned and zoomed without freezing', async () => {
  const doc = JSON.parse(readFileSync(new URL('../../examples/large_workflow_1000.json', import.meta.url), 'utf8'));
  const w = await api(admin, 'workflows', { body: { name: `${doc.name ?? 'large'} (browser ${Date.now()})`, definition: doc.definition ?? doc } });
  const started = Date.now();
  await go(page, `/workflows/${w.id}/design`);
  await page.waitForFunction(() => window.__apgDrawnAt && document.querySelectorAll('.react-flow__node').length > 0, null, { timeout: 60_000 });
  const drawn = Date.now() - started;
  const components = (doc.definition ?? doc).components.length;
  // Pan and zoom while a frame loop measures the longest gap between frames.
  await page.evaluate(() => {
    window.__gaps = [];
    let last = performance.now();
    const loop = (t) => {
      window.__gaps.push(t - last);
      last = t;
      if (window.__gaps.length < 100000) window.__raf = requestAnimationFrame(loop);
    };
    window.__raf = requestAnimationFrame(loop);
  });
  const t0 = Date.now();
  const pane = page.locator('.react-flow__pane');
  const box = await pane.boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let i = 0; i < 20; i++) await page.mouse.move(cx - i * 15, cy - i * 8);
  await page.mouse.up();
  for (let i = 0; i < 8; i++) {
    await page.mouse.wheel(0, -240);
    await page.waitForTimeout(30);
  }
  for (let i = 0; i < 8; i++) {
    await page.mouse.wheel(0, 240);
    await page.waitForTimeout(30);
  }
  const interaction = Date.now() - t0;
  const worst = await page.evaluate(() => {
    cancelAnimationFrame(window.__raf);
    return Math.max(...window.__gaps.slice(1));
  });
  const msg = `large graph: ${components} components drawn ${drawn} ms after navigation; pan + zoom took ${interaction} ms, longest frame gap ${Math.round(worst)} ms`;
  console.log(`  ${msg}`);
  process.stdout.write(`# ${msg}\n`);
  assert.ok(drawn < 30_000, msg);
  assert.ok(worst < 2_000, `froze: ${msg}`);
});

// The browser session: a cookie the page cannot read holds the refresh token; the access token
// lives in memory only, so a reload renews it with the cookie.
test('a reload keeps you signed in, and no token is in web storage or readable cookies', async () => {
  await go(page, '/workflows');
  await page.getByTestId('workflow-row').first().waitFor();
  await page.reload();
  await page.getByTestId('current-user').waitFor();
  assert.equal(await page.getByTestId('current-user').textContent(), 'admin');
  await page.getByTestId('workflow-row').first().waitFor();
  const stored = await page.evaluate(() => {
    const all = (s) => Array.from({ length: s.length }, (_, i) => [s.key(i), s.getItem(s.key(i))]);
    return { local: all(localStorage), session: all(sessionStorage), cookie: document.cookie };
  });
  const text = JSON.stringify([stored.local, stored.session]);
  assert.doesNotMatch(text, /eyJ|token|apg_/i, `web storage holds ${text}`);
  assert.doesNotMatch(stored.cookie, /apg_session/, 'the session cookie is httpOnly');
  const cookie = (await page.context().cookies()).find((c) => c.name === 'apg_session');
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/');
});

test('GraphiQL runs a query as the browser session, loading nothing from another host', async () => {
  const gp = await page.context().newPage();
  const origin = new URL(BASE).origin;
  const elsewhere = [];
  gp.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol.startsWith('http') && u.origin !== origin) elsewhere.push(r.url());
  });
  try {
    await gp.goto(`${BASE}/graphql`);
    await gp.getByTestId('graphiql-session').filter({ hasText: 'Queries run as admin' }).waitFor();
    await gp.locator('.graphiql-query-editor .CodeMirror').waitFor();
    await gp.evaluate(() => {
      const cm = document.querySelector('.graphiql-query-editor .CodeMirror');
      cm.CodeMirror.setValue('{ workflows(limit: 5) { id name } }');
    });
    await gp.locator('.graphiql-execute-button').click();
    await gp.waitForFunction(() => {
      const cm = document.querySelector('.graphiql-response .CodeMirror');
      return cm && cm.CodeMirror.getValue().includes('"workflows"');
    });
    const result = await gp.evaluate(() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue());
    assert.doesNotMatch(result, /"errors"/, result);
    await shot(gp, 'graphiql');
    assert.deepEqual(elsewhere, []);
  } finally {
    await gp.close();
  }
});

test('signing out returns to the sign-in page, and a reload stays signed out', async () => {
  await go(page, '/workflows');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Username').waitFor();
  const names = (await page.context().cookies()).map((c) => c.name);
  assert.ok(!names.includes('apg_session'), `cookies left: ${names}`);
  await page.reload();
  await page.getByLabel('Username').waitFor();
  assert.equal(await page.getByTestId('current-user').count(), 0);
});

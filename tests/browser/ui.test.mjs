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
    ['approvals', `/approvals?all=1`, null],
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

// ---- schedules: a cron schedule of a workflow, made, watched and changed from the Schedules page
// (the tests before signed out: the first signs in again).
const sched = { workflow: null, name: `Every second ${Date.now() % 100000}`, id: null };
const schedForm = () => page.getByRole('form', { name: 'New schedule' });
const fieldError = (scope, id) => scope.getByTestId(`field-${id}`).locator('.field-error');

test('schedules: an invalid cron expression or time zone from the form is shown next to its field, and nothing is created', async () => {
  sched.workflow = await api(admin, 'workflows', {
    body: {
      name: `Scheduled flow ${Date.now()}`,
      definition: { components: [{ id: 'start', type: 'start' }, { id: 'end', type: 'end' }], connections: [{ source: 'start', target: 'end' }] },
    },
  });
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('navigation').getByRole('link', { name: 'Schedules', exact: true }).click();
  await page.waitForURL(/\/schedules$/);
  await page.getByRole('heading', { name: 'Schedules', exact: true }).waitFor();
  const form = schedForm();
  await form.getByLabel('Workflow', { exact: true }).selectOption({ label: sched.workflow.name });
  await form.getByLabel('Name', { exact: true }).fill(sched.name);
  const cron = form.getByLabel('Cron expression', { exact: true });
  const zone = form.getByLabel('Time zone', { exact: true });
  await cron.fill('* * * every second');
  await zone.fill('Europe/Paris');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  // The server's message, next to the cron field and tied to it; none next to the zone.
  await fieldError(form, 'new-cron').waitFor();
  assert.match(await fieldError(form, 'new-cron').textContent(), /invalid cron expression/);
  assert.equal(await cron.getAttribute('aria-invalid'), 'true');
  assert.match(await cron.getAttribute('aria-describedby'), /\bnew-cron-error\b/);
  assert.equal(await fieldError(form, 'new-timezone').count(), 0);
  assert.equal(await zone.getAttribute('aria-invalid'), 'false');
  await form.getByRole('alert').filter({ hasText: 'Could not create the schedule' }).waitFor();
  await shot(page, 'schedules-invalid-cron');
  assert.deepEqual(await axe(page), []);
  assert.deepEqual(await api(admin, `schedules?workflow_id=${sched.workflow.id}`), []);
  // An unknown zone: its field says so, the cron field's error is gone.
  await cron.fill('* * * * * *');
  await zone.fill('Europe/Atlantis');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  await fieldError(form, 'new-timezone').waitFor();
  assert.match(await fieldError(form, 'new-timezone').textContent(), /unknown time zone/);
  assert.equal(await fieldError(form, 'new-cron').count(), 0);
  assert.equal(await zone.getAttribute('aria-invalid'), 'true');
  // Parameters that are not a JSON object are refused before any request.
  await zone.fill('Europe/Paris');
  await form.getByLabel('Parameters (JSON)').fill('["not", "an object"]');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  await fieldError(form, 'new-parameters').filter({ hasText: 'Must be a JSON object' }).waitFor();
  assert.equal(await fieldError(form, 'new-timezone').count(), 0);
  assert.deepEqual(await api(admin, `schedules?workflow_id=${sched.workflow.id}`), []);
  assert.equal(await page.getByTestId('schedule-row').filter({ hasText: sched.workflow.name }).count(), 0);
});

test('schedules: create an every-second schedule in Europe/Paris from the form (by keyboard), see it listed and its next five fire times', async () => {
  const form = schedForm();
  await form.getByLabel('Parameters (JSON)').fill('{"source": "browser"}');
  // Enter in a field submits the form.
  await form.getByLabel('Cron expression', { exact: true }).press('Enter');
  const row = page.getByTestId('schedule-row').filter({ hasText: sched.name });
  await row.waitFor();
  const text = await row.textContent();
  assert.match(text, new RegExp(sched.workflow.name));
  assert.match(text, /\* \* \* \* \* \*/);
  assert.match(text, /Europe\/Paris/);
  assert.match(text, /skip/);
  assert.match(text, /latest/);
  assert.match(text, /active/i);
  assert.match(await row.getByTestId('next-fire').locator('time').getAttribute('datetime'), /\+0[12]:00$/);
  assert.equal(await form.getByLabel('Cron expression', { exact: true }).inputValue(), '', 'the form is cleared');
  assert.equal(await fieldError(form, 'new-parameters').count(), 0);
  const [made] = await api(admin, `schedules?workflow_id=${sched.workflow.id}`);
  assert.equal(made.name, sched.name);
  assert.equal(made.cron, '* * * * * *');
  assert.equal(made.timezone, 'Europe/Paris');
  assert.deepEqual(made.parameters, { source: 'browser' });
  sched.id = made.id;
  await shot(page, 'schedules-list');
  await row.getByRole('link', { name: sched.name, exact: true }).click();
  await page.waitForURL(new RegExp(`/schedules/${sched.id}$`));
  await page.getByRole('heading', { name: sched.name }).waitFor();
  const next = page.getByTestId('next-fires').locator('time');
  await next.first().waitFor();
  assert.equal(await next.count(), 5);
  const times = await next.evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
  for (const t of times) assert.match(t, /\+0[12]:00$/, `${t} is Paris time`);
  const ms = times.map((t) => Date.parse(t));
  for (let i = 1; i < ms.length; i++) assert.equal(ms[i] - ms[i - 1], 1000, `one second apart: ${times}`);
  assert.match(await next.first().textContent(), /\d\d:\d\d:\d\d GMT\+[12]$/);
  await shot(page, 'schedules-detail');
});

test('schedules: its fires appear live, and a started one links to its execution', async () => {
  const rows = page.getByTestId('fire-row');
  // The newest fire changes without a reload: the page refreshes itself.
  await rows.first().waitFor({ timeout: 15_000 });
  const first = await rows.first().locator('time').getAttribute('datetime');
  await page.waitForFunction(
    (t) => {
      const r = document.querySelector('[data-testid=fire-row] time');
      return r && r.getAttribute('datetime') !== t;
    },
    first,
    { timeout: 15_000 },
  );
  const started = page.locator('[data-testid=fire-row][data-status=started]').first();
  await started.waitFor();
  assert.match(await started.textContent(), /started/);
  const link = started.getByRole('link');
  const href = await link.getAttribute('href');
  const fires = (await api(admin, `schedules/${sched.id}`)).fires;
  const executionId = href.replace(/^\/executions\//, '');
  assert.ok(fires.some((f) => f.status === 'started' && f.execution_id === executionId), `${href} is a started fire's execution`);
  await shot(page, 'schedules-fires');
  await link.click();
  await page.waitForURL(new RegExp(`/executions/${executionId}$`));
  await page.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
  const run = await api(admin, `executions/${executionId}`);
  assert.equal(run.workflow_id, sched.workflow.id);
  assert.deepEqual(run.parameters, { source: 'browser' });
  await page.goBack();
  await page.waitForURL(new RegExp(`/schedules/${sched.id}$`));
  await page.getByTestId('next-fires').waitFor();
});

test('schedules: edit its expression, zone, overlap, catch-up and parameters (a bad expression shown in the dialog)', async () => {
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Edit “${sched.name}”` });
  await dialog.waitFor();
  const cron = dialog.getByLabel('Cron expression', { exact: true });
  assert.equal(await cron.inputValue(), '* * * * * *');
  await cron.fill('61 * * * *');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await fieldError(dialog, 'edit-cron').waitFor();
  assert.match(await fieldError(dialog, 'edit-cron').textContent(), /invalid cron expression/);
  assert.equal(await cron.getAttribute('aria-invalid'), 'true');
  assert.equal((await api(admin, `schedules/${sched.id}`)).cron, '* * * * * *', 'unchanged');
  assert.deepEqual(await axe(page), []);
  await cron.fill('0 30 9 * * 1-5');
  await dialog.getByLabel('Time zone', { exact: true }).fill('America/New_York');
  await dialog.getByLabel('Overlap', { exact: true }).selectOption('queue');
  await dialog.getByLabel('Catch-up', { exact: true }).selectOption('all');
  await dialog.getByLabel('Parameters (JSON)').fill('{"source": "browser", "region": "eu"}');
  await shot(page, 'schedules-edit');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await dialog.waitFor({ state: 'detached' });
  const s = await api(admin, `schedules/${sched.id}`);
  assert.equal(s.cron, '0 30 9 * * 1-5');
  assert.equal(s.timezone, 'America/New_York');
  assert.equal(s.overlap, 'queue');
  assert.equal(s.catch_up, 'all');
  assert.deepEqual(s.parameters, { source: 'browser', region: 'eu' });
  const next = page.getByTestId('next-fires').locator('time');
  await next.first().filter({ hasText: '09:30:00' }).waitFor();
  assert.equal(await next.count(), 5);
  for (const t of await next.allTextContents()) assert.match(t, /^(Mon|Tue|Wed|Thu|Fri), .* 09:30:00 GMT-[45]$/, t);
  for (const t of await next.evaluateAll((ts) => ts.map((x) => x.getAttribute('datetime')))) assert.match(t, /T09:30:00(\.000)?-0[45]:00$/, t);
  const settings = page.getByRole('region', { name: 'Settings' });
  assert.match(await settings.textContent(), /Queue \(after it ends\)/);
  assert.match(await settings.textContent(), /All \(up to 100 missed\)/);
  assert.match(await settings.textContent(), /"region": "eu"/);
  // Back to every second, in Paris.
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  await dialog.getByLabel('Cron expression', { exact: true }).fill('* * * * * *');
  await dialog.getByLabel('Time zone', { exact: true }).fill('Europe/Paris');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await dialog.waitFor({ state: 'detached' });
  await next.first().waitFor();
  assert.match(await next.first().getAttribute('datetime'), /\+0[12]:00$/);
});

test('schedules: pause it (paused, no next fire times), then resume it', async () => {
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByTestId('schedule-state').filter({ hasText: 'paused' }).waitFor();
  await page.getByTestId('no-next-fires').waitFor();
  assert.equal(await page.getByTestId('next-fires').count(), 0);
  assert.match(await page.locator('.page-head .badge').textContent(), /paused/);
  const paused = await api(admin, `schedules/${sched.id}`);
  assert.equal(paused.paused, true);
  assert.deepEqual(paused.next_fires, []);
  await shot(page, 'schedules-paused');
  // No fire while paused: after a fire already under way when it was paused has settled, the
  // newest stays the newest a refresh or two later.
  await page.waitForTimeout(1000);
  const newest = (await api(admin, `schedules/${sched.id}`)).fires[0]?.fire_at;
  await page.waitForTimeout(2500);
  assert.equal((await api(admin, `schedules/${sched.id}`)).fires[0]?.fire_at, newest);
  // The list says so too.
  await page.getByRole('link', { name: '← Schedules' }).click();
  const row = page.getByTestId('schedule-row').filter({ hasText: sched.name });
  await row.filter({ hasText: /paused/i }).waitFor();
  assert.equal((await row.getByTestId('next-fire').textContent()).trim(), '—');
  await row.getByRole('link', { name: sched.name, exact: true }).click();
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await page.getByTestId('schedule-state').filter({ hasText: 'active' }).waitFor();
  const next = page.getByTestId('next-fires').locator('time');
  await next.first().waitFor();
  assert.equal(await next.count(), 5);
  assert.equal((await api(admin, `schedules/${sched.id}`)).paused, false);
});

test("schedules: a viewer does not see the admin's schedule", async () => {
  const username = `schedviewer${Date.now() % 100000}`;
  const password = 'viewer-password-123';
  await api(admin, 'users', { body: { username, password, role: 'viewer' } });
  assert.deepEqual((await api(await token(username, password), 'schedules')).map((s) => s.id).filter((id) => id === sched.id), []);
  const vp = await newPage();
  try {
    await uiLogin(vp, username, password);
    await vp.getByRole('navigation').getByRole('link', { name: 'Schedules', exact: true }).click();
    await vp.getByRole('heading', { name: 'Schedules', exact: true }).waitFor();
    await vp.getByText('No schedules yet.').waitFor();
    assert.equal(await vp.getByTestId('schedule-row').count(), 0);
    assert.equal(await vp.getByText(sched.name).count(), 0);
    assert.equal(await vp.getByRole('form', { name: 'New schedule' }).count(), 0);
    await shot(vp, 'schedules-viewer');
    // Nor at its address.
    await go(vp, `/schedules/${sched.id}`);
    await vp.getByRole('alert').filter({ hasText: 'Not found' }).waitFor();
    assert.equal(await vp.getByText(sched.name).count(), 0);
    assert.deepEqual(await axe(vp), []);
  } finally {
    await vp.context().close();
  }
});

test('schedules: axe-core reports no serious or critical violations on the list, a schedule and its dialogs, light and dark', async () => {
  const found = [];
  for (const dark of [false, true]) {
    const p = dark ? await newPage({ dark: true }) : page;
    if (dark) await uiLogin(p, 'admin', ADMIN_PASSWORD);
    const check = async (name) => {
      await p.waitForTimeout(300);
      for (const v of await axe(p)) found.push(`${dark ? 'dark' : 'light'} ${name}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
    };
    await go(p, '/schedules');
    await p.getByTestId('schedule-row').first().waitFor();
    await check('schedules');
    await go(p, `/schedules/${sched.id}`);
    await p.getByTestId('fire-row').first().waitFor();
    await check('schedule');
    await p.getByRole('button', { name: 'Edit', exact: true }).click();
    await p.getByRole('dialog').waitFor();
    await check('edit dialog');
    await p.keyboard.press('Escape');
    await p.getByRole('dialog').waitFor({ state: 'detached' });
    if (dark) {
      await shot(p, 'schedules-detail-dark');
      await p.context().close();
    }
  }
  assert.deepEqual(found, []);
});

test('schedules: delete it after a confirmation (Escape or Cancel keeps it)', async () => {
  await go(page, `/schedules/${sched.id}`);
  await page.getByTestId('next-fires').waitFor();
  const del = page.getByRole('button', { name: 'Delete', exact: true });
  const dialog = page.getByRole('dialog', { name: `Delete “${sched.name}”?` });
  await del.click();
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await del.click();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await api(admin, `schedules/${sched.id}`)).id, sched.id, 'still there');
  await del.click();
  await shot(page, 'schedules-delete-confirm');
  assert.deepEqual(await axe(page), []);
  await dialog.getByRole('button', { name: 'Delete schedule' }).click();
  await page.waitForURL(/\/schedules$/);
  await page.getByRole('heading', { name: 'Schedules', exact: true }).waitFor();
  await page.getByTestId('schedule-row').filter({ hasText: sched.name }).waitFor({ state: 'detached' });
  const gone = await fetch(`${API}/api/v1/schedules/${sched.id}`, { headers: { authorization: `Bearer ${admin}` } });
  assert.equal(gone.status, 404);
  assert.deepEqual(await api(admin, `schedules?workflow_id=${sched.workflow.id}`), []);
});

test('schedules: a schedule whose creator may no longer run its workflow shows its refused fires and why', async () => {
  const username = `scheduler${Date.now() % 100000}`;
  const password = 'editor-password-123';
  const editor = await api(admin, 'users', { body: { username, password, role: 'editor' } });
  const et = await token(username, password);
  const w = await api(et, 'workflows', {
    body: {
      name: `Editor's flow ${Date.now()}`,
      definition: { components: [{ id: 'start', type: 'start' }, { id: 'end', type: 'end' }], connections: [{ source: 'start', target: 'end' }] },
    },
  });
  const s = await api(et, 'schedules', { body: { workflow_id: w.id, cron: '* * * * * *', name: `Refused ${Date.now() % 100000}`, timezone: 'Asia/Tokyo' } });
  try {
    // Its fires run as its creator: demoted, they may no longer run it.
    await api(admin, `users/${editor.id}`, { method: 'PATCH', body: { role: 'viewer' } });
    await go(page, `/schedules/${s.id}`);
    await page.getByRole('heading', { name: s.name }).waitFor();
    await page.getByRole('link', { name: w.name }).waitFor();
    const refused = page.locator('[data-testid=fire-row][data-status=refused]').first();
    await refused.waitFor({ timeout: 15_000 });
    assert.match(await refused.textContent(), /refused/);
    assert.match(await refused.textContent(), /may no longer run the workflow/);
    assert.equal(await refused.getByRole('link').count(), 0, 'no execution');
    assert.match(await refused.locator('time').textContent(), /GMT\+9$/, 'in Tokyo time');
    await shot(page, 'schedules-refused');
  } finally {
    await api(admin, `schedules/${s.id}`, { method: 'DELETE' });
  }
});

// ---- webhooks: a workflow's hooks, made, called, rotated and deleted from its Webhooks page
const greetFlow = (name) => ({
  name,
  definition: {
    components: [
      { id: 'start', type: 'start' },
      { id: 'greet', type: 'task', config: { task_type: 'echo', message: 'hi' } },
      { id: 'end', type: 'end' },
    ],
    connections: [
      { source: 'start', target: 'greet' },
      { source: 'greet', target: 'end' },
    ],
  },
});
const hook = { workflow: null, name: `Deploys ${Date.now() % 100000}`, token: null, url: null };
const hookForm = () => page.getByRole('form', { name: 'New webhook' });
const hookRow = (p = page) => p.getByTestId('hook-row').filter({ hasText: hook.name });
/** A POST to a hook's token straight to the server, with no credentials. */
const callHook = (tok, body = {}, headers = {}) =>
  fetch(`${API}/api/v1/hooks/${tok}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

test('webhooks: an invalid rate or a too-short signature secret is shown at its field, and nothing is created', async () => {
  hook.workflow = await api(admin, 'workflows', { body: greetFlow(`Hooked flow ${Date.now()}`) });
  // From the designer's toolbar.
  await go(page, `/workflows/${hook.workflow.id}/design`);
  await node('greet').waitFor();
  // With unsaved changes it asks first: stay keeps them, leaving drops them.
  const title = page.getByLabel('Workflow name');
  await title.fill(`${hook.workflow.name} (edited)`);
  const toHooks = page.getByRole('link', { name: 'Webhooks', exact: true });
  const leave = page.getByRole('dialog', { name: 'Unsaved changes' });
  await toHooks.click();
  await leave.getByRole('button', { name: 'Stay here' }).click();
  await leave.waitFor({ state: 'detached' });
  assert.equal(await title.inputValue(), `${hook.workflow.name} (edited)`);
  await toHooks.click();
  await leave.getByRole('button', { name: 'Leave without saving' }).click();
  await page.waitForURL(new RegExp(`/workflows/${hook.workflow.id}/webhooks$`));
  await page.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();
  await page.getByText('No webhooks on this workflow').waitFor();
  await page.getByRole('main').getByRole('link', { name: hook.workflow.name }).waitFor();
  assert.equal((await api(admin, `workflows/${hook.workflow.id}`)).name, hook.workflow.name, 'not saved');
  const form = hookForm();
  await form.getByLabel('Name', { exact: true }).fill(hook.name);
  const rate = form.getByLabel('Rate (requests a minute)');
  await rate.fill('0');
  await form.getByRole('button', { name: 'Create webhook' }).click();
  // The server's message, next to the rate and tied to it.
  await fieldError(form, 'hook-rate').waitFor();
  assert.match(await fieldError(form, 'hook-rate').textContent(), /must be 1–100000/);
  assert.equal(await rate.getAttribute('aria-invalid'), 'true');
  assert.match(await rate.getAttribute('aria-describedby'), /\bhook-rate-error\b/);
  assert.equal(await fieldError(form, 'hook-name').count(), 0);
  await form.getByRole('alert').filter({ hasText: 'Could not create the webhook' }).waitFor();
  await shot(page, 'webhooks-invalid-rate');
  assert.deepEqual(await axe(page), []);
  // A 5-character secret: its field says so, the rate's error is gone.
  await rate.fill('5');
  await form.getByLabel(/Require a signature/).check();
  const secret = form.getByLabel('Secret', { exact: true });
  await secret.fill('abcde');
  await form.getByRole('button', { name: 'Create webhook' }).click();
  await fieldError(form, 'hook-secret').waitFor();
  assert.match(await fieldError(form, 'hook-secret').textContent(), /8–1024 characters/);
  assert.equal(await secret.getAttribute('aria-invalid'), 'true');
  assert.equal(await fieldError(form, 'hook-rate').count(), 0);
  // Not a whole number: refused before any request.
  await form.getByLabel(/Require a signature/).uncheck();
  await form.getByLabel('Timeout (seconds)').fill('1.5');
  await form.getByRole('button', { name: 'Create webhook' }).click();
  await fieldError(form, 'hook-timeout').filter({ hasText: 'Must be a whole number' }).waitFor();
  await form.getByLabel('Timeout (seconds)').fill('');
  assert.deepEqual(await api(admin, `workflows/${hook.workflow.id}/hooks`), []);
  assert.equal(await page.getByTestId('hook-row').count(), 0);
});

test('webhooks: create one with a rate and a header, its URL shown once (copied), and a call with no credentials starts a run', async () => {
  const form = hookForm();
  await form.getByLabel('Headers passed to the run').fill('X-Event, X-Delivery');
  await form.getByRole('button', { name: 'Create webhook' }).click();
  const dialog = page.getByRole('dialog', { name: `Webhook “${hook.name}” created` });
  await dialog.waitFor();
  await dialog.getByText('Copy the URL now: it will not be shown again.').waitFor();
  hook.token = await dialog.getByLabel('Token', { exact: true }).inputValue();
  hook.url = await dialog.getByLabel('Webhook URL').inputValue();
  assert.match(hook.token, /^apg_hook_[\w-]{20,}$/);
  assert.equal(hook.url, `${BASE}/api/v1/hooks/${hook.token}`);
  // The URL field has the focus (its text selected), and Copy puts it on the clipboard.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'issued-url');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  await dialog.getByRole('button', { name: 'Copy URL' }).click();
  await page.getByText('URL copied').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), hook.url);
  await shot(page, 'webhooks-created');
  assert.deepEqual(await axe(page), []);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'detached' });
  // Listed with its settings, and the token is nowhere on the page any more.
  const row = hookRow();
  await row.waitFor();
  const text = await row.textContent();
  assert.match(text, new RegExp(`${hook.token.slice(0, 13)}…`));
  assert.match(text, /immediately/);
  assert.match(text, /5\/min/);
  assert.match(text, /1 MiB/);
  assert.match(text, /none/);
  assert.match(text, /x-event/);
  assert.match(text, /x-delivery/);
  assert.equal((await page.content()).includes(hook.token), false, 'the token is not shown again');
  const [made] = await api(admin, `workflows/${hook.workflow.id}/hooks`);
  assert.equal(made.name, hook.name);
  assert.equal(made.rate_per_minute, 5);
  assert.deepEqual(made.headers, ['x-event', 'x-delivery']);
  assert.equal(made.signature_header, null);
  await shot(page, 'webhooks-list');
  // Called from outside (the URL's path, at the server), with no Authorization.
  const r = await callHook(hook.token, { ref: 'main' }, { 'x-event': 'push' });
  assert.equal(r.status, 202);
  const { data } = await r.json();
  assert.ok(data.execution_id);
  // The run it started is among the workflow's runs, and completes.
  await go(page, `/executions?workflow_id=${hook.workflow.id}`);
  await page.getByRole('link', { name: data.execution_id.slice(-12) }).click();
  await page.waitForURL(new RegExp(`/executions/${data.execution_id}$`));
  await page.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
  const run = await api(admin, `executions/${data.execution_id}`);
  assert.equal(run.parameters.ref, 'main');
  assert.deepEqual(run.parameters.webhook.headers, { 'x-event': 'push' });
});

test('webhooks: rotate its token after a confirmation (Escape keeps it): the new URL is shown once, the old one answers 404', async () => {
  await go(page, `/workflows/${hook.workflow.id}/webhooks`);
  const row = hookRow();
  await row.waitFor();
  const rotate = row.getByRole('button', { name: `Rotate token of ${hook.name}` });
  const confirm = page.getByRole('dialog', { name: `Rotate the token of “${hook.name}”?` });
  await rotate.click();
  await confirm.waitFor();
  await page.keyboard.press('Escape');
  await confirm.waitFor({ state: 'detached' });
  assert.equal((await api(admin, `workflows/${hook.workflow.id}/hooks`))[0].token_prefix, hook.token.slice(0, 13), 'unchanged');
  await rotate.click();
  await confirm.getByText('The current URL stops working at once').waitFor();
  await shot(page, 'webhooks-rotate-confirm');
  await confirm.getByRole('button', { name: 'Rotate token' }).click();
  const dialog = page.getByRole('dialog', { name: `New URL of “${hook.name}”` });
  await dialog.waitFor();
  await dialog.getByText('it will not be shown again').waitFor();
  await dialog.getByText('The old URL no longer works.').waitFor();
  const token = await dialog.getByLabel('Token', { exact: true }).inputValue();
  const url = await dialog.getByLabel('Webhook URL').inputValue();
  assert.notEqual(token, hook.token);
  assert.equal(url, `${BASE}/api/v1/hooks/${token}`);
  await shot(page, 'webhooks-rotated');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'detached' });
  await row.filter({ hasText: `${token.slice(0, 13)}…` }).waitFor();
  assert.equal((await callHook(hook.token)).status, 404, 'the old URL');
  assert.equal((await callHook(token)).status, 202, 'the new URL');
  hook.token = token;
});

test('webhooks: a viewer the workflow is shared with sees its hooks but no create, rotate or delete', async () => {
  const username = `hookviewer${Date.now() % 100000}`;
  const password = 'viewer-password-123';
  const viewer = await api(admin, 'users', { body: { username, password, role: 'viewer' } });
  await api(admin, `workflows/${hook.workflow.id}/shares`, { method: 'PUT', body: { shares: [{ user_id: viewer.id, actions: ['read'] }] } });
  const vp = await newPage();
  try {
    await uiLogin(vp, username, password);
    // From the workflows list.
    await vp.getByTestId('workflow-row').filter({ hasText: hook.workflow.name }).getByRole('link', { name: 'Webhooks', exact: true }).click();
    await vp.waitForURL(new RegExp(`/workflows/${hook.workflow.id}/webhooks$`));
    await hookRow(vp).waitFor();
    assert.match(await hookRow(vp).textContent(), /x-event/);
    assert.equal(await vp.getByRole('form', { name: 'New webhook' }).count(), 0);
    assert.equal(await vp.getByRole('button', { name: 'Create webhook' }).count(), 0);
    assert.equal(await vp.getByRole('button', { name: /^Rotate/ }).count(), 0);
    assert.equal(await vp.getByRole('button', { name: /^Delete/ }).count(), 0);
    await shot(vp, 'webhooks-viewer');
    assert.deepEqual(await axe(vp), []);
    // The server refuses anyway.
    const r = await fetch(`${API}/api/v1/workflows/${hook.workflow.id}/hooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(username, password)}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(r.status, 403);
  } finally {
    await vp.context().close();
  }
});

test('webhooks: axe-core reports no serious or critical violations on the page and its dialogs in the dark theme', async () => {
  const p = await newPage({ dark: true });
  try {
    await uiLogin(p, 'admin', ADMIN_PASSWORD);
    await go(p, `/workflows/${hook.workflow.id}/webhooks`);
    await hookRow(p).waitFor();
    await p.getByRole('form', { name: 'New webhook' }).getByLabel(/Require a signature/).check();
    await p.waitForTimeout(300);
    const found = (await axe(p)).map((v) => `page: ${v.id} at ${v.nodes.join(', ')}`);
    await shot(p, 'webhooks-dark');
    await hookRow(p).getByRole('button', { name: `Delete ${hook.name}` }).click();
    await p.getByRole('dialog').waitFor();
    await p.waitForTimeout(200);
    for (const v of await axe(p)) found.push(`delete dialog: ${v.id} at ${v.nodes.join(', ')}`);
    await p.keyboard.press('Escape');
    assert.deepEqual(found, []);
  } finally {
    await p.context().close();
  }
});

test('webhooks: delete it after a confirmation (Cancel keeps it); its URL then answers 404', async () => {
  const row = hookRow();
  const del = row.getByRole('button', { name: `Delete ${hook.name}` });
  const dialog = page.getByRole('dialog', { name: `Delete “${hook.name}”?` });
  await del.click();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await api(admin, `workflows/${hook.workflow.id}/hooks`)).length, 1, 'still there');
  await del.click();
  await shot(page, 'webhooks-delete-confirm');
  await dialog.getByRole('button', { name: 'Delete webhook' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByText(`Deleted “${hook.name}”`).waitFor();
  await row.waitFor({ state: 'detached' });
  await page.getByText('No webhooks on this workflow').waitFor();
  assert.deepEqual(await api(admin, `workflows/${hook.workflow.id}/hooks`), []);
  assert.equal((await callHook(hook.token)).status, 404);
});

// ---- rerun: a new execution from a chosen component of an ended one
const rerun = { workflow: null, first: null };
async function ended(id) {
  for (let i = 0; i < 200; i++) {
    const e = await api(admin, `executions/${id}`);
    if (['completed', 'failed', 'cancelled'].includes(e.status)) return e;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`execution ${id} did not end`);
}

test('rerun: from a component of a completed run (chosen by keyboard), landing on the new run, which completes reusing what is upstream', async () => {
  rerun.workflow = await api(admin, 'workflows', { body: greetFlow(`Rerun flow ${Date.now()}`) });
  const first = await api(admin, `workflows/${rerun.workflow.id}/execute`, { body: { parameters: { who: 'Ada' } } });
  rerun.first = await ended(first.id);
  assert.equal(rerun.first.status, 'completed');
  await go(page, `/executions/${first.id}`);
  await page.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor();
  await node('greet').waitFor();
  // Focus the node and press Enter: its panel opens, with the rerun button.
  await page.locator('.react-flow__node[data-id="greet"]').focus();
  await page.keyboard.press('Enter');
  const panel = page.getByTestId('exec-node-panel');
  await panel.getByRole('heading', { name: /greet/ }).waitFor();
  await page.getByRole('button', { name: '↻ Rerun from here' }).click();
  const dialog = page.getByRole('dialog', { name: 'Rerun from “greet”' });
  await dialog.waitFor();
  const params = dialog.getByLabel('Parameters (JSON)');
  assert.deepEqual(JSON.parse(await params.inputValue()), { who: 'Ada' }, "prefilled with the run's parameters");
  // Not JSON: refused before any request.
  await params.fill('{who: Ada}');
  await dialog.getByRole('button', { name: '↻ Rerun from greet' }).click();
  await dialog.getByTestId('field-rerun-parameters').locator('.field-error').filter({ hasText: 'Not valid JSON' }).waitFor();
  await params.fill('{"who": "Grace"}');
  await shot(page, 'rerun-dialog');
  assert.deepEqual(await axe(page), []);
  await dialog.getByRole('button', { name: '↻ Rerun from greet' }).click();
  await page.waitForURL((u) => /\/executions\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.endsWith(first.id));
  const second = page.url().split('/').pop();
  await page.getByText('Rerunning from greet').waitFor();
  await page.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
  for (const id of ['start', 'greet', 'end']) await page.waitForSelector(`[data-testid="node-${id}"][data-status="completed"]`);
  await shot(page, 'rerun-completed');
  const again = await api(admin, `executions/${second}`);
  assert.equal(again.status, 'completed');
  assert.deepEqual(again.parameters, { who: 'Grace' });
  assert.equal(again.rerun_of, first.id, 'linked to the original');
  const back = page.getByTestId('rerun-of');
  assert.match(await back.textContent(), new RegExp(`rerun of ${first.id.slice(-8)}`));
  assert.equal(await back.getAttribute('href'), `/executions/${first.id}`);
  const at = (e, id) => e.components.find((c) => c.component_id === id).completed_at;
  assert.equal(at(again, 'start'), at(rerun.first, 'start'), 'start was not run again');
  assert.ok(at(again, 'greet') > at(rerun.first, 'greet'), 'greet ran again');
  // Back on the original, nothing changed.
  assert.equal((await api(admin, `executions/${first.id}`)).status, 'completed');
});

test("rerun: from a component whose upstream failed shows the server's refusal, and a running execution offers no rerun", async () => {
  // An HTTP request to a loopback address is refused by the server's guard: the step fails.
  const failing = await api(admin, 'workflows', {
    body: {
      name: `Failing flow ${Date.now()}`,
      definition: {
        components: [
          { id: 'start', type: 'start' },
          { id: 'fetch', type: 'http_request', config: { url: 'http://127.0.0.1:1/nothing', method: 'GET', retry_attempts: 0 } },
          { id: 'end', type: 'end' },
        ],
        connections: [
          { source: 'start', target: 'fetch' },
          { source: 'fetch', target: 'end' },
        ],
      },
    },
  });
  const run = await api(admin, `workflows/${failing.id}/execute`, { body: {} });
  assert.equal((await ended(run.id)).status, 'failed');
  await go(page, `/executions/${run.id}`);
  await page.getByTestId('exec-status').filter({ hasText: 'failed' }).waitFor();
  await node('end').click();
  await page.getByRole('button', { name: '↻ Rerun from here' }).click();
  const dialog = page.getByRole('dialog', { name: 'Rerun from “end”' });
  await dialog.getByRole('button', { name: '↻ Rerun from end' }).click();
  const alert = dialog.getByRole('alert').filter({ hasText: 'Could not rerun' });
  await alert.waitFor();
  assert.match(await alert.textContent(), /'fetch', upstream of 'end', did not complete/);
  await shot(page, 'rerun-refused');
  assert.deepEqual(await axe(page), []);
  assert.equal(page.url().endsWith(run.id), true, 'still on the original');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  // While a run is going, the button is not offered (the server would answer 409).
  const slow = await api(admin, 'workflows', {
    body: {
      name: `Slow flow ${Date.now()}`,
      definition: {
        components: [
          { id: 'start', type: 'start' },
          { id: 'wait', type: 'delay', config: { seconds: 3 } },
          { id: 'end', type: 'end' },
        ],
        connections: [
          { source: 'start', target: 'wait' },
          { source: 'wait', target: 'end' },
        ],
      },
    },
  });
  const going = await api(admin, `workflows/${slow.id}/execute`, { body: {} });
  await go(page, `/executions/${going.id}`);
  await page.waitForSelector('[data-testid="node-wait"][data-status="running"]');
  await node('start').click();
  await page.getByTestId('exec-node-panel').getByRole('heading', { name: /start/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: '↻ Rerun from here' }).count(), 0);
  const refused = await fetch(`${API}/api/v1/executions/${going.id}/rerun`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 'wait' }),
  });
  assert.equal(refused.status, 409);
  // Once it has ended, it is.
  await page.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: '↻ Rerun from here' }).waitFor();
});

// ---- approvals and signals: steps that wait for a decision or an event, ended from the UI
const seq = (...steps) => ({
  components: [{ id: 'start', type: 'start' }, ...steps, { id: 'end', type: 'end' }],
  connections: ['start', ...steps.map((s) => s.id), 'end'].slice(1).map((target, i, all) => ({ source: i ? all[i - 1] : 'start', target })),
});
/** The execution once its component `cid` waits (its `waiting` set). */
async function waitingAt(id, cid) {
  for (let i = 0; i < 200; i++) {
    const e = await api(admin, `executions/${id}`);
    if (e.components?.find((c) => c.component_id === cid)?.waiting) return e;
    if (['completed', 'failed', 'cancelled'].includes(e.status)) throw new Error(`execution ${id} ended ${e.status} before ${cid} waited`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${cid} of ${id} did not wait`);
}
async function newUser(prefix, role) {
  const username = `${prefix}${Date.now() % 1000000}`;
  const password = `${prefix}-password-123`;
  const user = await api(admin, 'users', { body: { username, password, role } });
  return { ...user, username, password };
}
/** The error message tied to an input by its aria-describedby. */
async function describedError(p, input) {
  const ids = ((await input.getAttribute('aria-describedby')) ?? '').split(' ').filter((x) => x.endsWith('-error'));
  return ids.length ? p.locator(`[id="${ids[0]}"]`).textContent() : null;
}

test('approvals: an operator approver sees the waiting approval in Approvals, a missing required field is shown at it, approving completes the run; a viewer sees none', async () => {
  const op = await newUser('approver', 'operator');
  const viewer = await newUser('onlooker', 'viewer');
  const w = await api(admin, 'workflows', {
    body: {
      name: `Release flow ${Date.now()}`,
      definition: seq({
        id: 'sign_off',
        type: 'approval',
        config: {
          message: 'Ship release 1.2 to production?',
          approvers: { users: [op.username] },
          form: { type: 'object', properties: { ticket: { type: 'string', description: 'The change ticket' }, risk: { enum: ['low', 'high'] } }, required: ['ticket'] },
          timeout: 3600,
        },
      }),
    },
  });
  await api(admin, `workflows/${w.id}/shares`, {
    method: 'PUT',
    body: { shares: [{ user_id: op.id, actions: ['read', 'execute'] }, { user_id: viewer.id, actions: ['read'] }] },
  });
  const run = await api(admin, `workflows/${w.id}/execute`, { body: {} });
  await waitingAt(run.id, 'sign_off');
  // A viewer the workflow is shared with: nothing to decide, and none waiting that it may see.
  const vp = await newPage({ dark: true });
  try {
    await uiLogin(vp, viewer.username, viewer.password);
    await vp.getByRole('navigation').getByRole('link', { name: 'Approvals', exact: true }).click();
    await vp.getByText('Nothing is waiting for your decision.').waitFor();
    await vp.getByLabel('Show all waiting').check();
    await vp.waitForURL(/\/approvals\?all=1$/);
    await vp.getByText('No approval is waiting.').waitFor();
    assert.equal(await vp.getByTestId('approval-card').count(), 0);
    await shot(vp, 'approvals-viewer-dark');
    assert.deepEqual(await axe(vp), []);
  } finally {
    await vp.context().close();
  }
  const p = await newPage();
  try {
    await uiLogin(p, op.username, op.password);
    // The navigation's count, and the card.
    const link = p.getByRole('navigation').getByRole('link', { name: 'Approvals', exact: true });
    await p.locator('[data-testid=approvals-count][data-count="1"]').waitFor();
    assert.match(await link.getAttribute('aria-describedby'), /nav-count-approvals/);
    await link.click();
    await p.waitForURL(/\/approvals$/);
    const card = p.getByTestId('approval-card').filter({ hasText: w.name });
    await card.waitFor();
    assert.equal(await p.getByTestId('approval-card').count(), 1);
    const text = await card.textContent();
    assert.match(text, /Ship release 1\.2 to production\?/);
    assert.match(text, /sign_off/);
    assert.match(text, new RegExp(op.username));
    assert.equal(await card.getByTestId('approval-progress').textContent(), '0 of 1');
    assert.equal(await card.getByRole('link', { name: `Execution ${run.id.slice(-12)}` }).getAttribute('href'), `/executions/${run.id}`);
    // Approving without the required field: the server's word, at the field and tied to it.
    const form = card.getByRole('form', { name: 'Decide on sign_off' });
    const ticket = form.getByLabel('ticket');
    assert.equal(await ticket.getAttribute('aria-required'), 'true');
    await form.getByLabel('risk').selectOption('high');
    await form.getByRole('button', { name: 'Approve' }).click();
    await form.locator('.field-error').filter({ hasText: 'is required' }).waitFor();
    assert.equal(await ticket.getAttribute('aria-invalid'), 'true');
    assert.match(await describedError(p, ticket), /is required/);
    await form.getByRole('alert').filter({ hasText: 'Could not record your decision' }).waitFor();
    await shot(p, 'approvals-missing-field');
    assert.deepEqual(await axe(p), []);
    assert.equal((await api(admin, `executions/${run.id}`)).status, 'running', 'still waiting');
    // Filled in: approved, the card and the count gone.
    await ticket.fill('CHG-42');
    await form.getByLabel('Comment').fill('Checked the rollout plan');
    await form.getByRole('button', { name: 'Approve' }).click();
    await p.getByText('Approved “sign_off”').waitFor();
    await card.waitFor({ state: 'detached' });
    await p.getByText('Nothing is waiting for your decision.').waitFor();
    await p.locator('[data-testid=approvals-count][data-count="0"]').waitFor({ state: 'attached' });
    // The execution goes on to the end, the values as the step's output.
    await go(p, `/executions/${run.id}`);
    await p.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
    await p.waitForSelector('[data-testid="node-sign_off"][data-status="completed"]');
    const done = await api(admin, `executions/${run.id}`);
    const out = done.components.find((c) => c.component_id === 'sign_off').output_data;
    assert.equal(out.approved, true);
    assert.deepEqual(out.values, { ticket: 'CHG-42', risk: 'high' });
    assert.equal(out.decisions[0].user, op.username);
    assert.equal(out.decisions[0].comment, 'Checked the rollout plan');
  } finally {
    await p.context().close();
  }
});

test('approvals: on the execution page a waiting approval is drawn apart with its progress (1/2) and decisions; who started it may not decide, another approver rejects it there', async () => {
  const [starter, early, late] = await Promise.all([newUser('starter', 'operator'), newUser('early', 'operator'), newUser('late', 'operator')]);
  const w = await api(admin, 'workflows', {
    body: {
      name: `Two-key flow ${Date.now()}`,
      definition: seq({
        id: 'two_keys',
        type: 'approval',
        config: { message: 'Rotate the root keys?', approvers: { users: [starter.username, early.username, late.username] }, required: 2 },
      }),
    },
  });
  const shares = [starter, early, late].map((u) => ({ user_id: u.id, actions: ['read', 'execute'] }));
  await api(admin, `workflows/${w.id}/shares`, { method: 'PUT', body: { shares } });
  const run = await api(await token(starter.username, starter.password), `workflows/${w.id}/execute`, { body: {} });
  await waitingAt(run.id, 'two_keys');
  await api(await token(early.username, early.password), `executions/${run.id}/approvals/two_keys`, { body: { decision: 'approve', comment: 'ok by me' } });
  // The one who started it: the wait, its progress and decisions, and why there is no form.
  const p = await newPage();
  try {
    await uiLogin(p, starter.username, starter.password);
    await go(p, `/executions/${run.id}`);
    await p.waitForSelector('[data-testid="node-two_keys"][data-status="waiting"]');
    assert.match(await p.getByTestId('node-two_keys').getAttribute('class'), /\bst-waiting\b/);
    const waits = p.getByRole('region', { name: 'Waiting steps' });
    await waits.getByTestId('wait-badge').filter({ hasText: 'waiting for approval (1/2)' }).waitFor();
    assert.match(await waits.textContent(), /Rotate the root keys\?/);
    assert.match(await waits.getByRole('list', { name: 'Decisions so far' }).textContent(), new RegExp(`${early.username}\\s*approved.*ok by me`));
    await waits.getByTestId('cannot-decide').filter({ hasText: 'does not allow self-approval' }).waitFor();
    assert.equal(await waits.getByRole('form').count(), 0);
    await shot(p, 'approvals-execution-waiting');
    assert.deepEqual(await axe(p), []);
  } finally {
    await p.context().close();
  }
  // Another approver, from the node's panel, in the dark theme: rejects with a comment, and the run fails.
  const lp = await newPage({ dark: true });
  try {
    await uiLogin(lp, late.username, late.password);
    await go(lp, `/executions/${run.id}`);
    await lp.getByTestId('node-two_keys').click();
    const panel = lp.getByTestId('exec-node-panel');
    await panel.getByTestId('wait-badge').filter({ hasText: 'waiting for approval (1/2)' }).waitFor();
    const form = panel.getByRole('form', { name: 'Decide on two_keys' });
    await form.getByLabel('Comment').fill('Not this week');
    await shot(lp, 'approvals-execution-decide-dark');
    assert.deepEqual(await axe(lp), []);
    await form.getByRole('button', { name: 'Reject' }).click();
    await lp.getByText('Rejected “two_keys”').waitFor();
    await lp.getByTestId('exec-status').filter({ hasText: 'failed' }).waitFor({ timeout: 20_000 });
    await lp.waitForSelector('[data-testid="node-two_keys"][data-status="failed"]');
    assert.equal(await lp.getByTestId('waits').count(), 0);
  } finally {
    await lp.context().close();
  }
  const failed = await api(admin, `executions/${run.id}`);
  assert.equal(failed.status, 'failed');
  assert.match(failed.components.find((c) => c.component_id === 'two_keys').error_message, new RegExp(`rejected by ${late.username}`));
});

test('signals: a run waiting for an event shows it on its execution page; the signal sent from the form (a bad payload refused first) completes it with the payload as the output', async () => {
  const w = await api(admin, 'workflows', {
    body: {
      name: `Payment flow ${Date.now()}`,
      definition: {
        parameters: [{ name: 'order', parameter_type: 'integer', required: true }],
        ...seq({ id: 'paid', type: 'wait_for_event', config: { event: 'paid', key: '{{ params.order }}', timeout: 600 } }),
      },
    },
  });
  const run = await api(admin, `workflows/${w.id}/execute`, { body: { parameters: { order: 7 } } });
  await waitingAt(run.id, 'paid');
  const p = await newPage();
  try {
    await uiLogin(p, 'admin', ADMIN_PASSWORD);
    await go(p, `/executions/${run.id}`);
    await p.waitForSelector('[data-testid="node-paid"][data-status="waiting"]');
    const waits = p.getByRole('region', { name: 'Waiting steps' });
    await waits.getByTestId('wait-badge').filter({ hasText: "waiting for signal 'paid' (key 7)" }).waitFor();
    const form = waits.getByRole('form', { name: 'Send signal paid' });
    assert.equal(await form.getByLabel('Key').inputValue(), '7', 'the key it waits for');
    const payload = form.getByLabel('Payload (JSON)');
    await payload.fill('{amount: 42}');
    await form.getByRole('button', { name: 'Send signal' }).click();
    await form.locator('.field-error').filter({ hasText: 'Not valid JSON' }).waitFor();
    assert.equal(await payload.getAttribute('aria-invalid'), 'true');
    assert.match(await describedError(p, payload), /Not valid JSON/);
    await shot(p, 'signals-bad-payload');
    assert.deepEqual(await axe(p), []);
    assert.equal((await api(admin, `executions/${run.id}`)).status, 'running', 'nothing sent');
    await payload.fill('{"amount": 42, "by": "card"}');
    await form.getByRole('button', { name: 'Send signal' }).click();
    await p.getByText("Signal 'paid' sent").waitFor();
    await p.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
    await p.waitForSelector('[data-testid="node-paid"][data-status="completed"]');
    await p.getByTestId('node-paid').click();
    await p.getByTestId('exec-node-panel').getByLabel('Output', { exact: true }).filter({ hasText: '"by": "card"' }).waitFor();
    await shot(p, 'signals-completed');
  } finally {
    await p.context().close();
  }
  const done = await api(admin, `executions/${run.id}`);
  assert.deepEqual(done.components.find((c) => c.component_id === 'paid').output_data, { amount: 42, by: 'card' });
});

// ---- child executions: sub_workflow and for_each steps, their children, and the way back
/** A for_each over `items` whose inline body echoes "index:item". */
const eachFlow = (name, items, concurrency) => ({
  name,
  definition: {
    components: [
      { id: 'start', type: 'start' },
      {
        id: 'each',
        type: 'for_each',
        config: {
          items,
          concurrency,
          components: [
            { id: 'start', type: 'start' },
            { id: 'echo', type: 'task', config: { task_type: 'echo', message: '{{ index }}:{{ item }}' } },
          ],
          connections: [{ source: 'start', target: 'echo' }],
        },
      },
    ],
    connections: [{ source: 'start', target: 'each' }],
  },
});

test('for_each: its 12 children are listed completed on the execution page; a child links back to the step and its item, and draws its inline body', async () => {
  const items = 'abcdefghijkl'.split('');
  const w = await api(admin, 'workflows', { body: eachFlow(`Each flow ${Date.now()}`, items, 3) });
  const run = await api(admin, `workflows/${w.id}/execute`, { body: {} });
  const p = await newPage();
  try {
    await uiLogin(p, 'admin', ADMIN_PASSWORD);
    await go(p, `/executions/${run.id}`);
    await p.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
    // On the node: all twelve ended.
    await p.locator('[data-testid="node-each"] [data-testid="node-progress"][data-ended="12"][data-total="12"]').waitFor();
    // With no node chosen: the step's progress among the run's child executions.
    const overview = p.getByRole('region', { name: 'Child executions' });
    await overview.getByTestId('children-ended').filter({ hasText: '12/12' }).waitFor();
    assert.equal(await overview.getByRole('progressbar', { name: 'Children of each' }).getAttribute('aria-valuenow'), '12');
    // The step's panel: the twelve children in item order, each completed, each a link.
    await overview.getByRole('button', { name: 'Show step each' }).click();
    const list = p.getByRole('region', { name: 'Items of each' });
    const table = list.getByRole('table', { name: 'Child executions of each' });
    await table.waitFor();
    const rows = table.getByTestId('child-row');
    assert.equal(await rows.count(), 12);
    assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.item)), items.map((_, i) => String(i)));
    assert.deepEqual([...new Set(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.status)))], ['completed']);
    assert.match(await list.getByTestId('children-ended').textContent(), /12\/12/);
    // The status filter.
    await list.getByLabel('Show').selectOption('completed');
    assert.equal(await rows.count(), 12);
    await shot(p, 'for-each-children');
    assert.deepEqual(await axe(p), []);
    const children = await api(admin, `executions/${run.id}/children`);
    assert.equal(children.length, 12);
    const fifth = children[5];
    assert.deepEqual(fifth.parent, { execution_id: run.id, component_id: 'each', item: 5 });
    const link = table.getByRole('link', { name: `${fifth.id.slice(-8)}, item 5`, exact: true });
    assert.equal(await link.getAttribute('href'), `/executions/${fifth.id}`);
    // Follow it: the child's page, its inline body drawn, and the link back.
    await link.click();
    await p.waitForURL(new RegExp(`/executions/${fifth.id}$`));
    await p.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor();
    await p.waitForSelector('[data-testid="node-echo"][data-status="completed"]');
    assert.equal(await p.getByTestId('node-each').count(), 0, "the body's graph, not the parent's");
    const back = p.getByTestId('child-of');
    assert.equal(await back.textContent(), `child of ${run.id.slice(-8)} · step each · item 5`);
    assert.equal(await back.getAttribute('href'), `/executions/${run.id}?step=each`);
    await p.getByTestId('node-echo').click();
    await p.getByTestId('exec-node-panel').getByLabel('Output', { exact: true }).filter({ hasText: '5:f' }).waitFor();
    await shot(p, 'for-each-child');
    assert.deepEqual(await axe(p), []);
    await back.click();
    await p.waitForURL(new RegExp(`/executions/${run.id}\\?step=each$`));
    // Back on the parent, the step's panel open at its children.
    await p.getByRole('region', { name: 'Items of each' }).getByTestId('child-row').first().waitFor();
    assert.equal(await p.getByRole('region', { name: 'Items of each' }).getByTestId('child-row').count(), 12);
  } finally {
    await p.context().close();
  }
  const done = await api(admin, `executions/${run.id}`);
  assert.deepEqual(done.components.find((c) => c.component_id === 'each').output_data, items.map((it, i) => ({ echo: { message: `${i}:${it}` } })));
});

test('sub_workflow: the step links straight to its child run, which links back to the step, in the dark theme', async () => {
  const callee = await api(admin, 'workflows', {
    body: {
      name: `Callee flow ${Date.now()}`,
      definition: {
        parameters: [{ name: 'who', parameter_type: 'string', required: true }],
        ...seq({ id: 'greet', type: 'task', config: { task_type: 'echo', message: 'Hello {{ params.who }}' } }),
      },
    },
  });
  const caller = await api(admin, 'workflows', {
    body: { name: `Caller flow ${Date.now()}`, definition: seq({ id: 'call', type: 'sub_workflow', config: { workflow_id: callee.id, parameters: { who: 'Ada' } } }) },
  });
  const run = await api(admin, `workflows/${caller.id}/execute`, { body: {} });
  assert.equal((await ended(run.id)).status, 'completed');
  const [child] = await api(admin, `executions/${run.id}/children`);
  assert.equal(child.workflow_id, callee.id);
  const p = await newPage({ dark: true });
  try {
    await uiLogin(p, 'admin', ADMIN_PASSWORD);
    await go(p, `/executions/${run.id}`);
    await p.getByTestId('exec-status').filter({ hasText: 'completed' }).waitFor();
    await p.locator('[data-testid="node-call"] [data-testid="node-progress"][data-ended="1"][data-total="1"]').waitFor();
    assert.equal(await p.getByRole('region', { name: 'Child executions' }).getByRole('link', { name: /, the run of call$/ }).getAttribute('href'), `/executions/${child.id}`);
    await p.getByTestId('node-call').click();
    const open = p.getByRole('region', { name: 'Sub-workflow of call' }).getByTestId('sub-child-link');
    assert.equal(await open.getAttribute('href'), `/executions/${child.id}`);
    await shot(p, 'sub-workflow-dark');
    assert.deepEqual(await axe(p), []);
    await open.click();
    await p.waitForURL(new RegExp(`/executions/${child.id}$`));
    await p.waitForSelector('[data-testid="node-greet"][data-status="completed"]');
    const back = p.getByTestId('child-of');
    assert.equal(await back.textContent(), `child of ${run.id.slice(-8)} · step call`);
    await p.getByTestId('node-greet').click();
    await p.getByTestId('exec-node-panel').getByLabel('Output', { exact: true }).filter({ hasText: 'Hello Ada' }).waitFor();
    await shot(p, 'sub-workflow-child-dark');
    await back.click();
    await p.waitForURL(new RegExp(`/executions/${run.id}\\?step=call$`));
    await p.getByRole('region', { name: 'Sub-workflow of call' }).getByTestId('sub-child-link').waitFor();
  } finally {
    await p.context().close();
  }
});

test('executions list: child executions are hidden by default, shown (with their parent) on request', async () => {
  const w = await api(admin, 'workflows', { body: eachFlow(`Each list flow ${Date.now()}`, [1, 2, 3], 3) });
  const run = await api(admin, `workflows/${w.id}/execute`, { body: {} });
  assert.equal((await ended(run.id)).status, 'completed');
  await go(page, `/executions?workflow_id=${w.id}`);
  const table = page.getByRole('table', { name: 'Executions' });
  await table.getByRole('link', { name: run.id.slice(-12) }).waitFor();
  assert.equal(await table.locator('tbody tr').count(), 1, 'only the parent');
  await page.getByTestId('children-hidden').filter({ hasText: '3 child executions hidden on this page' }).waitFor();
  await page.getByLabel('Hide child executions').uncheck();
  await page.waitForURL(/children=1/);
  await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Executions"] tbody tr').length === 4);
  const parents = table.getByRole('link', { name: `Parent execution ${run.id.slice(-8)}` });
  assert.equal(await parents.count(), 3);
  assert.equal(await parents.first().getAttribute('href'), `/executions/${run.id}?step=each`);
  await shot(page, 'executions-with-children');
  assert.deepEqual(await axe(page), []);
  await page.getByLabel('Hide child executions').check();
  await page.waitForURL((u) => !u.search.includes('children'));
  await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Executions"] tbody tr').length === 1);
});

test("for_each: in the designer its inline body is JSON text: a problem inside it is shown at the field with where, bad JSON is flagged, a fixed body saves", async () => {
  const w = await api(admin, 'workflows', { body: eachFlow(`Each design flow ${Date.now()}`, '{{ params.rows }}', 2) });
  const p = await newPage({ dark: true });
  try {
    await uiLogin(p, 'admin', ADMIN_PASSWORD);
    await go(p, `/workflows/${w.id}/design`);
    await p.getByTestId('node-each').click();
    await p.getByRole('textbox', { name: 'items' }).filter({ hasText: '{{ params.rows }}' }).waitFor();
    const body = p.getByRole('textbox', { name: 'components' });
    await body.filter({ hasText: '"task_type": "echo"' }).waitFor();
    const field = p.locator('[data-field="components"]');
    const replace = async (text) => {
      await body.click();
      await p.keyboard.press('Control+a');
      await p.keyboard.insertText(text);
    };
    // An inner component without its task_type: the server's problem, at the field, saying where.
    const inner = (config) => JSON.stringify([{ id: 'start', type: 'start' }, { id: 'echo', type: 'task', config }], null, 2);
    await replace(inner({ message: '{{ item }}' }));
    await field.getByRole('alert').filter({ hasText: 'components[1] (echo).config.task_type: is required' }).waitFor();
    await p.getByTestId('node-error-each').waitFor();
    await replace('[{"id": "start"');
    await field.getByText('Not valid JSON yet').waitFor();
    await shot(p, 'for-each-designer-dark');
    assert.deepEqual(await axe(p), []);
    await replace(inner({ task_type: 'echo', message: '{{ item }}!' }));
    await p.getByTestId('node-error-each').waitFor({ state: 'detached' });
    await p.getByTestId('validity').filter({ hasText: 'Valid' }).waitFor();
    await p.getByTestId('save').click();
    await p.getByText('Saved — version 2').waitFor();
  } finally {
    await p.context().close();
  }
  const saved = await api(admin, `workflows/${w.id}`);
  const each = saved.definition.components.find((c) => c.id === 'each');
  assert.equal(each.config.items, '{{ params.rows }}');
  assert.deepEqual(each.config.components[1].config, { task_type: 'echo', message: '{{ item }}!' });
  assert.deepEqual(each.config.connections, [{ source: 'start', target: 'echo' }]);
});

test('for_each: 150 items are listed a hundred at a time, and the status filter finds the two that failed while the others went on', async () => {
  const items = Array.from({ length: 150 }, (_, i) => (i === 7 || i === 120 ? 'fail' : 'echo'));
  const w = await api(admin, 'workflows', {
    body: {
      name: `Each many flow ${Date.now()}`,
      definition: {
        components: [
          { id: 'start', type: 'start' },
          {
            id: 'each',
            type: 'for_each',
            config: {
              items,
              concurrency: 50,
              on_item_failure: 'continue',
              components: [
                { id: 'start', type: 'start' },
                { id: 'task', type: 'task', config: { task_type: '{{ item }}', message: '{{ index }}', retryable: false, retry_attempts: 0 } },
              ],
              connections: [{ source: 'start', target: 'task' }],
            },
          },
        ],
        connections: [{ source: 'start', target: 'each' }],
      },
    },
  });
  const run = await api(admin, `workflows/${w.id}/execute`, { body: {} });
  const done = await ended(run.id);
  assert.equal(done.status, 'completed', 'a failed item does not fail the step');
  const out = done.components.find((c) => c.component_id === 'each').output_data;
  assert.equal(out.length, 150);
  assert.equal(out[7].status, 'failed');
  await go(page, `/executions/${run.id}?step=each`);
  const list = page.getByRole('region', { name: 'Items of each' });
  const rows = list.getByTestId('child-row');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="child-row"]').length === 100);
  assert.equal(await list.getByTestId('children-page').textContent(), '1–100 of 150');
  assert.match(await list.getByTestId('children-ended').textContent(), /150\/150/);
  assert.match(await list.textContent(), /148 completed.*2 failed/);
  await list.getByRole('button', { name: 'Next hundred' }).click();
  await list.getByTestId('children-page').filter({ hasText: '101–150 of 150' }).waitFor();
  assert.equal(await rows.count(), 50);
  assert.equal(await rows.first().getAttribute('data-item'), '100');
  assert.equal(await list.getByRole('button', { name: 'Next hundred' }).isDisabled(), true);
  await list.getByLabel('Show').selectOption('failed');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="child-row"]').length === 2);
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.item)), ['7', '120']);
  assert.equal(await list.locator('.child-error').count(), 2);
  assert.equal(await list.getByTestId('children-page').count(), 0, 'one page');
  await shot(page, 'for-each-failed-filter');
  assert.deepEqual(await axe(page), []);
});

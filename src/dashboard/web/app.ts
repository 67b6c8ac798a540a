/**
 * The dashboard page: a live view of the CanaryDeployments the person may see.
 *
 * It loads `/api/releases` once, then follows `/api/stream` (server-sent events, one
 * `release` event per change and `deleted` when one goes away) and re-renders only the
 * card that changed. Buttons post a JSON body with the `X-Codedance-Request` header to
 * `/api/releases/<ns>/<name>/<command>`, which writes the command as the person.
 *
 * Identity: the local dashboard needs none (it acts with the person's kubeconfig). The
 * in-cluster one answers 401 without a bearer token: the page then asks for one, keeps
 * it for this tab only (sessionStorage) and sends it as `Authorization: Bearer` on every
 * request, which is why the stream is read with fetch rather than EventSource (which
 * cannot send headers). An auth proxy in front that adds the header works as well.
 * Served as JavaScript by stripping these types.
 */
import type { ReleaseView, StepView } from '../release-view.ts';

const releases = new Map<string, ReleaseView>();
const list = document.querySelector<HTMLElement>('#releases')!;
const summary = document.querySelector<HTMLElement>('#summary')!;
const empty = document.querySelector<HTMLElement>('#empty')!;
const filter = document.querySelector<HTMLInputElement>('#filter')!;
const phaseFilter = document.querySelector<HTMLSelectElement>('#phase-filter')!;
const connection = document.querySelector<HTMLElement>('#connection')!;
const whoami = document.querySelector<HTMLElement>('#whoami')!;
const login = document.querySelector<HTMLFormElement>('#login')!;
const tokenInput = document.querySelector<HTMLInputElement>('#token')!;

const TOKEN_KEY = 'codedance.token';

/** Headers of every API request: the bearer token when the person gave one. */
function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Shows the token form (the API said 401). */
function askForToken(message: string): void {
  connection.textContent = 'signed out';
  connection.className = 'connection down';
  login.hidden = false;
  login.querySelector('p')!.textContent = message;
}

const keyOf = (r: { namespace: string; name: string }): string => `${r.namespace}/${r.name}`;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string | undefined)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) if (child !== undefined) node.append(child);
  return node;
}

function timeOf(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

function renderStep(step: StepView, index: number): HTMLElement {
  const hint = step.approval ? 'approval' : (step.pause ?? '');
  return el('div', { class: `step ${step.state}`, title: `step ${index + 1}` }, `${step.weight}%`, el('small', {}, hint));
}

function renderAnalysis(view: ReleaseView): HTMLElement {
  const box = el('div', {}, el('h3', {}, 'Last analysis'));
  const run = view.analysis;
  if (!run) {
    box.append(el('p', { class: 'message' }, view.hasMetrics ? 'waiting for the first analysis' : 'no metrics configured: steps advance on their pause'));
    return box;
  }
  const head = el(
    'p',
    { class: 'message' },
    `${timeOf(run.time)} · decision `,
    el('b', {}, run.decision),
    run.score === undefined ? '' : ' · score ',
    run.score === undefined ? '' : el('span', { class: 'score' }, run.score.toFixed(0)),
  );
  const table = el('table', {}, el('tr', {}, el('th', {}, 'metric'), el('th', {}, 'value'), el('th', {}, 'threshold'), el('th', {}, 'score')));
  for (const metric of run.metrics) {
    const cls = metric.passed === false ? 'fail' : metric.passed ? 'pass' : '';
    table.append(
      el(
        'tr',
        {},
        el('td', {}, metric.name),
        el('td', { class: cls }, metric.value === undefined ? (metric.message ?? 'no data') : String(Math.round(metric.value * 100) / 100)),
        el('td', {}, metric.threshold ?? ''),
        el('td', {}, metric.score === undefined ? '' : metric.score.toFixed(0)),
      ),
    );
  }
  box.append(head, table);
  return box;
}

function renderHistory(view: ReleaseView): HTMLElement {
  const items = el('ul', { class: 'history' });
  for (const entry of view.history) {
    const where = entry.weight === undefined ? '' : ` (${entry.weight}%)`;
    const by = entry.by ? el('span', { class: 'by' }, ` by ${entry.by}`) : undefined;
    items.append(el('li', {}, el('time', {}, timeOf(entry.time)), el('b', {}, entry.event), by, where, entry.message ? ` — ${entry.message}` : ''));
  }
  return el('div', {}, el('h3', {}, 'History'), items);
}

async function send(view: ReleaseView, command: string): Promise<void> {
  // A JSON body and a custom header: a cross-site form can send neither.
  const response = await fetch(`/api/releases/${encodeURIComponent(view.namespace)}/${encodeURIComponent(view.name)}/${command}`, {
    method: 'POST',
    headers: { ...authHeaders(), 'content-type': 'application/json', 'x-codedance-request': 'dashboard' },
    body: '{}',
  });
  const body = (await response.json().catch(() => ({}))) as { message?: string };
  if (response.status === 401) askForToken(body.message ?? 'sign in again');
  toast(body.message ?? (response.ok ? `${command} sent` : `${command} failed (${response.status})`));
}

function toast(text: string): void {
  const note = el('div', { class: 'toast', role: 'status' }, text);
  document.body.append(note);
  setTimeout(() => note.remove(), 3500);
}

function renderActions(view: ReleaseView): HTMLElement {
  const bar = el('div', { class: 'actions' });
  const buttons: [string, string, boolean, string?][] = [
    ['promote', 'Promote', view.actions.promote],
    ['pause', 'Pause', view.actions.pause],
    ['resume', 'Resume', view.actions.resume],
    ['retry', 'Retry', view.actions.retry],
    ['abort', 'Abort', view.actions.abort, 'danger'],
  ];
  for (const [command, label, enabled, cls] of buttons) {
    const button = el('button', cls ? { class: cls } : {}, label);
    button.disabled = !enabled;
    button.addEventListener('click', () => {
      if (command === 'abort' && !confirm(`Abort ${view.name}? Traffic goes back to stable and the canary is removed.`)) return;
      void send(view, command);
    });
    bar.append(button);
  }
  return bar;
}

function renderRelease(view: ReleaseView): HTMLElement {
  const card = el('article', { class: 'release', id: `release-${keyOf(view)}` });
  if (view.malformed !== undefined) {
    card.append(
      el(
        'div',
        { class: 'release-head' },
        el('h2', {}, view.name),
        el('span', { class: 'ns' }, view.namespace),
        el('span', { class: 'badge Malformed' }, 'Malformed'),
      ),
      el('p', { class: 'message' }, view.message ?? view.malformed),
    );
    return card;
  }
  card.append(
    el(
      'div',
      { class: 'release-head' },
      el('h2', {}, view.name),
      el('span', { class: 'ns' }, view.namespace),
      el('span', { class: `badge ${view.phase}` }, view.phase),
      el('span', { class: 'version' }, `${view.stableRevision ?? '?'} → ${view.version}`),
      el('span', { class: 'ns' }, `${view.strategy} · ${view.provider}`),
    ),
    el('p', { class: 'message' }, view.message ?? ''),
  );
  const split = el('div', { class: 'split', role: 'img', 'aria-label': `canary weight ${view.weight}%` });
  // Widths through the CSSOM: the Content-Security-Policy forbids inline style attributes.
  const stable = el('div', { class: 'stable' });
  const canary = el('div', { class: 'canary' });
  stable.style.width = `${100 - view.weight}%`;
  canary.style.width = `${view.weight}%`;
  split.append(stable, canary);
  card.append(split, el('div', { class: 'split-legend' }, el('span', {}, `stable ${100 - view.weight}%`), el('span', {}, `canary ${view.weight}%`)));
  const ladder = el('div', { class: 'ladder' });
  for (const [index, step] of view.steps.entries()) ladder.append(renderStep(step, index));
  card.append(ladder, el('div', { class: 'columns' }, renderAnalysis(view), renderHistory(view)), renderActions(view));
  return card;
}

function visible(view: ReleaseView): boolean {
  const text = filter.value.trim().toLowerCase();
  if (text && !keyOf(view).toLowerCase().includes(text)) return false;
  return !phaseFilter.value || view.phase === phaseFilter.value;
}

function renderSummary(): void {
  const counts: Record<string, number> = { Total: releases.size };
  for (const view of releases.values()) counts[view.phase] = (counts[view.phase] ?? 0) + 1;
  summary.replaceChildren(
    ...['Total', 'Progressing', 'Paused', 'Completed', 'Failed'].map((name) =>
      el('div', { class: 'stat' }, el('b', {}, String(counts[name] ?? 0)), el('span', {}, name)),
    ),
  );
}

function renderAll(): void {
  const views = [...releases.values()].filter(visible).sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  list.replaceChildren(...views.map(renderRelease));
  empty.hidden = releases.size > 0;
  renderSummary();
}

function upsert(view: ReleaseView): void {
  releases.set(keyOf(view), view);
  const existing = document.getElementById(`release-${keyOf(view)}`);
  if (existing && visible(view)) existing.replaceWith(renderRelease(view));
  else renderAll();
  renderSummary();
}

/** Applies one server-sent event. */
function onEvent(name: string, data: string): void {
  if (name === 'snapshot') {
    releases.clear();
    for (const view of JSON.parse(data) as ReleaseView[]) releases.set(keyOf(view), view);
    renderAll();
  } else if (name === 'release') upsert(JSON.parse(data) as ReleaseView);
  else if (name === 'deleted') {
    const { namespace, name: release } = JSON.parse(data) as { namespace: string; name: string };
    releases.delete(keyOf({ namespace, name: release }));
    renderAll();
  } else if (name === 'unauthorized') askForToken((JSON.parse(data) as { message: string }).message);
}

/** Follows /api/stream until it ends; resolves false when the person must sign in. */
async function follow(): Promise<boolean> {
  const response = await fetch('/api/stream', { headers: { ...authHeaders(), accept: 'text/event-stream' } });
  if (response.status === 401) {
    askForToken(((await response.json().catch(() => ({}))) as { message?: string }).message ?? 'a bearer token is required');
    return false;
  }
  if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
  connection.textContent = 'live';
  connection.className = 'connection live';
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buffered += value;
    let end = buffered.indexOf('\n\n');
    while (end >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let name = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(name, data);
      end = buffered.indexOf('\n\n');
    }
  }
}

/** Keeps a stream open, reconnecting after a pause, until the person must sign in. */
async function connect(): Promise<void> {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 15_000)) {
    try {
      if (!(await follow())) return;
      delay = 1000;
    } catch {
      // Reconnect below.
    }
    connection.textContent = 'reconnecting…';
    connection.className = 'connection down';
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Says who the server takes the person for, or asks for a token. */
async function start(): Promise<void> {
  try {
    const response = await fetch('/api/whoami', { headers: authHeaders() });
    const body = (await response.json()) as { username?: string; message?: string };
    if (response.status === 401) return askForToken(body.message ?? 'a bearer token is required');
    login.hidden = true;
    whoami.textContent = body.username ? `as ${body.username}` : '';
  } catch {
    connection.textContent = 'cannot reach the dashboard';
    connection.className = 'connection down';
    return;
  }
  await connect();
}

login.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  tokenInput.value = '';
  void start();
});
filter.addEventListener('input', renderAll);
phaseFilter.addEventListener('change', renderAll);
void start();

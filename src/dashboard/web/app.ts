/**
 * The dashboard page: a live view of every CanaryDeployment the controller sees.
 *
 * It loads `/api/releases` once, then follows `/api/stream` (server-sent events, one
 * `release` event per change and `deleted` when one goes away) and re-renders only the
 * card that changed. Buttons post to `/api/releases/<ns>/<name>/<command>`, which asks
 * the controller exactly as the CLI does. Served as JavaScript by stripping these types.
 */
import type { ReleaseView, StepView } from '../release-view.ts';

const releases = new Map<string, ReleaseView>();
const list = document.querySelector<HTMLElement>('#releases')!;
const summary = document.querySelector<HTMLElement>('#summary')!;
const empty = document.querySelector<HTMLElement>('#empty')!;
const filter = document.querySelector<HTMLInputElement>('#filter')!;
const phaseFilter = document.querySelector<HTMLSelectElement>('#phase-filter')!;
const connection = document.querySelector<HTMLElement>('#connection')!;

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
  const hint = step.approval ? 'approval' : step.pause ?? '';
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
    items.append(el('li', {}, el('time', {}, timeOf(entry.time)), el('b', {}, entry.event), where, entry.message ? ` — ${entry.message}` : ''));
  }
  return el('div', {}, el('h3', {}, 'History'), items);
}

async function send(view: ReleaseView, command: string): Promise<void> {
  const response = await fetch(`/api/releases/${encodeURIComponent(view.namespace)}/${encodeURIComponent(view.name)}/${command}`, { method: 'POST' });
  const body = (await response.json().catch(() => ({}))) as { message?: string };
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
  split.append(el('div', { class: 'stable', style: `width:${100 - view.weight}%` }), el('div', { class: 'canary', style: `width:${view.weight}%` }));
  card.append(split, el('div', { class: 'split-legend' }, el('span', {}, `stable ${100 - view.weight}%`), el('span', {}, `canary ${view.weight}%`)));
  const ladder = el('div', { class: 'ladder' });
  view.steps.forEach((step, index) => ladder.append(renderStep(step, index)));
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
    ...['Total', 'Progressing', 'Paused', 'Completed', 'Failed'].map((name) => el('div', { class: 'stat' }, el('b', {}, String(counts[name] ?? 0)), el('span', {}, name))),
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

function connect(): void {
  const stream = new EventSource('/api/stream');
  stream.addEventListener('open', () => {
    connection.textContent = 'live';
    connection.className = 'connection live';
  });
  stream.addEventListener('snapshot', (event) => {
    releases.clear();
    for (const view of JSON.parse((event as MessageEvent<string>).data) as ReleaseView[]) releases.set(keyOf(view), view);
    renderAll();
  });
  stream.addEventListener('release', (event) => upsert(JSON.parse((event as MessageEvent<string>).data) as ReleaseView));
  stream.addEventListener('deleted', (event) => {
    const { namespace, name } = JSON.parse((event as MessageEvent<string>).data) as { namespace: string; name: string };
    releases.delete(keyOf({ namespace, name }));
    renderAll();
  });
  stream.addEventListener('error', () => {
    connection.textContent = 'reconnecting…';
    connection.className = 'connection down';
  });
}

/** First paint from one plain request, so the page shows releases even before (or without) the stream. */
async function load(): Promise<void> {
  try {
    const views = (await (await fetch('/api/releases')).json()) as ReleaseView[];
    for (const view of views) releases.set(keyOf(view), view);
    renderAll();
  } catch {
    connection.textContent = 'cannot reach the controller';
    connection.className = 'connection down';
  }
}

filter.addEventListener('input', renderAll);
phaseFilter.addEventListener('change', renderAll);
void load().then(connect);

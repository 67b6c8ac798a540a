import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardPanels, dashboardQueries, grafanaDashboard, prometheusRules } from './monitoring.ts';

test('dashboard panels have unique ids, fit the 24-column grid, do not overlap, and use only defined variables', () => {
  const panels = dashboardPanels();
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length);
  const taken = new Set<string>();
  for (const p of panels) {
    const { x, y, w, h } = p.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `${p.title} fits the grid`);
    for (let i = x; i < x + w; i++)
      for (let j = y; j < y + h; j++) {
        assert.ok(!taken.has(`${i},${j}`), `${p.title} overlaps another panel at ${i},${j}`);
        taken.add(`${i},${j}`);
      }
    if (p.type !== 'row')
      assert.ok(
        p.targets && p.targets.length > 0 && p.targets.every((t) => t.refId && t.expr),
        `${p.title} has queries`,
      );
  }
  const board = grafanaDashboard() as { templating: { list: { name: string }[] } };
  const defined = new Set([...board.templating.list.map((v) => v.name), '__rate_interval']);
  for (const { panel, expr } of dashboardQueries()) {
    for (const [, name] of expr.matchAll(/\$(\w+)/g))
      assert.ok(defined.has(name!), `${panel}: $${name} is a dashboard variable`);
  }
});

test('the PrometheusRule alerts on rollbacks and on releases paused for more than an hour', () => {
  const rules = prometheusRules() as {
    kind: string;
    spec: { groups: { rules: { alert: string; expr: string; for?: string }[] }[] };
  };
  assert.equal(rules.kind, 'PrometheusRule');
  const all = rules.spec.groups.flatMap((g) => g.rules);
  assert.match(
    all.find((r) => r.alert === 'CodedanceReleaseRolledBack')?.expr ?? '',
    /codedance_release_rollbacks_total/,
  );
  const paused = all.find((r) => r.alert === 'CodedanceReleasePausedTooLong');
  assert.equal(paused?.for, '1h');
  assert.match(paused?.expr ?? '', /phase="Paused"/);
});

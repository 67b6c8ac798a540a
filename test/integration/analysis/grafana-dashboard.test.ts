/**
 * The Grafana dashboard is loaded as Grafana's schema describes a dashboard: strictly
 * (unknown fields and wrong types refused) by the model the Grafana Foundation SDK
 * generates from Grafana's own schemas, then validated
 * (test/support/grafana-check, a Go program built from its pinned module on first use).
 * A dashboard broken on purpose must be refused, so the check can fail.
 * The chart's copy of the dashboard is the same file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findGo } from '../../../src/cluster/build.ts';
import { CommandError, runCommand } from '../../../src/cluster/exec.ts';
import { grafanaDashboard } from '../../../src/api/monitoring.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const checker = join(repo, 'test', 'support', 'grafana-check');

async function check(file: string): Promise<{ ok: boolean; output: string }> {
  const go = await findGo();
  const scratch = await mkdtemp(join(tmpdir(), 'grafana-check-'));
  try {
    const output = await runCommand(go.go, ['run', '.', file], {
      cwd: checker,
      env: { ...go.env, GOWORK: 'off', GOFLAGS: '-mod=readonly' },
      logPath: join(scratch, 'log'),
    });
    return { ok: true, output };
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    return {
      ok: false,
      output: (await readFile(join(scratch, 'log'), 'utf8').catch(() => '')) + err.message,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

test('the dashboard loads strictly with Grafana’s dashboard model and validates; a broken one does not', {
  timeout: 900_000,
}, async (t) => {
  const shipped = join(repo, 'deploy', 'grafana', 'codedance-dashboard.json');
  const result = await check(shipped);
  assert.ok(result.ok, result.output);
  assert.match(result.output, /ok .*codedance-dashboard\.json: 17 panels/);
  assert.equal(
    await readFile(join(repo, 'deploy', 'helm', 'codedance', 'dashboards', 'codedance.json'), 'utf8'),
    await readFile(shipped, 'utf8'),
    'the chart ships the same dashboard',
  );

  const dir = await mkdtemp(join(tmpdir(), 'dashboard-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const broken = grafanaDashboard() as { panels: Record<string, unknown>[] };
  broken.panels[1]!['gridPos'] = { h: 'eight', w: 8, x: 0, y: 1 };
  await writeFile(join(dir, 'broken.json'), JSON.stringify(broken));
  const refused = await check(join(dir, 'broken.json'));
  assert.ok(!refused.ok, 'a gridPos with a string height is refused');
  assert.match(refused.output, /gridPos/);
});

/**
 * `codedance backtest -f release.yaml --from T1 --to T2`: replays a release's analysis
 * on past Prometheus data (src/backtest/) and suggests thresholds from stable's own
 * behaviour over the window.
 *
 * Exit codes: 0 the release would have passed; 3 it would have rolled back; 4 paused
 * (so CI can gate a policy change on it); 1 cannot run (file, Prometheus); 2 usage.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { backtest } from '../backtest/run.ts';
import { renderBacktest } from '../backtest/render.ts';
import { readClusterState } from '../cluster/state.ts';
import { clusterStateDir, codedanceHome } from '../cluster/paths.ts';
import { errorMessage } from '../runtime/errors.ts';
import { parseDuration } from '../strategy/duration.ts';

const usage = `usage: codedance backtest -f RELEASE.yaml --from T1 [--to T2] [options]

Replays the release's analysis (spec.metrics, spec.analysis, spec.decision) on past
Prometheus data: at each analysis interval, each metric's value, the health score, and
whether the release would have continued, paused or rolled back. Then suggests
thresholds from the stable version's own behaviour over the window (its p99 plus a
margin) and shows how they would have decided.

options:
  -f, --file FILE          the CanaryDeployment (YAML or JSON; the first of that kind in the file)
  --from T, --to T         the window: RFC 3339 (2026-12-01T10:00:00Z), unix seconds, 'now',
                           or a duration before now (-2h, -30m); --to defaults to now
  -n, --namespace NS       the release's namespace (default: metadata.namespace, else default)
  --prometheus-url URL     Prometheus (default: metrics.provider.address, else the local
                           cluster's, from 'codedance cluster up')
  --step DURATION          time between rounds (default: spec.analysis.interval, 30s)
  --margin PERCENT         margin over stable's p99 for the suggestions (default 20)
  --canary-version-label V the canary pods' version label, for plain metrics (default canary)
  --stable-version-label V stable's version label, for plain metrics (default stable)
  --all                    print every round (default: the changes, with the rounds around them)
  --json                   the whole report as JSON

exit codes: 0 passed, 3 would have rolled back, 4 would have paused, 1 cannot run, 2 usage`;

class UsageError extends Error {}

/** A time flag: RFC 3339, unix seconds, `now`, or a negative duration from `now`. */
export function parseTime(flag: string, text: string, now: number): number {
  if (text === 'now') return now;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (text.startsWith('-')) {
    const ms = parseDuration(text);
    if (ms !== undefined) return now + ms;
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new UsageError(
      `--${flag}: expected RFC 3339 (2026-12-01T10:00:00Z), unix seconds, 'now' or -DURATION, got '${text}'`,
    );
  return ms;
}

/** The first CanaryDeployment in a YAML or JSON text. */
export function releaseFrom(text: string, file: string): CanaryDeployment {
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message ?? 'not YAML'}`);
    const value = doc.toJS() as Partial<CanaryDeployment> | null;
    if (value?.kind === 'CanaryDeployment' && value.spec && value.metadata) return value as CanaryDeployment;
  }
  throw new Error(`${file}: no CanaryDeployment in it (kind: CanaryDeployment with metadata and spec)`);
}

/**
 * `--from -2h` as the usage shows it: node's parseArgs reads a value that starts with a
 * dash as a missing argument, so a relative time is joined to its option (`--from=-2h`).
 */
export function joinRelativeTimes(args: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const next = args[i + 1];
    if ((arg === '--from' || arg === '--to') && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  return joined;
}

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: joinRelativeTimes(args),
      options: {
        file: { type: 'string', short: 'f' },
        from: { type: 'string' },
        to: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        'prometheus-url': { type: 'string' },
        step: { type: 'string' },
        margin: { type: 'string' },
        'canary-version-label': { type: 'string' },
        'stable-version-label': { type: 'string' },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`codedance backtest: ${errorMessage(err)}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const now = Date.now();
  let from: number;
  let to: number;
  let stepMs: number | undefined;
  let margin: number | undefined;
  try {
    if (!values.file) throw new UsageError('-f FILE is required');
    if (!values.from) throw new UsageError('--from is required');
    from = parseTime('from', values.from, now);
    to = parseTime('to', values.to ?? 'now', now);
    if (values.step !== undefined) {
      stepMs = parseDuration(values.step);
      if (stepMs === undefined || stepMs < 1000)
        throw new UsageError(`--step: expected a duration of at least 1s, got '${values.step}'`);
    }
    if (values.margin !== undefined) {
      margin = Number(values.margin.replace(/%$/, ''));
      if (!Number.isFinite(margin) || margin < 0)
        throw new UsageError(`--margin: expected a percentage (e.g. 20), got '${values.margin}'`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`codedance backtest: ${err.message}\n\n${usage}`);
    return 2;
  }
  try {
    const release = releaseFrom(await readFile(values.file, 'utf8'), values.file);
    const address =
      values['prometheus-url'] ??
      release.spec.metrics?.provider?.address ??
      (await readClusterState(clusterStateDir(codedanceHome())))?.prometheusUrl;
    if (!address)
      throw new Error(
        'no Prometheus: give --prometheus-url (or metrics.provider.address, or run `codedance cluster up`)',
      );
    const report = await backtest({
      spec: release.spec,
      name: release.metadata.name,
      namespace: values.namespace ?? release.metadata.namespace ?? 'default',
      address,
      from,
      to,
      stepMs,
      canaryVersionLabel: values['canary-version-label'],
      stableVersionLabel: values['stable-version-label'],
      suggest: margin === undefined ? undefined : { margin: margin / 100 },
    });
    console.log(values.json ? JSON.stringify(report, null, 2) : renderBacktest(report, { all: values.all }));
    return report.result.rollbackAt ? 3 : report.result.pauseAt ? 4 : 0;
  } catch (err) {
    console.error(`codedance backtest: ${errorMessage(err)}`);
    return 1;
  }
}

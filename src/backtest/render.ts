/**
 * A backtest report as text (pure): the rounds as a table (each metric's value, the
 * score, the decision and the verdict), when the release would have paused or rolled
 * back, and the suggested thresholds with how they would have decided.
 */
import { formatValue, type Check } from '../analysis/checks.ts';
import type { ReplayResult, ReplayTick } from './replay.ts';
import type { BacktestReport } from './run.ts';
import { table } from '../cli/release-render.ts';

/** What a verdict means for the release, in its words. */
const VERDICT_WORDS = {
  'advance-allowed': 'continue',
  hold: 'hold',
  pause: 'pause',
  rollback: 'ROLL BACK',
} as const;

export interface RenderOptions {
  /** Print every round (else the changes of decision and verdict, with their neighbours). @default false */
  all?: boolean;
}

/** The report as lines of text. */
export function renderBacktest(report: BacktestReport, options: RenderOptions = {}): string {
  const r = report.release;
  const out: string[] = [];
  const rounds = report.result.ticks.length;
  out.push(
    `backtest of ${r.namespace}/${r.name ?? r.target} (${r.provider} metrics of ${r.target}), ${report.from} → ${report.to}, every ${report.stepMs / 1000}s (${rounds} rounds)`,
  );
  for (const p of report.problems) out.push(`  ignored ${p.field}: ${p.message}`);
  out.push('');
  out.push(roundsTable(report.result, options.all === true));
  out.push('');
  out.push(`with the release's thresholds: ${outcome(report.result)}`);
  if (report.suggestions.length > 0) {
    out.push('');
    out.push("suggested thresholds, from stable's own behaviour over the window:");
    out.push(
      table([
        ['  CHECK', 'NOW', 'SUGGESTED', 'FROM'],
        ...report.suggestions.map((s) => [
          `  ${s.check}`,
          formatValue(s.current, s.unit),
          formatValue(s.suggested, s.unit),
          `${s.basis} (${s.samples} samples)`,
        ]),
      ]),
    );
    if (report.withSuggested) out.push(`with the suggested thresholds: ${outcome(report.withSuggested)}`);
  } else {
    out.push('no threshold suggestions: stable had no data for any absolute check in the window');
  }
  return out.join('\n');
}

/** One line: when it would have rolled back or paused, else that it would have passed. */
export function outcome(result: ReplayResult): string {
  const d = result.decisions;
  const counts = `(${d.Continue} continue, ${d.Pause} pause, ${d.Rollback} rollback, ${d.Inconclusive} inconclusive rounds)`;
  if (result.rollbackAt)
    return `would have ROLLED BACK at ${result.rollbackAt.time}: ${result.rollbackAt.message} ${counts}`;
  if (result.pauseAt)
    return `would have PAUSED at ${result.pauseAt.time}: ${result.pauseAt.message} ${counts}`;
  return `would have continued throughout ${counts}`;
}

function roundsTable(result: ReplayResult, all: boolean): string {
  const names = result.ticks[0]?.metrics.map((m) => m.name) ?? [];
  const header = ['TIME', ...names, 'SCORE', 'DECISION', 'VERDICT'];
  const shown = all ? result.ticks.map((_, i) => i) : interesting(result.ticks);
  const rows: string[][] = [header];
  let last = -1;
  for (const i of shown) {
    if (i > last + 1) rows.push(['…']);
    last = i;
    const tick = result.ticks[i];
    if (!tick) continue;
    rows.push([
      tick.time,
      ...names.map((name) => cell(tick, name)),
      tick.score === undefined ? '-' : String(Math.round(tick.score)),
      tick.decision,
      VERDICT_WORDS[tick.verdict],
    ]);
  }
  if (last < result.ticks.length - 1) rows.push(['…']);
  return table(rows);
}

/** Indexes of the first and last round and of every change of decision or verdict, with the round before it. */
function interesting(ticks: readonly ReplayTick[]): number[] {
  const keep = new Set<number>([0, ticks.length - 1]);
  for (let i = 1; i < ticks.length; i++) {
    const a = ticks[i - 1];
    const b = ticks[i];
    if (a?.decision !== b?.decision || a?.verdict !== b?.verdict) {
      keep.add(i - 1);
      keep.add(i);
    }
  }
  return [...keep].filter((i) => i >= 0 && i < ticks.length).sort((x, y) => x - y);
}

function cell(tick: ReplayTick, name: string): string {
  const m = tick.metrics.find((x) => x.name === name);
  if (!m || m.value === undefined) return 'no data';
  const unit = (m.threshold?.match(/(%|ms|MiB| cores|x)$/)?.[1] ?? '') as Check['unit'];
  return `${formatValue(m.value, unit)}${m.passed === false ? '!' : ''}`;
}

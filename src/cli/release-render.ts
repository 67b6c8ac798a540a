/**
 * Text views of releases for the CLI, as pure functions of CanaryDeployments (and the
 * time, for ages): the `get` table and the `status` ladder.
 */
import type { CanaryDeployment, Phase } from '../api/canary-deployment.ts';
import { releaseSettings } from '../canary/settings.ts';
import { formatDuration } from '../strategy/index.ts';
import { describeCost, releaseCost } from '../canary/cost.ts';

/** `2h`, `5m`, `30s`: kubectl's short age. */
export function age(since: string | undefined, now: number): string {
  if (!since) return '-';
  const ms = now - Date.parse(since);
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h` : `${Math.floor(h / 24)}d`;
}

/** Columns padded to their widest cell, two spaces apart. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

/** The `codedance get` table. */
export function renderList(items: readonly CanaryDeployment[], now: number, allNamespaces: boolean): string {
  if (items.length === 0) return 'No CanaryDeployments found.';
  const header = [
    ...(allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    'PHASE',
    'STEP',
    'WEIGHT',
    'STRATEGY',
    'VERSION',
    'AGE',
  ];
  const rows = items.map((cd) => {
    const s = cd.status ?? {};
    return [
      ...(allNamespaces ? [cd.metadata.namespace ?? ''] : []),
      cd.metadata.name ?? '',
      s.phase ?? 'Pending',
      s.stepLabel ?? '-',
      `${s.currentWeight ?? 0}%`,
      cd.spec.strategy?.type ?? 'Linear',
      cd.spec.canaryVersion,
      age(cd.metadata.creationTimestamp, now),
    ];
  });
  return table([header, ...rows]);
}

const phaseMarks: Record<Phase, string> = {
  Initializing: '…',
  Progressing: '▶',
  Paused: '⏸',
  Completed: '✓',
  Failed: '✗',
};

/** The `codedance status` view: the ladder of steps with the live weight, the last analysis, recent history. */
export function renderStatus(cd: CanaryDeployment, now: number): string {
  const s = cd.status ?? {};
  const phase = s.phase ?? 'Initializing';
  const lines: string[] = [];
  lines.push(
    `${cd.metadata.namespace}/${cd.metadata.name}  ${phaseMarks[phase]} ${phase}${s.reason ? ` (${s.reason})` : ''}  step ${s.stepLabel ?? '-'}  canary weight ${s.currentWeight ?? 0}%`,
  );
  lines.push(
    `version ${cd.spec.canaryVersion} (stable ${s.stableRevision ?? '?'}), strategy ${cd.spec.strategy?.type ?? 'Linear'}, traffic ${cd.spec.traffic?.provider ?? 'Replicas'}${cd.spec.paused ? ', spec.paused' : ''}`,
  );
  lines.push('');
  const settings = releaseSettings(cd.spec);
  if (settings.ok) {
    const current = s.currentStepIndex ?? -1;
    const total = settings.settings.steps.length;
    settings.settings.steps.forEach((step, i) => {
      let mark = ' ';
      if (
        phase === 'Completed' ||
        i < current ||
        (i === current && phase !== 'Initializing' && current >= total)
      )
        mark = '✓';
      else if (i === current && phase !== 'Initializing')
        mark = phase === 'Failed' ? '✗' : phase === 'Paused' ? '⏸' : '▶';
      const hold =
        step.pauseMs === undefined
          ? 'until promoted'
          : `pause ${formatDuration(step.pauseMs)}${step.requiresApproval ? ' + approval' : ''}`;
      let note = '';
      if (i === current && (phase === 'Progressing' || phase === 'Paused') && current < total) {
        const left = s.pauseUntil ? Date.parse(s.pauseUntil) - now : undefined;
        note = `  ← ${s.currentWeight ?? 0}% live${left !== undefined && left > 0 ? `, ${formatDuration(left)} left` : ''}`;
      }
      lines.push(
        `  ${mark} ${String(i + 1).padStart(2)}  ${String(step.weight).padStart(3)}%  ${hold}${note}`,
      );
    });
    const promoting = phase === 'Progressing' && current >= total;
    lines.push(
      `  ${phase === 'Completed' ? '✓' : promoting ? '▶' : ' '}  promote: stable takes ${cd.spec.canaryVersion}`,
    );
  } else {
    lines.push(`  invalid spec: ${settings.problems.join('; ')}`);
  }
  lines.push('');
  if (s.message) lines.push(`message: ${s.message}`);
  const last = s.analysis?.last;
  if (last) {
    lines.push(
      `analysis ${last.time}: ${last.decision}${last.score === undefined ? '' : `, score ${Math.round(last.score)}`}${last.message ? ` — ${last.message}` : ''}`,
    );
    for (const m of last.metrics) {
      const round = (v: number) => String(Math.round(v * 1000) / 1000);
      // A check against stable (metrics.compare) shows both sides.
      const value =
        (m.value === undefined ? 'no data' : round(m.value)) +
        (m.stableValue === undefined ? '' : ` vs stable ${round(m.stableValue)}`);
      lines.push(
        `    ${m.passed === false ? '✗' : '✓'} ${m.name}: ${value}${m.threshold ? ` (threshold ${m.threshold})` : ''}${m.message ? ` ${m.message}` : ''}`,
      );
    }
  }
  // Running figures of an active release: the stored ones are as of its last history entry.
  const cost = s.cost && releaseCost(s, s.cost.podRequests, now);
  if (cost) lines.push(`cost: ${describeCost(cost)}`);
  const history = (s.history ?? []).slice(-5);
  if (history.length > 0) {
    lines.push('recent:');
    for (const h of history) lines.push(`    ${h.time}  ${h.event}${h.message ? `: ${h.message}` : ''}`);
  }
  return lines.join('\n');
}

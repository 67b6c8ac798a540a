/**
 * ReleaseGroups as a person sees them through the dashboard: built from the release views
 * they may list (each carries its group's name), so a group shows exactly the members the
 * person may see and nothing needs rights of its own. Pure, import-free but for the
 * contract's types: the server (`GET /api/groups`) and the page (from its live rows) use
 * the same function. A member waiting for its turn says so by its reason (`WaitingForGroup`).
 */
import type { CostView, GroupMemberState, GroupView, ReleaseView } from './contract.ts';

/** The groups among `rows`, sorted by namespace and name; rows of no group are left out. */
export function groupViews(rows: readonly ReleaseView[]): GroupView[] {
  const groups = new Map<string, GroupView>();
  for (const row of rows) {
    if (!row.group) continue;
    const key = `${row.namespace}/${row.group}`;
    let view = groups.get(key);
    if (!view) {
      view = {
        namespace: row.namespace,
        name: row.group,
        counts: { total: 0, waiting: 0, running: 0, paused: 0, completed: 0, failed: 0 },
        members: [],
        cost: undefined,
      };
      groups.set(key, view);
    }
    const state = memberState(row);
    view.counts.total++;
    view.counts[state]++;
    if (state === 'running' && row.phase === 'Paused') view.counts.paused++;
    view.members.push({ name: row.name, state, phase: row.phase, reason: row.reason, message: row.message });
    if (row.cost) view.cost = add(view.cost, row.cost);
  }
  const out = [...groups.values()];
  for (const g of out) g.members.sort((a, b) => a.name.localeCompare(b.name));
  return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** Where a member is, from its view. */
export function memberState(row: ReleaseView): GroupMemberState {
  if (row.reason === 'WaitingForGroup') return 'waiting';
  if (row.phase === 'Completed') return 'completed';
  if (row.phase === 'Failed') return 'failed';
  return 'running';
}

function add(sum: Omit<CostView, 'steps'> | undefined, cost: CostView): Omit<CostView, 'steps'> {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  if (!sum) {
    const { steps: _steps, ...figures } = cost;
    return figures;
  }
  const seconds = sum.seconds + cost.seconds;
  return {
    asOf: [sum.asOf, cost.asOf].sort().at(-1) ?? cost.asOf,
    seconds: round(seconds),
    canaryPodSeconds: round(sum.canaryPodSeconds + cost.canaryPodSeconds),
    extraPodSeconds: round(sum.extraPodSeconds + cost.extraPodSeconds),
    cpuCoreSeconds: round(sum.cpuCoreSeconds + cost.cpuCoreSeconds),
    memoryGiBSeconds: round(sum.memoryGiBSeconds + cost.memoryGiBSeconds),
    canaryTrafficPercent:
      seconds > 0
        ? round((sum.canaryTrafficPercent * sum.seconds + cost.canaryTrafficPercent * cost.seconds) / seconds)
        : 0,
  };
}

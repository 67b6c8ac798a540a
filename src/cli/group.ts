/**
 * `codedance group list | status | promote | pause | resume | abort` and `codedance
 * release`: fleets of releases (ReleaseGroups, src/fleet/).
 *
 * `codedance release` is the one command a CI job runs: it makes (or updates) a
 * ReleaseGroup whose template releases every Deployment `--selector` matches, with one
 * image for all (`--image IMAGE`) or one per service (`--image svc=IMAGE`, repeated),
 * then waits, printing a line each time the summary changes. Exit codes: 0 every member
 * completed; 1 the group failed (members failed, or the failure limit stopped it); 2
 * usage errors; 3 the wait timed out.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { CanaryDeploymentKind, ReleaseGroupKind } from '../api/kinds.ts';
import { GROUP, VERSION } from '../api/names.ts';
import type { MemberTemplate, ReleaseGroup } from '../api/release-group.ts';
import { describeCost } from '../canary/cost.ts';
import { GroupVerbs, membersOf, steerGroup, type GroupVerb } from '../fleet/steer.ts';
import { createKubeClient, loadKubeConfig, type KubeClient } from '../runtime/client.ts';
import { errorMessage } from '../runtime/errors.ts';
import { whoAmI } from '../runtime/whoami.ts';
import { age, table } from './release-render.ts';

const usage = `usage:
  codedance group list [-n NAMESPACE | -A]          list release groups (phase, counts)
  codedance group status NAME [-n NAMESPACE]         counts, failed members with reasons, cost
  codedance group promote|pause|resume|abort NAME    steer every member at once (and the group)
  codedance release --selector KEY=VALUE[,..] --image IMAGE | --image SERVICE=IMAGE ...
                    [--name GROUP] [-n NAMESPACE] [--max-concurrent N] [--failure-limit M]
                    [--failure-ratio R] [--settings FILE] [--timeout SECONDS] [--no-wait]
      release every Deployment the selector matches as one group, wait, exit 0 only if all completed
      (--settings: a YAML of CanaryDeployment settings for every member: strategy, traffic,
       analysis, metrics, decision, autoRollback, notifications)

options:
  --kubeconfig FILE   kubeconfig (default: KUBECONFIG, then ~/.kube/config)`;

class UsageError extends Error {}

/** `codedance group ...`. */
export async function run(args: string[]): Promise<number> {
  return guarded(args, 'group', async (client, values, positionals) => {
    const [verb, name] = positionals;
    const namespace = values.namespace ?? contextNamespace(values.kubeconfig);
    if (verb === 'list') return list(client, values['all-namespaces'] ? undefined : namespace);
    if (!name) throw new UsageError(`group ${verb ?? ''}: missing the group NAME`);
    const group = await client.get(ReleaseGroupKind, namespace, name);
    if (!group) {
      console.error(`codedance group: ReleaseGroup "${name}" not found in namespace "${namespace}"`);
      return 1;
    }
    if (verb === 'status') {
      const releases = (await client.list(CanaryDeploymentKind, { namespace })).items;
      console.log(renderGroup(group, membersOf(group, releases).length));
      return 0;
    }
    if (!(GroupVerbs as readonly string[]).includes(verb ?? ''))
      throw new UsageError(`unknown group command ${verb}`);
    const outcomes = await steerGroup(client, group, verb as GroupVerb, await whoAmI(client));
    const sent = outcomes.filter((o) => o.outcome === 'sent');
    const failed = outcomes.filter((o) => o.outcome === 'failed');
    console.log(`${verb}: group ${namespace}/${name}; sent to ${sent.length} of ${outcomes.length} members`);
    for (const o of failed) console.log(`  ✗ ${o.name}: ${o.message}`);
    return failed.length > 0 ? 1 : 0;
  });
}

/** `codedance release ...`. */
export async function runRelease(args: string[]): Promise<number> {
  return guarded(args, 'release', async (client, values) => {
    const namespace = values.namespace ?? contextNamespace(values.kubeconfig);
    if (!values.selector)
      throw new UsageError('release: --selector KEY=VALUE names the Deployments to release');
    const matchLabels = parseLabels(values.selector);
    const images = values.image ?? [];
    if (images.length === 0)
      throw new UsageError('release: --image IMAGE (for all) or --image SERVICE=IMAGE');
    const template: MemberTemplate = { deploymentSelector: { matchLabels } };
    for (const image of images) {
      const eq = image.indexOf('=');
      // An image reference has no '=': SERVICE=IMAGE names one service.
      if (eq < 0) template.canaryVersion = image;
      else template.images = { ...template.images, [image.slice(0, eq)]: image.slice(eq + 1) };
    }
    if (values.settings) {
      const settings: unknown = parseYaml(await readFile(values.settings, 'utf8'));
      if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
        throw new UsageError(
          `--settings ${values.settings}: not a YAML mapping of CanaryDeployment settings`,
        );
      Object.assign(template, settings, { deploymentSelector: template.deploymentSelector });
      if (template.canaryVersion === undefined) delete template.canaryVersion;
    }
    const name =
      values.name ?? `release-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '').toLowerCase()}`;
    const number = (flag: string, text: string | undefined): number | undefined => {
      if (text === undefined) return undefined;
      const n = Number(text);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag}: not a positive number: ${text}`);
      return n;
    };
    const group = await client.apply(ReleaseGroupKind, {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'ReleaseGroup',
      metadata: { name, namespace },
      spec: {
        template,
        maxConcurrent: number('max-concurrent', values['max-concurrent']) ?? 5,
        ...(values['failure-limit']
          ? { failureLimit: number('failure-limit', values['failure-limit']) }
          : {}),
        ...(values['failure-ratio']
          ? { failureRatio: number('failure-ratio', values['failure-ratio']) }
          : {}),
        paused: false,
      },
    });
    console.log(`release: ReleaseGroup ${namespace}/${name} (generation ${group.metadata.generation ?? 0})`);
    if (values['no-wait']) return 0;
    return waitForGroup(
      client,
      namespace,
      name,
      group.metadata.generation ?? 0,
      number('timeout', values.timeout) ?? 3600,
    );
  });
}

/** Polls the group (every 2s) until it ends, printing its summary whenever it changes. */
async function waitForGroup(
  client: KubeClient,
  namespace: string,
  name: string,
  generation: number,
  timeoutSeconds: number,
): Promise<number> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const group = await client.get(ReleaseGroupKind, namespace, name);
    const status = group?.status;
    // Only a status written for this spec counts (an earlier release's Completed is not this one's).
    if (group && status && (status.observedGeneration ?? 0) >= generation) {
      const line = `${status.phase ?? '-'}: ${status.message ?? ''}`;
      if (line !== last) {
        console.log(`[${Math.round((Date.now() - started) / 1000)}s] ${line}`);
        last = line;
      }
      if (status.phase === 'Completed' || status.phase === 'Failed') {
        console.log(renderGroup(group));
        return status.phase === 'Completed' ? 0 : 1;
      }
    }
    if (Date.now() - started > timeoutSeconds * 1000) {
      console.error(
        `release: not finished after ${timeoutSeconds}s (codedance group status ${name} -n ${namespace})`,
      );
      return 3;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function list(client: KubeClient, namespace: string | undefined): Promise<number> {
  const items = (await client.list(ReleaseGroupKind, namespace ? { namespace } : {})).items;
  if (items.length === 0) {
    console.log('No ReleaseGroups found.');
    return 0;
  }
  const now = Date.now();
  const rows = items.map((g) => [
    ...(namespace ? [] : [g.metadata.namespace ?? '']),
    g.metadata.name ?? '',
    g.status?.phase ?? 'Pending',
    g.status?.summary ?? '-',
    age(g.metadata.creationTimestamp, now),
  ]);
  console.log(table([[...(namespace ? [] : ['NAMESPACE']), 'NAME', 'PHASE', 'MEMBERS', 'AGE'], ...rows]));
  return 0;
}

/** The `codedance group status` view. */
export function renderGroup(group: ReleaseGroup, members?: number): string {
  const s = group.status ?? {};
  const c = s.counts;
  const lines = [
    `${group.metadata.namespace}/${group.metadata.name}  ${s.phase ?? 'Pending'}${s.reason ? ` (${s.reason})` : ''}`,
    `members ${c?.total ?? members ?? 0}: ${c?.completed ?? 0} completed, ${c?.running ?? 0} running (${c?.paused ?? 0} paused), ${c?.waiting ?? 0} waiting, ${c?.failed ?? 0} failed; at most ${group.spec.maxConcurrent ?? 5} at once${group.spec.failureLimit ? `, stop after ${group.spec.failureLimit} failures` : ''}${group.spec.failureRatio ? `, stop after ${group.spec.failureRatio * 100}% failed` : ''}`,
  ];
  if (s.message) lines.push(`message: ${s.message}`);
  if (s.startedAt)
    lines.push(
      `started ${s.startedAt}${s.completedAt ? `, ended ${s.completedAt} (${wall(s.startedAt, s.completedAt)})` : ''}`,
    );
  if (s.cost) lines.push(`cost: ${describeCost(s.cost)}`);
  if (s.failed?.length) {
    lines.push('failed:');
    for (const f of s.failed)
      lines.push(`  ✗ ${f.name}: ${f.reason ?? ''}${f.message ? ` — ${f.message}` : ''}`);
  }
  if (s.problems?.length) {
    lines.push('problems:');
    for (const p of s.problems) lines.push(`  ! ${p}`);
  }
  return lines.join('\n');
}

function wall(from: string, to: string): string {
  const s = Math.round((Date.parse(to) - Date.parse(from)) / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [key, value, ...rest] = part.split('=');
    if (!key || value === undefined || rest.length > 0)
      throw new UsageError(`--selector: expected KEY=VALUE[,KEY=VALUE], got ${text}`);
    out[key.trim()] = value.trim();
  }
  return out;
}

function contextNamespace(kubeconfig: string | undefined): string {
  try {
    return loadKubeConfig({ path: kubeconfig }).namespace ?? 'default';
  } catch {
    return 'default';
  }
}

const options = {
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  kubeconfig: { type: 'string' },
  selector: { type: 'string', short: 'l' },
  image: { type: 'string', multiple: true },
  name: { type: 'string' },
  'max-concurrent': { type: 'string' },
  'failure-limit': { type: 'string' },
  'failure-ratio': { type: 'string' },
  settings: { type: 'string', short: 'f' },
  timeout: { type: 'string' },
  'no-wait': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

async function guarded(
  args: string[],
  command: string,
  body: (client: KubeClient, values: Values, positionals: string[]) => Promise<number>,
): Promise<number> {
  let client: KubeClient | undefined;
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    client = await createKubeClient({ kubeconfigPath: values.kubeconfig, fieldManager: 'codedance-cli' });
    return await body(client, values, positionals);
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err)) {
      console.error(`codedance ${command}: ${err.message}\n\n${usage}`);
      return 2;
    }
    console.error(`codedance ${command}: ${errorMessage(err)}`);
    return 1;
  } finally {
    await client?.close();
  }
}

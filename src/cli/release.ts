/**
 * `codedance get | status | promote | pause | resume | abort | retry`: inspect and steer
 * CanaryDeployments.
 *
 * One-shot commands (promote, abort, retry, resume) are written as the annotation
 * `deploy.codedance.io/command: <verb>:<unique id>;by=<you>` (your name from a SelfSubjectReview); the controller acts on each value
 * once and records it in `status.handledCommand`. `pause` and `resume` also set
 * `spec.paused`, which holds the release for as long as it is true. After writing, the
 * command waits (up to --timeout) until the controller acted, and prints what it says.
 *
 * Exit codes: 0 done; 1 the release is missing or in a state where the command makes
 * no sense (or the controller did not act in time); 2 usage errors.
 */
import { parseArgs } from 'node:util';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { planSteer, type SteerVerb } from '../canary/commands.ts';
import { isFinished } from '../canary/steering.ts';
import { createKubeClient, loadKubeConfig, type KubeClient } from '../runtime/client.ts';

import { whoAmI } from '../runtime/whoami.ts';
import { renderList, renderStatus } from './release-render.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';
import { errorMessage } from '../runtime/errors.ts';

const usage = `usage:
  codedance get [NAME] [-n NAMESPACE | -A]         list releases (phase, step, weight)
  codedance status NAME [-n NAMESPACE] [--watch]   the ladder of steps, live weight, last analysis
  codedance promote NAME [-n NAMESPACE] [--full]   approve the current step (--full: skip to the end)
  codedance pause NAME [-n NAMESPACE]              hold the release at its step (spec.paused)
  codedance resume NAME [-n NAMESPACE]             continue a paused release
  codedance abort NAME [-n NAMESPACE]              roll back now: traffic to stable, canary removed
  codedance retry NAME [-n NAMESPACE]              start a Failed release again from step 1

options:
  --kubeconfig FILE   kubeconfig (default: KUBECONFIG, then ~/.kube/config)
  --no-wait           do not wait for the controller to act on a command
  --timeout SECONDS   how long to wait for it (default 15)`;

class UsageError extends Error {}
/** A problem the user can fix (missing release, wrong state): exit code 1. */
class CommandError extends Error {}

interface Options {
  verb: string;
  name: string | undefined;
  namespace: string;
  allNamespaces: boolean;
  kubeconfig: string | undefined;
  watch: boolean;
  full: boolean;
  wait: boolean;
  timeoutMs: number;
}

function parse(args: string[]): Options {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        kubeconfig: { type: 'string' },
        watch: { type: 'boolean', short: 'w' },
        full: { type: 'boolean' },
        'no-wait': { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  const [verb, name, ...extra] = positionals;
  if (values.help) throw new UsageError('');
  if (!verb) throw new UsageError('missing command');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (verb !== 'get' && !name) throw new UsageError(`${verb}: missing the release NAME`);
  if (values.watch && verb !== 'status') throw new UsageError('--watch applies to status only');
  if (values.full && verb !== 'promote') throw new UsageError('--full applies to promote only');
  const timeout = values.timeout === undefined ? 15 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError(`--timeout: not a number of seconds: ${values.timeout}`);
  const kubeconfig = values.kubeconfig ?? undefined;
  return {
    verb,
    name,
    namespace: values.namespace ?? contextNamespace(kubeconfig),
    allNamespaces: values['all-namespaces'] === true,
    kubeconfig,
    watch: values.watch === true,
    full: values.full === true,
    wait: values['no-wait'] !== true,
    timeoutMs: timeout * 1000,
  };
}

/** The current context's namespace, as kubectl uses it; `default` otherwise. */
function contextNamespace(kubeconfig: string | undefined): string {
  try {
    return loadKubeConfig({ path: kubeconfig }).namespace ?? 'default';
  } catch {
    return 'default';
  }
}

/** Runs one release command and returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let options: Options;
  try {
    options = parse(args);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) console.error(`codedance: ${err.message}\n`);
      console.error(usage);
      return err.message ? 2 : 0;
    }
    throw err;
  }
  let client: KubeClient;
  try {
    client = await createKubeClient({ kubeconfigPath: options.kubeconfig, fieldManager: 'codedance-cli' });
  } catch (err) {
    console.error(`codedance: cannot load the kubeconfig: ${errorMessage(err)}`);
    return 1;
  }
  try {
    return await dispatch(client, options);
  } catch (err) {
    if (err instanceof CommandError) {
      console.error(`codedance ${options.verb}: ${err.message}`);
      return 1;
    }
    console.error(`codedance ${options.verb}: ${errorMessage(err)}`);
    return 1;
  } finally {
    await client.close();
  }
}

async function dispatch(client: KubeClient, o: Options): Promise<number> {
  switch (o.verb) {
    case 'get':
      return get(client, o);
    case 'status':
      return o.watch ? watchStatus(client, o) : status(client, o);
    case 'promote':
    case 'pause':
    case 'resume':
    case 'abort':
    case 'retry':
      return steer(client, o);
    default:
      throw new CommandError(`unknown command ${o.verb}`);
  }
}

async function fetch(client: KubeClient, o: Options): Promise<CanaryDeployment> {
  const name = o.name ?? '';
  const cd = await client.get(CanaryDeploymentKind, o.namespace, name);
  if (!cd)
    throw new CommandError(
      `CanaryDeployment "${name}" not found in namespace "${o.namespace}" (codedance get -n ${o.namespace} lists them)`,
    );
  return cd;
}

async function get(client: KubeClient, o: Options): Promise<number> {
  if (o.name) {
    const cd = await fetch(client, o);
    console.log(renderList([cd], Date.now(), false));
    return 0;
  }
  const list = await client.list(CanaryDeploymentKind, o.allNamespaces ? {} : { namespace: o.namespace });
  const items = [...list.items].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  console.log(
    items.length === 0 && !o.allNamespaces
      ? `No CanaryDeployments found in namespace ${o.namespace}.`
      : renderList(items, Date.now(), o.allNamespaces),
  );
  return 0;
}

async function status(client: KubeClient, o: Options): Promise<number> {
  console.log(renderStatus(await fetch(client, o), Date.now()));
  return 0;
}

/** Re-renders on every change until the release ends (exit 0 Completed, 1 Failed) or Ctrl-C. */
async function watchStatus(client: KubeClient, o: Options): Promise<number> {
  let cd = await fetch(client, o);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  const tty = process.stdout.isTTY === true;
  const show = (obj: CanaryDeployment): void => {
    if (tty) process.stdout.write('\x1b[2J\x1b[H');
    console.log(renderStatus(obj, Date.now()));
    if (!tty) console.log('');
  };
  try {
    show(cd);
    let resourceVersion = cd.metadata.resourceVersion;
    while (!abort.signal.aborted) {
      const phase = cd.status?.phase;
      if (phase === 'Completed') return 0;
      if (phase === 'Failed') return 1;
      try {
        const events = client.watch(
          CanaryDeploymentKind,
          {
            namespace: o.namespace,
            fieldSelector: `metadata.name=${o.name}`,
            resourceVersion,
            timeoutSeconds: 60,
          },
          abort.signal,
        );
        for await (const event of events) {
          if (event.type === 'ERROR') {
            resourceVersion = undefined; // expired: start again from the current object
            break;
          }
          if (event.type === 'BOOKMARK') {
            resourceVersion = event.object.metadata.resourceVersion;
            continue;
          }
          if (event.type === 'DELETED') throw new CommandError(`CanaryDeployment "${o.name}" was deleted`);
          cd = event.object;
          resourceVersion = cd.metadata.resourceVersion;
          show(cd);
          if (isFinished(cd.status?.phase)) break;
        }
      } catch (err) {
        if (abort.signal.aborted) break;
        if (err instanceof CommandError) throw err;
        resourceVersion = undefined;
      }
      if (resourceVersion === undefined && !abort.signal.aborted) {
        cd = await fetch(client, o);
        resourceVersion = cd.metadata.resourceVersion;
        show(cd);
      }
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}

async function steer(client: KubeClient, o: Options): Promise<number> {
  const cd = await fetch(client, o);
  const name = o.name ?? '';
  // Named in the command, so the controller's Events and history say who asked.
  const plan = planSteer(cd, o.verb as SteerVerb, o.full, await whoAmI(client));
  if (plan.kind === 'refused') throw new CommandError(plan.message);
  if (plan.kind === 'nothing-to-do') {
    console.log(plan.message);
    return 0;
  }
  await client.patch(CanaryDeploymentKind, o.namespace, name, plan.patch, 'merge');
  const value = plan.commandValue;
  if (value === undefined)
    return report(client, o, (c) => c.status?.phase === 'Paused', `release "${name}" paused`);
  return report(
    client,
    o,
    (c) => c.status?.handledCommand === value,
    `${o.verb}${o.full ? ' --full' : ''} sent to "${name}"`,
  );
}

/** Waits until `done` holds (or the timeout), then prints the release's message. */
async function report(
  client: KubeClient,
  o: Options,
  done: (cd: CanaryDeployment) => boolean,
  what: string,
): Promise<number> {
  if (!o.wait) {
    console.log(what);
    return 0;
  }
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const cd = await fetch(client, o);
    if (done(cd)) {
      const s = cd.status ?? {};
      console.log(
        `${what}: ${s.phase ?? 'Pending'}, step ${s.stepLabel ?? '-'}, weight ${s.currentWeight ?? 0}%${s.message ? ` — ${s.message}` : ''}`,
      );
      return 0;
    }
    if (Date.now() > deadline) {
      console.error(
        `${what}, but the controller has not acted on it within ${o.timeoutMs / 1000}s: is it running? (the command stays pending)`,
      );
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

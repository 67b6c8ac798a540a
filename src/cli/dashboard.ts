/**
 * `codedance dashboard` (also `kubectl codedance dashboard`): serves the release
 * dashboard on 127.0.0.1 as the person whose kubeconfig it runs with. Reads are a watch
 * made with their credentials and every button is a patch made with them, so the API
 * server's RBAC decides what they see and do. Runs until Ctrl-C.
 *
 * Exit codes: 0 stopped by a signal; 1 cannot start (kubeconfig, port taken); 2 usage.
 */
import { parseArgs } from 'node:util';
import { ensureConsoleBuilt } from '../dashboard/build-console.ts';
import { startLocalDashboard, LOCAL_DASHBOARD_PORT } from '../dashboard/local.ts';
import { createLogger } from '../runtime/logging.ts';
import { errorMessage } from '../runtime/errors.ts';

const usage = `usage: codedance dashboard [options]

Serves the release dashboard at http://127.0.0.1:${LOCAL_DASHBOARD_PORT}/, acting as you: it watches and
steers CanaryDeployments with your kubeconfig's credentials, so your RBAC decides.

options:
  --kubeconfig FILE     kubeconfig (default: KUBECONFIG, then ~/.kube/config)
  --context NAME        kubeconfig context (default: the current one)
  -n, --namespace NS    show only this namespace (repeatable; default: all if you may
                        watch them cluster-wide, else the context's namespace)
  --prometheus-url URL  the Prometheus the charts ask (default: none, and no charts)
  --allowed-prometheus-url URL   another Prometheus a release may name (repeatable)
  --port N              port (default ${LOCAL_DASHBOARD_PORT}; 0 = any free port)
  --address ADDR        address to bind (default 127.0.0.1). Anything but a loopback
                        address lets others on the network act as you.`;

/** Runs the command; resolves to the exit code once stopped. */
export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        namespace: { type: 'string', short: 'n', multiple: true },
        port: { type: 'string' },
        'prometheus-url': { type: 'string' },
        'allowed-prometheus-url': { type: 'string', multiple: true },
        address: { type: 'string', default: '127.0.0.1' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`codedance dashboard: ${errorMessage(err)}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const port = values.port === undefined ? LOCAL_DASHBOARD_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`codedance dashboard: --port: expected a port number, got '${values.port}'`);
    return 2;
  }
  const log = createLogger({ level: 'warn', destination: process.stderr });
  const abort = new AbortController();
  let dashboard;
  try {
    await ensureConsoleBuilt((line) => console.error(`codedance dashboard: ${line}`));
    dashboard = await startLocalDashboard({
      kubeconfigPath: values.kubeconfig,
      context: values.context,
      namespaces: values.namespace,
      host: values.address,
      prometheusUrl: values['prometheus-url'],
      allowedPrometheusUrls: values['allowed-prometheus-url'],
      port,
      log,
      signal: abort.signal,
    });
  } catch (err) {
    abort.abort();
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EADDRINUSE' ? `port ${port} is taken: pass --port N (0 = any free port)` : e.message;
    console.error(`codedance dashboard: cannot start: ${why}`);
    return 1;
  }
  const who = dashboard.username ? `as ${dashboard.username}` : 'with your kubeconfig';
  const where = dashboard.namespaces
    ? `namespace${dashboard.namespaces.length > 1 ? 's' : ''} ${dashboard.namespaces.join(', ')}`
    : 'all namespaces';
  console.log(`Codedance dashboard ${who}, ${where}: ${dashboard.url}   (Ctrl-C stops it)`);
  if (!['127.0.0.1', 'localhost', '::1'].includes(values.address) && !values.address.startsWith('127.')) {
    console.error(
      `codedance dashboard: warning: bound to ${values.address}: anyone who reaches it acts ${who}`,
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  abort.abort();
  await dashboard.close();
  return 0;
}

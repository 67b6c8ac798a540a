/**
 * The API server's audit log of a local cluster: who did what, at Metadata level (verb,
 * resource, user, response code; never request or response bodies, so Secret values
 * stay out of it).
 *
 * Its first use is proof: the controller's ClusterRole must grant exactly what the
 * controller uses, and the audit log is where "what it uses" is written down by the API
 * server itself (test/integration/security/rbac-audit.test.ts reads it).
 *
 * Kept small on purpose: everything the controller identity does is logged; health
 * checks, discovery, the control plane's own reads and fake-node heartbeats are not.
 * The log rotates at {@link auditLogMaxSizeMb} MB ({@link auditLogMaxBackups} old files kept);
 * {@link readAuditEvents} reads the rotated files too.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { controllerUser } from './credentials.ts';

/** Size in MB at which the API server starts a new audit file. */
export const auditLogMaxSizeMb = 100;
/** Rotated audit files kept beside the current one. */
export const auditLogMaxBackups = 3;

/** Where a cluster's audit policy and log live. */
export function auditPaths(stateDir: string): { policy: string; log: string } {
  return { policy: join(stateDir, 'audit-policy.yaml'), log: join(stateDir, 'logs', 'audit.log') };
}

/**
 * The audit policy (audit.k8s.io/v1). Rules are matched in order, first match wins:
 * 1. every request of the controller identity, at Metadata level;
 * 2. nothing for health checks, discovery, OpenAPI and /metrics;
 * 3. nothing for the reads of `admin` (the control plane's components and the tests'
 *    polling) and the API server's own loopback client;
 * 4. nothing for fake-node heartbeats (Leases in kube-node-lease, nodes/status) and
 *    Events written by anyone else;
 * 5. Metadata for everything else.
 * The RequestReceived stage is omitted: ResponseStarted (long-running watches) and
 * ResponseComplete say everything Metadata level can.
 */
export function auditPolicy(): object {
  return {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [
      { level: 'Metadata', users: [controllerUser] },
      {
        level: 'None',
        nonResourceURLs: [
          '/healthz*',
          '/livez*',
          '/readyz*',
          '/version',
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/openapi/*',
          '/metrics',
        ],
      },
      { level: 'None', users: ['admin', 'system:apiserver'], verbs: ['get', 'list', 'watch'] },
      {
        level: 'None',
        resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
        namespaces: ['kube-node-lease'],
      },
      { level: 'None', resources: [{ group: '', resources: ['nodes/status'] }] },
      {
        level: 'None',
        resources: [
          { group: '', resources: ['events'] },
          { group: 'events.k8s.io', resources: ['events'] },
        ],
      },
      { level: 'Metadata' },
    ],
  };
}

/** Writes the policy file (before each API server start: a restart must find it). */
export async function writeAuditPolicy(stateDir: string): Promise<void> {
  await writeFile(auditPaths(stateDir).policy, stringify(auditPolicy()), { mode: 0o600 });
}

/** The kube-apiserver flags that turn the audit log on. */
export function auditArgs(stateDir: string): string[] {
  const paths = auditPaths(stateDir);
  return [
    `--audit-policy-file=${paths.policy}`,
    `--audit-log-path=${paths.log}`,
    '--audit-log-format=json',
    `--audit-log-maxsize=${auditLogMaxSizeMb}`,
    `--audit-log-maxbackup=${auditLogMaxBackups}`,
  ];
}

/** The fields of an audit.k8s.io/v1 Event this project reads. */
export interface AuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  objectRef?: {
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
    apiGroup?: string;
    apiVersion?: string;
  };
  responseStatus?: { code?: number; reason?: string; message?: string };
  /** Among them `authorization.k8s.io/decision`: `allow` or `forbid`, what RBAC said. */
  annotations?: Record<string, string>;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

/**
 * Every event of the cluster's audit log (rotated files first, then the current one),
 * optionally only those received at or after `since`. Lines that are not JSON (a line
 * being written right now) are skipped.
 */
export async function readAuditEvents(
  stateDir: string,
  options: { since?: Date } = {},
): Promise<AuditEvent[]> {
  const { log } = auditPaths(stateDir);
  const stem = basename(log, '.log');
  const names = await readdir(dirname(log)).catch(() => [] as string[]);
  // Rotated files are `<stem>-<timestamp>.log`: their names sort by age.
  const rotated = names.filter((name) => name.startsWith(`${stem}-`) && name.endsWith('.log')).sort();
  const events: AuditEvent[] = [];
  const since = options.since?.getTime();
  for (const name of [...rotated, basename(log)]) {
    const text = await readFile(join(dirname(log), name), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let event: AuditEvent;
      try {
        event = JSON.parse(line) as AuditEvent;
      } catch {
        continue;
      }
      if (since !== undefined && Date.parse(event.requestReceivedTimestamp) < since) continue;
      events.push(event);
    }
  }
  return events;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditArgs, auditPaths, auditPolicy, readAuditEvents } from './audit.ts';
import { controllerUser } from './credentials.ts';

interface Rule {
  level: string;
  users?: string[];
  verbs?: string[];
}

test('the policy logs every request of the controller first, and never a request or response body', () => {
  const policy = auditPolicy() as { rules: Rule[]; omitStages: string[] };
  assert.deepEqual(policy.rules[0], { level: 'Metadata', users: [controllerUser] });
  assert.ok(
    policy.rules.every((rule) => rule.level === 'Metadata' || rule.level === 'None'),
    'Secrets must never reach the log',
  );
  assert.deepEqual(policy.rules.at(-1), { level: 'Metadata' });
  assert.deepEqual(policy.omitStages, ['RequestReceived']);
});

test('the API server flags point at the state folder', () => {
  const args = auditArgs('/state');
  assert.ok(args.includes(`--audit-policy-file=${auditPaths('/state').policy}`));
  assert.ok(args.includes('--audit-log-path=/state/logs/audit.log'));
});

test('events are read from rotated files and the current one, oldest first, since a time', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codedance-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'logs'));
  const event = (verb: string, at: string) =>
    JSON.stringify({
      stage: 'ResponseComplete',
      verb,
      requestURI: '/x',
      user: { username: 'u' },
      requestReceivedTimestamp: at,
      stageTimestamp: at,
    });
  writeFileSync(
    join(dir, 'logs', 'audit-2026-01-01T00-00-00.000.log'),
    `${event('get', '2026-01-01T00:00:00.000001Z')}\n`,
  );
  writeFileSync(
    join(dir, 'logs', 'audit.log'),
    `${event('list', '2026-01-01T00:00:02.5Z')}\n${event('watch', '2026-01-01T00:00:03Z')}\n{"stage":"Respo`,
  );
  writeFileSync(join(dir, 'logs', 'kube-apiserver.log'), 'not audit\n');
  assert.deepEqual(
    (await readAuditEvents(dir)).map((e) => e.verb),
    ['get', 'list', 'watch'],
  );
  assert.deepEqual(
    (await readAuditEvents(dir, { since: new Date('2026-01-01T00:00:01Z') })).map((e) => e.verb),
    ['list', 'watch'],
  );
  assert.deepEqual(await readAuditEvents(join(dir, 'nowhere')), []);
});

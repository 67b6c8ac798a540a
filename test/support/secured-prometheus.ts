/**
 * A second real Prometheus beside the test cluster's, secured the way production ones
 * are: HTTPS with a certificate from its own CA, and basic auth, through Prometheus'
 * `--web.config.file`. It scrapes the same registered targets (the simulator's series).
 *
 * The certificates are made with the `openssl` command for each test run (a CA, and a
 * serving certificate for 127.0.0.1 signed by it); the password's bcrypt hash is fixed
 * here because Prometheus stores only bcrypt and Node has no bcrypt.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startPrometheus } from '../../src/cluster/prometheus.ts';
import { stopProcess } from '../../src/cluster/process.ts';
import { testCluster } from './cluster.ts';

const run = promisify(execFile);

/** The user of the secured Prometheus. */
export const SECURED_USER = 'codedance';
/** Its password; {@link SECURED_BCRYPT} is its bcrypt hash (cost 4: tests need no strength). */
export const SECURED_PASSWORD = 'codedance-test-password';
const SECURED_BCRYPT = '$2a$04$SDw8KcrANLoCHWa1eXle2.29AYbSzQaasO4kir9Q79.GPEykH3n2W';

export interface SecuredPrometheus {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** PEM of the CA that signed its certificate. */
  ca: string;
  /** PEM of another CA, which did not. */
  otherCa: string;
  stop(): Promise<void>;
}

/** A CA and a serving certificate for 127.0.0.1 under `dir`. */
async function makeCertificates(
  dir: string,
): Promise<{ ca: string; otherCa: string; certFile: string; keyFile: string }> {
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca']) {
    await openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=codedance test ${ca}`,
      '-keyout',
      f(`${ca}.key`),
      '-out',
      f(`${ca}.crt`),
    );
  }
  await openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
  );
  await writeFile(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('ext.cnf'),
    '-out',
    f('server.crt'),
  );
  return {
    ca: await readFile(f('ca.crt'), 'utf8'),
    otherCa: await readFile(f('other-ca.crt'), 'utf8'),
    certFile: f('server.crt'),
    keyFile: f('server.key'),
  };
}

/** Starts the secured Prometheus for this test run's cluster; `stop` ends it and removes its files. */
export async function startSecuredPrometheus(name: string): Promise<SecuredPrometheus> {
  const cluster = await testCluster();
  const dir = await mkdtemp(join(tmpdir(), 'codedance-tls-'));
  const certs = await makeCertificates(dir);
  const started = await startPrometheus({
    stateDir: cluster.stateDir,
    name,
    web: {
      certFile: certs.certFile,
      keyFile: certs.keyFile,
      ca: certs.ca,
      username: SECURED_USER,
      password: SECURED_PASSWORD,
      bcryptHash: SECURED_BCRYPT,
    },
  });
  return {
    url: started.url,
    ca: certs.ca,
    otherCa: certs.otherCa,
    stop: async () => {
      await stopProcess(started.component.pid, started.component.spec.command);
      await rm(join(cluster.stateDir, name), { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

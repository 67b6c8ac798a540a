/**
 * The image's root filesystem from pinned Debian packages: downloaded with
 * `apt-get download NAME=VERSION`, checked against the pinned SHA-256, cached under
 * `$CODEDANCE_HOME/image/debs/`, and unpacked with `dpkg-deb -x` (no maintainer scripts
 * run, so nothing depends on the build machine's state).
 *
 * Caveats: needs `apt-get` and `dpkg-deb` (Debian, Ubuntu) and an apt index that still
 * offers the pinned versions; the error says how to repin when it no longer does.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, runCommand } from '../cluster/exec.ts';

/** The pinned list, one package a line. */
export const PINS_FILE = fileURLToPath(new URL('./debian-packages.txt', import.meta.url));

/** One pinned package. */
export interface DebianPin {
  name: string;
  version: string;
  /** Debian architecture (`amd64`, `arm64`) or `all`. */
  architecture: string;
  sha256: string;
}

/** Parses the pinned list (`name version architecture sha256` per line, `#` comments). */
export function parsePins(text: string): DebianPin[] {
  const pins: DebianPin[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [name, version, architecture, sha256, ...rest] = line.split(/\s+/);
    if (!name || !version || !architecture || !sha256 || rest.length > 0 || !/^[0-9a-f]{64}$/.test(sha256)) {
      throw new Error(
        `${PINS_FILE}:${index + 1}: expected 'name version architecture sha256', got '${raw.trim()}'`,
      );
    }
    pins.push({ name, version, architecture, sha256 });
  }
  return pins;
}

/** The pins that apply to `architecture` (its own and `all`); fails when a package has none for it. */
export function pinsFor(pins: DebianPin[], architecture: string): DebianPin[] {
  const chosen = pins.filter((pin) => pin.architecture === architecture || pin.architecture === 'all');
  const missing = [...new Set(pins.map((pin) => pin.name))].filter(
    (name) => !chosen.some((pin) => pin.name === name),
  );
  if (missing.length > 0) {
    throw new Error(
      `${PINS_FILE} pins no ${architecture} version of ${missing.join(', ')}; on a ${architecture} machine run 'npm run image -- --repin' to add them`,
    );
  }
  return chosen;
}

/** The machine's Debian architecture (`dpkg --print-architecture`). */
export async function debianArchitecture(): Promise<string> {
  return (
    await runCommand('dpkg', ['--print-architecture'], {
      cwd: process.cwd(),
      env: process.env,
      logPath: '/dev/null',
    })
  ).trim();
}

/**
 * Makes sure each pinned .deb is in `cacheDir` with the pinned hash (downloading what is
 * missing) and returns their paths in the order given.
 */
export async function fetchPackages(
  pins: DebianPin[],
  cacheDir: string,
  log: (line: string) => void,
): Promise<string[]> {
  await mkdir(cacheDir, { recursive: true });
  const paths: string[] = [];
  // The machine's apt index first; if it lacks a pin (a fresh machine that never ran
  // `apt-get update`, or an older index), a private index of the same sources, fetched
  // once into the cache without root and without touching the machine's.
  let privateIndex: string[] | undefined;
  for (const pin of pins) {
    const file = join(cacheDir, `${pin.name}_${pin.version.replace(/:/g, '%3a')}_${pin.architecture}.deb`);
    if (existsSync(file) && (await sha256(file)) === pin.sha256) {
      paths.push(file);
      continue;
    }
    log(`downloading ${pin.name} ${pin.version} (${pin.architecture})`);
    let downloaded: string;
    try {
      downloaded = await download(pin, cacheDir, []);
    } catch (err) {
      if (!(err instanceof CommandError) || privateIndex) throw explain(pin, err);
      log(
        `the system's apt index does not offer ${pin.name}=${pin.version}; fetching a private index into ${join(cacheDir, 'apt')}`,
      );
      privateIndex = await updatePrivateIndex(join(cacheDir, 'apt'));
      downloaded = await download(pin, cacheDir, privateIndex).catch((retry: unknown) => {
        throw explain(pin, retry);
      });
    }
    const got = await sha256(downloaded);
    if (got !== pin.sha256) {
      await rm(dirname(downloaded), { recursive: true, force: true });
      throw new Error(
        `${pin.name} ${pin.version}: the downloaded .deb has SHA-256 ${got}, the pin says ${pin.sha256}; a mirror served a different file, or the pin is wrong (${PINS_FILE})`,
      );
    }
    await rename(downloaded, file);
    await rm(dirname(downloaded), { recursive: true, force: true });
    paths.push(file);
  }
  return paths;
}

/** `apt-get download NAME[:ARCH]=VERSION` into a fresh folder under `cacheDir`; returns the .deb's path. */
async function download(pin: DebianPin, cacheDir: string, aptOptions: string[]): Promise<string> {
  const scratch = await mkdtemp(join(cacheDir, '.download-'));
  try {
    await runCommand(
      'apt-get',
      [
        ...aptOptions,
        'download',
        '-q',
        `${pin.architecture === 'all' ? pin.name : `${pin.name}:${pin.architecture}`}=${pin.version}`,
      ],
      {
        cwd: scratch,
        env: { ...process.env, LC_ALL: 'C' },
        logPath: join(cacheDir, 'download.log'),
      },
    );
    const [deb] = (await readdir(scratch)).filter((name) => name.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pin.name}=${pin.version} wrote no .deb`);
    return join(scratch, deb);
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
}

/**
 * `apt-get update` of the machine's sources into `dir` (lists and cache of our own, no
 * lock on the system's), so the pins download without root or a prior update. Returns
 * the apt options that use it.
 */
export async function updatePrivateIndex(dir: string): Promise<string[]> {
  await mkdir(join(dir, 'lists', 'partial'), { recursive: true });
  await mkdir(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  const options = [
    '-o',
    `Dir::State::Lists=${join(dir, 'lists')}`,
    '-o',
    `Dir::Cache=${join(dir, 'cache')}`,
    '-o',
    'Debug::NoLocking=1',
  ];
  await runCommand('apt-get', [...options, 'update', '-q'], {
    cwd: dir,
    env: { ...process.env, LC_ALL: 'C' },
    logPath: join(dir, 'update.log'),
  });
  return options;
}

/** The error for a pin that cannot be downloaded, with what to do. */
function explain(pin: DebianPin, err: unknown): Error {
  if (!(err instanceof CommandError)) return err as Error;
  const detail = err.tail
    .filter((line) => line.trim())
    .slice(-3)
    .join(' ');
  return new Error(
    `cannot download the pinned Debian package ${pin.name}=${pin.version}: ${detail || err.message}\n` +
      `Debian no longer offers this version (point releases replace them): run 'npm run image -- --repin' (after 'apt-get update') to pin what it offers now, and commit ${PINS_FILE}.`,
    { cause: err },
  );
}

/** Unpacks each .deb into `root` (`dpkg-deb -x`: files only, no scripts). */
export async function unpackPackages(debs: string[], root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const deb of debs) {
    await runCommand('dpkg-deb', ['-x', deb, root], { cwd: root, env: process.env, logPath: '/dev/null' });
  }
}

/**
 * Rewrites the pinned list from the candidate versions apt offers now (`apt-cache show
 * NAME=VERSION` for the hash), for the machine's architecture, keeping other
 * architectures' lines. Returns the new pins of this architecture.
 */
export async function repin(log: (line: string) => void): Promise<DebianPin[]> {
  const architecture = await debianArchitecture();
  const current = parsePins(await readFile(PINS_FILE, 'utf8'));
  const names = [...new Set(current.map((pin) => pin.name))].sort();
  const fresh: DebianPin[] = [];
  const opts = { cwd: process.cwd(), env: { ...process.env, LC_ALL: 'C' }, logPath: '/dev/null' };
  for (const name of names) {
    const policy = await runCommand('apt-cache', ['policy', name], opts);
    const version = /Candidate:\s*(\S+)/.exec(policy)?.[1];
    if (!version || version === '(none)')
      throw new Error(`apt offers no version of ${name}; run 'apt-get update' first`);
    const show = await runCommand('apt-cache', ['show', `${name}=${version}`], opts);
    const stanza = show.split('\n\n')[0] ?? '';
    const arch = /^Architecture:\s*(\S+)/m.exec(stanza)?.[1] ?? architecture;
    const hash = /^SHA256:\s*([0-9a-f]{64})/m.exec(stanza)?.[1];
    if (!hash) throw new Error(`apt-cache show ${name}=${version} gives no SHA256`);
    fresh.push({ name, version, architecture: arch, sha256: hash });
    log(`${name} ${version} ${arch}`);
  }
  const kept = current.filter((pin) => pin.architecture !== architecture && pin.architecture !== 'all');
  const text = await readFile(PINS_FILE, 'utf8');
  const comments = text
    .split('\n')
    .filter((line) => line.startsWith('#'))
    .join('\n');
  const lines = [...kept, ...fresh]
    .sort((a, b) => a.name.localeCompare(b.name) || a.architecture.localeCompare(b.architecture))
    .map((pin) => `${pin.name} ${pin.version} ${pin.architecture} ${pin.sha256}`);
  await writeFile(PINS_FILE, `${comments}\n${lines.join('\n')}\n`);
  return fresh;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/**
 * The third-party CRDs the traffic providers write to (Istio networking, Gateway API),
 * taken from the Go modules that publish them, at the versions pinned in `versions.ts`,
 * and kept under `$CODEDANCE_HOME/crds/<name>-<version>/`, one file per CRD:
 *
 * - `istio-<v>/`: from `istio.io/api`'s `kubernetes/customresourcedefinitions.gen.yaml`,
 *   only the networking kinds a provider writes or names (VirtualService,
 *   DestinationRule, Gateway); every CRD costs the API server memory and start time;
 * - `gateway-api-<v>/standard/` and `experimental/`: from `sigs.k8s.io/gateway-api`'s
 *   `config/crd/<channel>/`, every CRD of both channels; the standard one is installed.
 *
 * `go mod download` fetches a module once (the Go module cache keeps it and checks its
 * sum), so a clone needs nothing besides Go, npm and this cache.
 * Guarantees: a version folder is used only when complete (it is filled aside and renamed
 * into place, `source.json` inside); two processes never fill the same one at once; a
 * changed pin or selection fetches again into a new folder or replaces the old one.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findGo } from './build.ts';
import type { GoToolchain } from './recipes/recipe.ts';
import { CommandError, runCommand } from './exec.ts';
import { withLock } from './lock.ts';
import { codedanceHome, crdDir } from './paths.ts';
import { gatewayApiVersion, istioApiVersion } from './versions.ts';
import { errorMessage } from '../runtime/errors.ts';

/** The projects whose CRDs are fetched. */
export type CrdSourceName = 'istio' | 'gateway-api';

/** What {@link ensureThirdPartyCrds} reports while it works. */
export type CrdProgress =
  | { type: 'cached'; source: CrdSourceName; version: string; path: string }
  | { type: 'waiting'; source: CrdSourceName; holderPid: number }
  | { type: 'fetching'; source: CrdSourceName; module: string; version: string }
  | { type: 'done'; source: CrdSourceName; version: string; crds: number; elapsedMs: number; path: string };

export interface EnsureCrdsOptions {
  /** @default `$CODEDANCE_HOME` or `~/.codedance` */
  home?: string;
  onProgress?: (progress: CrdProgress) => void;
}

/** One group of files of a module, copied into one subfolder of the version folder. */
interface CrdPart {
  /** A file or a folder of `.yaml` files, relative to the module root. */
  from: string;
  /** Subfolder of the version folder ('' for the folder itself). */
  into: string;
  /** Keep only these CRDs (by `metadata.name`); all of them when absent. */
  only?: readonly string[];
  /** CRDs that must be there, or the pin is wrong (checked when fetching). */
  required: readonly string[];
  /** Part of what `npm test` and `npm start` install. */
  install: boolean;
}

interface CrdSource {
  name: CrdSourceName;
  module: string;
  version: string;
  parts: readonly CrdPart[];
}

/** What a finished fetch records in its folder. */
interface SourceInfo {
  module: string;
  version: string;
  sum: string;
  layout: string;
  files: string[];
  fetchedAt: string;
}

const istioNetworking = ['virtualservices', 'destinationrules', 'gateways'].map(
  (plural) => `${plural}.networking.istio.io`,
);
const gatewayCore = ['gatewayclasses', 'gateways', 'httproutes', 'referencegrants'].map(
  (plural) => `${plural}.gateway.networking.k8s.io`,
);

/** The pinned sources and what is taken from each. */
export function crdSources(): CrdSource[] {
  return [
    {
      name: 'istio',
      module: 'istio.io/api',
      version: istioApiVersion,
      parts: [
        {
          from: 'kubernetes/customresourcedefinitions.gen.yaml',
          into: '',
          only: istioNetworking,
          required: istioNetworking,
          install: true,
        },
      ],
    },
    {
      name: 'gateway-api',
      module: 'sigs.k8s.io/gateway-api',
      version: gatewayApiVersion,
      parts: [
        { from: 'config/crd/standard', into: 'standard', required: gatewayCore, install: true },
        { from: 'config/crd/experimental', into: 'experimental', required: gatewayCore, install: false },
      ],
    },
  ];
}

/**
 * Makes sure the pinned third-party CRDs are in the cache (fetching what is missing) and
 * returns the files to install, sorted: Istio's networking CRDs and Gateway API's
 * standard channel.
 */
export async function ensureThirdPartyCrds(options: EnsureCrdsOptions = {}): Promise<string[]> {
  const home = options.home ?? codedanceHome();
  const report = options.onProgress ?? (() => {});
  const files: string[] = [];
  let go: GoToolchain | undefined;
  for (const source of crdSources()) {
    const dir = crdDir(home, source.name, source.version);
    if (!(await isFetched(dir, source))) {
      go ??= await findGo();
      const toolchain = go;
      await mkdir(join(home, 'crds'), { recursive: true });
      await withLock(
        join(home, 'crds', `.${source.name}-${source.version}.lock`),
        async () => {
          // Another process may have fetched it while we waited for the lock.
          if (!(await isFetched(dir, source))) await fetchSource(home, source, toolchain, report);
        },
        (holderPid) => report({ type: 'waiting', source: source.name, holderPid }),
      );
    } else {
      report({ type: 'cached', source: source.name, version: source.version, path: dir });
    }
    files.push(...(await installFiles(dir, source)));
  }
  return files;
}

/** True when every pinned CRD source is in the cache (nothing to fetch). */
export async function thirdPartyCrdsReady(home: string = codedanceHome()): Promise<boolean> {
  for (const source of crdSources()) {
    if (!(await isFetched(crdDir(home, source.name, source.version), source))) return false;
  }
  return true;
}

/** One human-readable line for a progress event, like {@link formatBuildProgress} for builds. */
export function formatCrdProgress(progress: CrdProgress): string {
  switch (progress.type) {
    case 'cached':
      return `${progress.source} CRDs ${progress.version}: cached in ${progress.path}`;
    case 'waiting':
      return `${progress.source} CRDs: another process (pid ${progress.holderPid}) is fetching them; waiting`;
    case 'fetching':
      return `${progress.source} CRDs: fetching ${progress.module}@${progress.version}`;
    case 'done':
      return `${progress.source} CRDs ${progress.version}: ${progress.crds} CRDs in ${(progress.elapsedMs / 1000).toFixed(1)}s -> ${progress.path}`;
  }
}

// ---------------------------------------------------------------------------------------

/** Changes whenever what is taken from a module changes, so the cache is refreshed. */
function layout(source: CrdSource): string {
  return createHash('sha256').update(JSON.stringify(source.parts)).digest('hex').slice(0, 16);
}

async function isFetched(dir: string, source: CrdSource): Promise<boolean> {
  try {
    const info = JSON.parse(await readFile(join(dir, 'source.json'), 'utf8')) as SourceInfo;
    return (
      info.version === source.version &&
      info.layout === layout(source) &&
      info.files.every((file) => existsSync(join(dir, file)))
    );
  } catch {
    return false;
  }
}

async function installFiles(dir: string, source: CrdSource): Promise<string[]> {
  const files: string[] = [];
  for (const part of source.parts.filter((p) => p.install)) {
    const folder = join(dir, part.into);
    const names = (await readdir(folder)).filter((file) => file.endsWith('.yaml')).sort();
    files.push(...names.map((file) => join(folder, file)));
  }
  return files;
}

async function fetchSource(
  home: string,
  source: CrdSource,
  go: GoToolchain,
  report: (progress: CrdProgress) => void,
): Promise<void> {
  const started = Date.now();
  const dir = crdDir(home, source.name, source.version);
  report({ type: 'fetching', source: source.name, module: source.module, version: source.version });
  const module = await downloadModule(home, source, go);

  // Filled aside, then renamed into place: a half-written folder is never used.
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  try {
    await fillFolder(partial, source, module);
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err;
  }
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  const { files } = JSON.parse(await readFile(join(dir, 'source.json'), 'utf8')) as SourceInfo;
  report({
    type: 'done',
    source: source.name,
    version: source.version,
    crds: files.length,
    elapsedMs: Date.now() - started,
    path: dir,
  });
}

/** Writes the CRDs `source` takes from the extracted module into `partial`, `source.json` last. */
async function fillFolder(
  partial: string,
  source: CrdSource,
  module: { dir: string; sum: string },
): Promise<void> {
  const written: string[] = [];
  for (const part of source.parts) {
    await mkdir(join(partial, part.into), { recursive: true });
    const found = new Set<string>();
    for (const file of await yamlFiles(join(module.dir, part.from), `${source.module}@${source.version}`)) {
      for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
        if (doc.errors.length > 0)
          throw new Error(
            `${source.module}@${source.version} ${file}: invalid YAML: ${doc.errors[0]!.message}`,
          );
        const object = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
        const name = object?.metadata?.name;
        if (object?.kind !== 'CustomResourceDefinition' || !name) continue;
        if (part.only && !part.only.includes(name)) continue;
        found.add(name);
        const relative = join(part.into, `${name}.yaml`);
        const header = `# ${name} from ${source.module}@${source.version} ${part.from} (Apache-2.0), fetched by codedance\n`;
        await writeFile(join(partial, relative), `${header}${doc.toString()}`);
        written.push(relative);
      }
    }
    const missing = part.required.filter((name) => !found.has(name));
    if (missing.length > 0) {
      throw new Error(
        `${source.module}@${source.version} ${part.from} lacks the CRDs ${missing.join(', ')}: check the pinned version in src/cluster/versions.ts`,
      );
    }
  }
  const info: SourceInfo = {
    module: source.module,
    version: source.version,
    sum: module.sum,
    layout: layout(source),
    files: written.sort(),
    fetchedAt: new Date().toISOString(),
  };
  // Written last inside the folder: with a matching layout it is what "fetched" means.
  await writeFile(join(partial, 'source.json'), `${JSON.stringify(info, null, 2)}\n`);
}

/** `go mod download -json` of the pinned module: its extracted folder and checksum. */
async function downloadModule(
  home: string,
  source: CrdSource,
  go: GoToolchain,
): Promise<{ dir: string; sum: string }> {
  const target = `${source.module}@${source.version}`;
  const logPath = join(home, 'crds', `${source.name}-${source.version}.log`);
  let output: string;
  try {
    // Run in the cache folder, outside any Go module, so no go.mod is read or changed.
    output = await runCommand(go.go, ['mod', 'download', '-json', target], {
      cwd: join(home, 'crds'),
      env: go.env,
      logPath,
    });
  } catch (err) {
    // On failure `go mod download -json` still prints the JSON, with an Error field.
    const detail = err instanceof CommandError ? err.tail.join('\n').trim() : errorMessage(err);
    throw new Error(
      `fetching ${target} failed (is the Go module proxy reachable? log: ${logPath}): ${detail}`,
      { cause: err },
    );
  }
  const info = JSON.parse(output) as { Dir?: string; Sum?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${target} gave no folder: ${info.Error ?? output}`);
  return { dir: info.Dir, sum: info.Sum ?? '' };
}

/** `path` itself when it is a file, else the `.yaml` files in it, sorted. */
async function yamlFiles(path: string, target: string): Promise<string[]> {
  const found = await stat(path).catch(() => undefined);
  if (!found)
    throw new Error(`${target} has no ${path}: check the pinned version in src/cluster/versions.ts`);
  if (!found.isDirectory()) return [path];
  const names = (await readdir(path)).filter((file) => file.endsWith('.yaml')).sort();
  return names.map((file) => join(path, file));
}

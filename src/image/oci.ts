/**
 * Writes an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * and a single-file archive of it, without a container engine.
 *
 * Guarantees: content-addressed blobs (`blobs/sha256/<hex>`), written under a temporary
 * name and renamed, so a blob that exists is whole; JSON with a fixed key order and no
 * timestamps beyond the caller's, so the same inputs give the same manifest digest.
 * The archive is the layout itself plus a Docker-style `manifest.json`, as `docker save`
 * (25+) writes it, so `docker load`, `crane push` and `podman load` all read it.
 * Caveat: layers are gzip-compressed with Node's zlib; the bytes are stable for one Node
 * version on one CPU family, which is what the pinned toolchain gives.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { tarStream, type TarEntry } from './tar.ts';

/** OCI media types of the documents and blobs written here. */
export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

/** A written layer: its descriptor (compressed) and the digest of the uncompressed tar (`diff_id`). */
export interface Layer {
  descriptor: Descriptor;
  diffId: string;
  /** Bytes of the uncompressed tar. */
  uncompressedSize: number;
}

/** The parts of the image config (`config` of the OCI config) the builder sets. */
export interface RunConfig {
  User: string;
  Env: string[];
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  Labels: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
}

/** What {@link writeImage} needs. */
export interface ImageSpec {
  layers: Layer[];
  config: RunConfig;
  architecture: string;
  /** The image's `created` time (from SOURCE_DATE_EPOCH, so builds repeat). */
  created: Date;
  /** `history` entries, one per layer. */
  history: string[];
  /** Annotations on the manifest and its index entry. */
  annotations: Record<string, string>;
  /** `org.opencontainers.image.ref.name` in index.json (a tag). */
  refName: string;
}

/** Path of a blob inside a layout. */
export function blobPath(layoutDir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return join(layoutDir, 'blobs', algorithm, hex);
}

/** Writes a tar of `entries` as a gzip layer blob into `layoutDir`, hashing both forms on the way. */
export async function writeLayer(
  layoutDir: string,
  entries: Iterable<TarEntry>,
  mtime: number,
): Promise<Layer> {
  const blobs = join(layoutDir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const partial = join(blobs, `.layer-${process.pid}-${Math.random().toString(16).slice(2)}.partial`);
  const uncompressed = counting(createHash('sha256'));
  const compressed = counting(createHash('sha256'));
  try {
    await pipeline(
      Readable.from(tarStream(entries, mtime)),
      uncompressed.tap,
      createGzip({ level: 6 }),
      compressed.tap,
      createWriteStream(partial),
    );
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  const digest = `sha256:${compressed.hash.digest('hex')}`;
  await rename(partial, blobPath(layoutDir, digest));
  return {
    descriptor: { mediaType: MEDIA_TYPE_LAYER, digest, size: compressed.bytes() },
    diffId: `sha256:${uncompressed.hash.digest('hex')}`,
    uncompressedSize: uncompressed.bytes(),
  };
}

/** Writes `content` as a blob; returns its descriptor. */
export async function writeBlob(layoutDir: string, mediaType: string, content: Buffer): Promise<Descriptor> {
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  const path = blobPath(layoutDir, digest);
  await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(`${path}.partial`, content);
  await rename(`${path}.partial`, path);
  return { mediaType, digest, size: content.length };
}

/**
 * Writes the config, the manifest, `index.json` and `oci-layout`; returns the manifest's
 * descriptor (its digest is the image's digest).
 */
export async function writeImage(layoutDir: string, spec: ImageSpec): Promise<Descriptor> {
  const config = {
    created: spec.created.toISOString(),
    architecture: spec.architecture,
    os: 'linux',
    config: spec.config,
    rootfs: { type: 'layers', diff_ids: spec.layers.map((layer) => layer.diffId) },
    history: spec.history.map((createdBy) => ({
      created: spec.created.toISOString(),
      created_by: createdBy,
    })),
  };
  const configDescriptor = await writeBlob(layoutDir, MEDIA_TYPE_CONFIG, json(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: configDescriptor,
    layers: spec.layers.map((layer) => layer.descriptor),
    annotations: spec.annotations,
  };
  const manifestDescriptor = await writeBlob(layoutDir, MEDIA_TYPE_MANIFEST, json(manifest));
  const entry: Descriptor = {
    ...manifestDescriptor,
    annotations: { ...spec.annotations, 'org.opencontainers.image.ref.name': spec.refName },
    platform: { architecture: spec.architecture, os: 'linux' },
  };
  await writeFile(
    join(layoutDir, 'index.json'),
    json({ schemaVersion: 2, mediaType: MEDIA_TYPE_INDEX, manifests: [entry] }),
  );
  await writeFile(join(layoutDir, 'oci-layout'), json({ imageLayoutVersion: '1.0.0' }));
  return manifestDescriptor;
}

/** The manifest and config of the single image in a layout (read back, as a consumer would). */
export async function readImage(layoutDir: string): Promise<{
  digest: string;
  manifest: { config: Descriptor; layers: Descriptor[] };
  config: { config: RunConfig; rootfs: { diff_ids: string[] }; architecture: string };
}> {
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as {
    manifests: Descriptor[];
  };
  const [entry] = index.manifests;
  if (!entry || index.manifests.length !== 1)
    throw new Error(`${layoutDir}/index.json: expected exactly one image, found ${index.manifests.length}`);
  const manifest = JSON.parse(await readFile(blobPath(layoutDir, entry.digest), 'utf8')) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  const config = JSON.parse(await readFile(blobPath(layoutDir, manifest.config.digest), 'utf8')) as {
    config: RunConfig;
    rootfs: { diff_ids: string[] };
    architecture: string;
  };
  return { digest: entry.digest, manifest, config };
}

/**
 * Writes the layout under `layoutDir` as one tar file: the layout's own files plus a
 * Docker `manifest.json` naming `repoTag`, all with fixed owner and time.
 */
export async function writeArchive(
  layoutDir: string,
  archivePath: string,
  repoTag: string,
  mtime: number,
): Promise<void> {
  const { manifest } = await readImage(layoutDir);
  const dockerManifest = [
    {
      Config: `blobs/sha256/${manifest.config.digest.slice('sha256:'.length)}`,
      RepoTags: [repoTag],
      Layers: manifest.layers.map((layer) => `blobs/sha256/${layer.digest.slice('sha256:'.length)}`),
    },
  ];
  const entries: TarEntry[] = [
    { type: 'dir', path: 'blobs', mode: 0o755, uid: 0, gid: 0 },
    { type: 'dir', path: 'blobs/sha256', mode: 0o755, uid: 0, gid: 0 },
  ];
  const blobs = (await readdir(join(layoutDir, 'blobs', 'sha256')))
    .filter((name) => !name.startsWith('.'))
    .sort();
  for (const name of blobs) {
    entries.push({
      type: 'file',
      path: `blobs/sha256/${name}`,
      mode: 0o644,
      uid: 0,
      gid: 0,
      data: { fromFile: join(layoutDir, 'blobs', 'sha256', name) },
    });
  }
  entries.push({
    type: 'file',
    path: 'index.json',
    mode: 0o644,
    uid: 0,
    gid: 0,
    data: await readFile(join(layoutDir, 'index.json')),
  });
  entries.push({
    type: 'file',
    path: 'manifest.json',
    mode: 0o644,
    uid: 0,
    gid: 0,
    data: json(dockerManifest),
  });
  entries.push({
    type: 'file',
    path: 'oci-layout',
    mode: 0o644,
    uid: 0,
    gid: 0,
    data: await readFile(join(layoutDir, 'oci-layout')),
  });
  const partial = `${archivePath}.partial`;
  await pipeline(Readable.from(tarStream(entries, mtime)), createWriteStream(partial));
  await rename(partial, archivePath);
}

/** Total bytes of the blobs an image references (what a registry stores and a node pulls). */
export async function imageSize(layoutDir: string): Promise<{ compressed: number; layers: number }> {
  const { manifest } = await readImage(layoutDir);
  let compressed = manifest.config.size;
  for (const layer of manifest.layers) compressed += (await stat(blobPath(layoutDir, layer.digest))).size;
  return { compressed, layers: manifest.layers.length };
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function counting(hash: Hash): { hash: Hash; tap: Transform; bytes: () => number } {
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  return { hash, tap, bytes: () => bytes };
}

/**
 * `npm run image`: builds the controller image into `dist/image/` (an OCI layout in
 * `oci/`, the archive `codedance-controller.tar`, a summary in `image.json`) and prints
 * its digest, size and how to use it.
 *
 * Flags: `--out DIR` (another output folder), `--push REPOSITORY[:TAG]` (push the
 * layout with `crane`, built from its pinned module on first use; registry credentials
 * from the usual Docker config), `--repin` (rewrite src/image/debian-packages.txt from
 * what apt offers now, then exit).
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { buildImage } from './build.ts';
import { repin } from './debian.ts';
import { formatBuildProgress } from '../cluster/build.ts';
import { runCommand } from '../cluster/exec.ts';
import { ensureTools } from '../cluster/tools.ts';
import { errorMessage } from '../runtime/errors.ts';

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      push: { type: 'string' },
      repin: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: npm run image [-- --out DIR] [--push REPOSITORY[:TAG]] [--repin]');
    return 0;
  }
  const log = (line: string): void => console.log(`[image] ${line}`);
  if (values.repin) {
    await repin(log);
    log('pins rewritten: src/image/debian-packages.txt (commit it)');
    return 0;
  }
  const started = Date.now();
  const image = await buildImage({ ...(values.out ? { outDir: values.out } : {}), log });
  const show = (path: string): string => relative(process.cwd(), path) || '.';
  log(`built ${image.reference} (${image.architecture}) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  for (const layer of image.layers)
    log(
      `  layer ${layer.name.padEnd(16)} ${mib(layer.size).padStart(10)} (${mib(layer.uncompressedSize)} unpacked) ${layer.digest}`,
    );
  console.log(`
digest      ${image.digest}
size        ${mib(image.compressedSize)} compressed, ${mib(image.uncompressedSize)} unpacked
OCI layout  ${show(image.layoutDir)}
archive     ${show(image.archivePath)}   (docker load -i / podman load -i / crane push)

Push it:    crane push ${show(image.layoutDir)} REGISTRY/codedance/controller:${image.reference.split(':')[1]}
Install:    helm install codedance deploy/helm/codedance -n codedance-system --create-namespace \\
              --set image.repository=REGISTRY/codedance/controller --set image.digest=${image.digest}`);
  if (values.push) {
    const target = /:[^/]+$/.test(values.push)
      ? values.push
      : `${values.push}:${image.reference.split(':')[1]}`;
    const { crane } = await ensureTools(['crane'], { onProgress: (p) => log(formatBuildProgress(p)) });
    const pushed = await runCommand(crane, ['push', image.layoutDir, target], {
      cwd: process.cwd(),
      env: process.env,
      logPath: '/dev/null',
    });
    log(`pushed ${pushed.trim()}`);
  }
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`npm run image: ${errorMessage(err)}`);
  process.exitCode = 1;
}

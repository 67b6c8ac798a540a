/**
 * Registers the simulator with Prometheus through file-based service discovery: one
 * JSON file per target in a directory Prometheus watches (`file_sd_configs`), so the
 * simulator can come and go without Prometheus being restarted or reconfigured.
 *
 * No target labels are added: every label the simulator exports must reach Prometheus
 * as written (a target label `namespace` would clobber ingress-nginx's own).
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A registration; `remove()` takes the target out of Prometheus' view. */
export interface ScrapeRegistration {
  readonly file: string;
  remove(): Promise<void>;
}

/** Writes `<dir>/<name>.json` listing `hostPort`, atomically (Prometheus may read at any moment). */
export async function registerScrapeTargetFile(dir: string, name: string, hostPort: string): Promise<ScrapeRegistration> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`scrape target name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-'`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify([{ targets: [hostPort], labels: {} }], null, 2)}\n`);
  await rename(temporary, file);
  return { file, remove: () => rm(file, { force: true }) };
}

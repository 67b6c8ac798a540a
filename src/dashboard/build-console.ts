/**
 * Builds the console (`web/`, React + Ant Design) with Vite into `dist/console/`, when
 * it is missing or older than its sources. `npm test`, `npm start`, `npm run image` and
 * `codedance dashboard` call {@link ensureConsoleBuilt}; an installed copy (the image)
 * ships the built files and never builds.
 *
 * Vite is a devDependency, imported only here and only when a build is needed.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE_DIR } from './assets.ts';

/** The repository root (this file is `src/dashboard/build-console.ts`). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The front end's sources. */
export const CONSOLE_SOURCE = join(ROOT, 'web');
/** Written after a successful build; its mtime is the build's. */
const STAMP = join(CONSOLE_DIR, '.built');

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs;
  for (const entry of readdirSync(path))
    if (entry !== 'node_modules') max = Math.max(max, newest(join(path, entry)));
  return max;
}

/** Why the console needs building, or undefined when `dist/console/` is current. */
export function consoleStaleness(): string | undefined {
  if (!existsSync(STAMP)) return 'not built yet';
  const built = statSync(STAMP).mtimeMs;
  const inputs = [CONSOLE_SOURCE, join(ROOT, 'src/dashboard/contract.ts'), join(ROOT, 'package-lock.json')];
  return inputs.some((input) => existsSync(input) && newest(input) > built)
    ? 'its sources changed'
    : undefined;
}

/** Builds the console now (about 10-30 s on 2 cores); `say` gets progress lines. */
export async function buildConsole(say: (line: string) => void = () => {}): Promise<void> {
  const started = Date.now();
  say('building the console (web/ -> dist/console/) with Vite');
  const vite = await import('vite');
  await vite.build({ configFile: join(CONSOLE_SOURCE, 'vite.config.ts'), logLevel: 'warn' });
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  say(`console built in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/**
 * Builds the console when it is missing or stale. Without the sources (an installed
 * copy) nothing is built: whatever `dist/console/` holds is served.
 */
export async function ensureConsoleBuilt(say: (line: string) => void = () => {}): Promise<void> {
  if (!existsSync(join(CONSOLE_SOURCE, 'vite.config.ts'))) return;
  const why = consoleStaleness();
  if (!why) return;
  say(`the console is ${why}`);
  await buildConsole(say);
}

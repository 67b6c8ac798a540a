/**
 * `npm run build:console`: builds the console (`web/`) into `dist/console/` with Vite.
 * `--if-stale` builds only when it is missing or older than its sources.
 */
import { buildConsole, ensureConsoleBuilt } from '../src/dashboard/build-console.ts';

const say = (line: string): void => console.log(`[console] ${line}`);
try {
  if (process.argv.includes('--if-stale')) await ensureConsoleBuilt(say);
  else await buildConsole(say);
} catch (err) {
  console.error(`[console] build failed: ${(err as Error).message}`);
  process.exitCode = 1;
}

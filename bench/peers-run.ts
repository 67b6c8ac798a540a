/**
 * The `--peers` run of `npm run bench`: builds the peers if needed (on first use only),
 * starts a private cluster, runs ./peers.ts for each tool in turn, prints the side-by-side
 * table and keeps the raw results in bench/results/peers-latest.{json,txt}.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBuildProgress } from '../src/cluster/build.ts';
import { ensurePeerBinaries, peerTools, type PeerTool } from '../src/cluster/peers.ts';
import { repo, startEnv } from './env.ts';
import { SCENARIO, toolNames, type ToolName } from './peer-tools.ts';
import { benchTool, peersTable, type PeerCounts, type PeersResult } from './peers.ts';

const COUNTS: Record<'full' | 'quick', PeerCounts> = {
  // Ramp waves: the first two are issue 18's 50 then 150; every wave ends with a reading at
  // the releases in flight so far (issue 13: 1,000 in full, 100 in quick).
  full: { crash: 5, metrics: 5, healthy: 5, restSeconds: 60, ramp: [50, 150, 800] },
  quick: { crash: 2, metrics: 2, healthy: 2, restSeconds: 20, ramp: [10, 30, 60] },
};

function parseTools(text: string | undefined): ToolName[] {
  if (!text) return [...toolNames];
  const chosen = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const tool of chosen)
    if (!(toolNames as readonly string[]).includes(tool))
      throw new Error(`unknown tool '${tool}': choose from ${toolNames.join(', ')}`);
  return toolNames.filter((tool) => chosen.includes(tool));
}

/** Settings and figures as text: the table, then each tool's settings. */
export function peersReport(result: PeersResult): string {
  const lines = [
    `Codedance beside its peers (${result.date}); ${result.counts.crash} crash, ${result.counts.metrics} metric and ${result.counts.healthy} healthy releases per tool, one tool at a time on one cluster`,
    '',
    peersTable(result.tools),
    '',
    'Settings (each tool at its fastest documented settings; the same apps, VirtualService weights, Prometheus and simulator):',
  ];
  for (const tool of result.tools) {
    lines.push(`  ${tool.tool} ${tool.version}:`);
    for (const setting of tool.settings) lines.push(`    - ${setting}`);
    if (tool.crash) lines.push(`    crash outcomes: ${tool.crash.outcomes.join(', ')}`);
    if (tool.metrics) lines.push(`    metric outcomes: ${tool.metrics.outcomes.join(', ')}`);
    if (tool.healthy)
      lines.push(
        `    API requests per healthy release: ${Object.entries(tool.healthy.requestsByVerb)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')}`,
      );
    if (tool.ramp)
      lines.push(
        `    ramp: ${tool.ramp.waves.map((w) => `${w.releases} releases in ${(w.wallMs / 1000).toFixed(1)} s${w.failed ? ` (${w.failed} failed by the tool first)` : ''} (${w.inFlight} in flight: ${w.cpuSecondsPerMinute} CPU-s per minute, ${w.rssMiB} MiB RSS)`).join(', then ')}; paused: ${tool.ramp.paused ? `${tool.ramp.paused.releases} releases, ${tool.ramp.paused.cpuSecondsPerMinute} CPU-s per minute, ${tool.ramp.paused.rssMiB} MiB RSS` : '-'}${tool.ramp.error ? `; stopped: ${tool.ramp.error}` : ''}`,
      );
    if (tool.error) lines.push(`    FAILED: ${tool.error}`);
  }
  return lines.join('\n');
}

/** `--only` with `--peers`: `ramp` runs the ramp alone (the crash, metric and healthy scenarios skipped). */
function countsFor(quick: boolean, only: string | undefined): PeerCounts {
  const counts = COUNTS[quick ? 'quick' : 'full'];
  if (only === undefined) return counts;
  if (only !== 'ramp') throw new Error(`--peers takes --only ramp or no --only (got '${only}')`);
  return { ...counts, crash: 0, metrics: 0, healthy: 0 };
}

export async function runPeers(options: {
  quick: boolean;
  keep: boolean;
  tools: string | undefined;
  only?: string;
  progress: (line: string) => void;
}): Promise<number> {
  const { progress } = options;
  const tools = parseTools(options.tools);
  const counts = countsFor(options.quick, options.only);
  const peers = tools.filter((tool): tool is PeerTool => (peerTools as readonly string[]).includes(tool));
  if (peers.length > 0) {
    progress(`peers: making sure ${peers.join(', ')} are built (a first build takes many minutes)`);
    await ensurePeerBinaries(peers, { onProgress: (p) => progress(formatBuildProgress(p)) });
  }
  progress('starting a private cluster for the peers run');
  const env = await startEnv({ nodes: 3, scrapeInterval: '1s', onProgress: progress });
  let failed = false;
  try {
    const result: PeersResult = { date: new Date().toISOString(), counts, scenario: SCENARIO, tools: [] };
    for (const tool of tools) {
      const toolResult = await benchTool(env, tool, counts, progress);
      result.tools.push(toolResult);
      if (toolResult.error) failed = true;
    }
    const text = peersReport(result);
    console.log(`\n${text}`);
    const dir = join(repo, 'bench', 'results');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'peers-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(dir, 'peers-latest.txt'), `${text}\n`);
    progress(`written to ${join(dir, 'peers-latest.json')}`);
  } catch (err) {
    failed = true;
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    if (failed) progress(`logs kept in ${env.logDir}`);
    await env.stop({ keep: options.keep || failed });
  }
  return failed ? 1 : 0;
}

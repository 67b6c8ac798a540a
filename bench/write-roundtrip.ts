/**
 * The unit every other figure is divided by: one small server-side-apply PATCH of a
 * ConfigMap (a real change each time), timed from the request leaving the client to its
 * response, on this cluster, in this run. Beside it, the watch delivery: from that
 * response to the change arriving at a watcher, which bounds how exactly the other
 * benchmarks can time what they see. {@link startWritePulse} keeps sampling the same
 * write while the latency benchmarks run.
 */
import type { ConfigMap } from '../src/runtime/core-types.ts';
import * as kinds from '../src/runtime/kinds.ts';
import type { BenchEnv } from './env.ts';
import { observe } from './observe.ts';
import { now, sleep, summarize, type Summary } from './stats.ts';

export interface WriteRoundTripResult {
  writes: Summary;
  /** Every measured round trip, ms. */
  samples: number[];
  /** PATCH response → the change seen through a watch (may be negative: the event can beat the response). */
  watchDelivery: Summary;
}

const NAME = 'round-trip';

function writer(env: BenchEnv, ns: string, name: string): (value: string) => Promise<ConfigMap> {
  return (value) =>
    env.admin.apply(
      kinds.ConfigMap,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { value } },
      { fieldManager: 'codedance-bench' },
    );
}

/** A background sampler of the same write, for a unit taken while the other benchmarks run. */
export interface WritePulse {
  /** Stops and returns the round trips measured, ms. */
  stop(): Promise<number[]>;
}

/**
 * One write every `intervalMs` (a few per second: negligible load) until stopped. The
 * machine's load changes during a run, so the unit of the ratios is measured beside
 * the figures it divides, not only once at the start.
 */
export function startWritePulse(env: BenchEnv, ns: string, intervalMs: number): WritePulse {
  const write = writer(env, ns, `${NAME}-pulse`);
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const sent = now();
      await write(`p${i}`);
      samples.push(now() - sent);
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** `n` measured writes after a few unmeasured ones (connection set-up, caches warm). */
export async function benchWriteRoundTrip(
  env: BenchEnv,
  ns: string,
  n: number,
): Promise<WriteRoundTripResult> {
  const name = NAME;
  const write = writer(env, ns, name);
  for (let i = 0; i < 5; i++) await write(`warm-${i}`);
  const watched = await observe<ConfigMap>(env.admin, kinds.ConfigMap, ns);
  const writes: number[] = [];
  const deliveries: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const value = `v${i}`;
      const seen = watched.when(
        `ConfigMap ${name} = ${value}`,
        (store) => store.get(ns, name)?.data?.value === value,
        10_000,
      );
      const sent = now();
      await write(value);
      const answered = now();
      writes.push(answered - sent);
      deliveries.push((await seen) - answered);
    }
  } finally {
    await watched.stop();
  }
  return { writes: summarize(writes), samples: writes, watchDelivery: summarize(deliveries) };
}

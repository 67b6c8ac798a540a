/**
 * The unit every other figure is divided by: one small server-side-apply PATCH of a
 * ConfigMap (a real change each time), timed from the request leaving the client to its
 * response, on this cluster, in this run. Beside it, the watch delivery: from that
 * response to the change arriving at a watcher, which bounds how exactly the other
 * benchmarks can time what they see.
 */
import type { KubeObject } from '../src/runtime/client.ts';
import * as kinds from '../src/runtime/kinds.ts';
import type { BenchEnv } from './env.ts';
import { observe } from './observe.ts';
import { now, summarize, type Summary } from './stats.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export interface WriteRoundTripResult {
  writes: Summary;
  /** PATCH response → the change seen through a watch (may be negative: the event can beat the response). */
  watchDelivery: Summary;
}

/** `n` measured writes after a few unmeasured ones (connection set-up, caches warm). */
export async function benchWriteRoundTrip(env: BenchEnv, ns: string, n: number): Promise<WriteRoundTripResult> {
  const name = 'round-trip';
  const write = (value: string): Promise<ConfigMap> =>
    env.admin.apply<ConfigMap>(kinds.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { value } }, { fieldManager: 'codedance-bench' });
  for (let i = 0; i < 5; i++) await write(`warm-${i}`);
  const watched = await observe<ConfigMap>(env.admin, kinds.ConfigMap, ns);
  const writes: number[] = [];
  const deliveries: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const value = `v${i}`;
      const seen = watched.when(`ConfigMap ${name} = ${value}`, (store) => store.get(ns, name)?.data?.value === value, 10_000);
      const sent = now();
      await write(value);
      const answered = now();
      writes.push(answered - sent);
      deliveries.push((await seen) - answered);
    }
  } finally {
    await watched.stop();
  }
  return { writes: summarize(writes), watchDelivery: summarize(deliveries) };
}

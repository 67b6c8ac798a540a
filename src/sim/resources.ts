/**
 * cAdvisor's container series for the pods of simulated services, as the kubelet
 * exports them (kwok pods run nothing, so their usage is made up from the profile):
 *
 * | metric | type | labels | value |
 * |---|---|---|---|
 * | `container_cpu_usage_seconds_total` | counter | namespace, pod, container, image | CPU seconds used: `cpuCores` × time running |
 * | `container_memory_working_set_bytes` | gauge | namespace, pod, container, image | `memoryMiB` + `memoryLeakMiBPerMinute` × minutes since the pod was first seen |
 *
 * A pod's usage is split evenly over its containers. Series exist for pods that are
 * Running now; a pod that goes stops being exported, as with a real kubelet. The
 * analyzer finds pods by name (`podPattern` in ../analysis/queries.ts), so the pods
 * counted here are the real pods of the cluster, by the names Kubernetes gave them.
 */
import type { VersionProfile } from './profile.ts';
import { escapeLabelValue } from './series.ts';

/** One running pod of a simulated service, with the profile of its version. */
export interface PodSample {
  namespace: string;
  pod: string;
  containers: readonly { name: string; image: string }[];
  profile: VersionProfile;
}

/** Defaults of a pod's usage. */
export const RESOURCE_DEFAULTS = { cpuCores: 0.05, memoryMiB: 64, memoryLeakMiBPerMinute: 0 } as const;

/** The cAdvisor series of the simulator. */
export interface ResourceMetrics {
  /** Advances every pod in `pods` by `elapsedMs`; pods not in it are dropped. */
  tick(pods: readonly PodSample[], elapsedMs: number, nowMs: number): void;
  /** Prometheus text exposition of the two families. */
  render(): string;
}

interface PodState {
  sample: PodSample;
  cpuSeconds: number;
  firstSeenMs: number;
}

/** Creates the series, empty. */
export function createResourceMetrics(): ResourceMetrics {
  const pods = new Map<string, PodState>();
  let now = 0;
  return {
    tick(samples, elapsedMs, nowMs) {
      now = nowMs;
      const seen = new Set<string>();
      for (const sample of samples) {
        const key = `${sample.namespace}/${sample.pod}`;
        seen.add(key);
        let state = pods.get(key);
        if (!state) pods.set(key, (state = { sample, cpuSeconds: 0, firstSeenMs: nowMs }));
        state.sample = sample;
        state.cpuSeconds += ((sample.profile.cpuCores ?? RESOURCE_DEFAULTS.cpuCores) * elapsedMs) / 1000;
      }
      for (const key of pods.keys()) if (!seen.has(key)) pods.delete(key);
    },
    render() {
      const cpu = [
        '# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds (simulated).',
        '# TYPE container_cpu_usage_seconds_total counter',
      ];
      const memory = [
        '# HELP container_memory_working_set_bytes Current working set in bytes (simulated).',
        '# TYPE container_memory_working_set_bytes gauge',
      ];
      for (const { sample, cpuSeconds, firstSeenMs } of pods.values()) {
        const n = Math.max(1, sample.containers.length);
        const p = sample.profile;
        const minutes = Math.max(0, now - firstSeenMs) / 60_000;
        const bytes =
          ((p.memoryMiB ?? RESOURCE_DEFAULTS.memoryMiB) +
            (p.memoryLeakMiBPerMinute ?? RESOURCE_DEFAULTS.memoryLeakMiBPerMinute) * minutes) *
          1048576;
        for (const container of sample.containers) {
          const labels = `namespace="${escapeLabelValue(sample.namespace)}",pod="${escapeLabelValue(sample.pod)}",container="${escapeLabelValue(container.name)}",image="${escapeLabelValue(container.image)}"`;
          cpu.push(`container_cpu_usage_seconds_total{${labels}} ${cpuSeconds / n}`);
          memory.push(`container_memory_working_set_bytes{${labels}} ${Math.round(bytes / n)}`);
        }
      }
      return `${cpu.join('\n')}\n${memory.join('\n')}\n`;
    },
  };
}

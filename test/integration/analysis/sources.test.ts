/**
 * Every metric source against a real server of its kind: the run's Prometheus, and
 * VictoriaMetrics (built from its pinned module), which serves the same HTTP API to the
 * same source (the suite is ./metric-source.ts).
 */
import { after } from 'node:test';
import { stopProcess } from '../../../src/cluster/process.ts';
import { startVictoriaMetrics, type StartedVictoriaMetrics } from '../../../src/cluster/victoria-metrics.ts';
import { testCluster } from '../../support/cluster.ts';
import { testMetricSource } from './metric-source.ts';

testMetricSource({ name: 'Prometheus', address: async () => (await testCluster()).prometheusUrl });

// Started by the first test that asks, stopped at the end.
let victoria: Promise<StartedVictoriaMetrics> | undefined;
after(async () => {
  const vm = await victoria;
  if (vm) await stopProcess(vm.component.pid, vm.component.spec.command);
});
testMetricSource({
  name: 'Prometheus',
  server: 'VictoriaMetrics',
  address: async () => {
    victoria ??= testCluster().then((cluster) =>
      startVictoriaMetrics({ stateDir: cluster.stateDir, name: `victoria-metrics-sources-${process.pid}` }),
    );
    return (await victoria).url;
  },
});

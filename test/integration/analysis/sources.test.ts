/**
 * Every metric source against a real server of its kind: the run's Prometheus (the
 * suite is ./metric-source.ts).
 */
import { testCluster } from '../../support/cluster.ts';
import { testMetricSource } from './metric-source.ts';

testMetricSource({ name: 'Prometheus', address: async () => (await testCluster()).prometheusUrl });

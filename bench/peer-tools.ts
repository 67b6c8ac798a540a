/**
 * The three tools of `npm run bench -- --peers`, each behind the same small driver: how
 * its controller starts, how an app is set up for it, how a new version is released,
 * and how its own object says a release failed or finished. The benchmark itself
 * (./peers.ts) only watches VirtualServices, Pods and these objects.
 *
 * Every app is the same: 2 replicas of container `app` (image `<app>:v1`, port 8080),
 * released to `<app>:v2`, routed by an Istio VirtualService named after it whose
 * weights the simulator reads. Each tool gets its documented shape of that:
 *
 * - Codedance: the Deployment `<app>`, a headless Service and a VirtualService routing
 *   host `<app>`; a CanaryDeployment (Istio provider) starts the release; the canary runs
 *   as `<app>-canary` behind the subset `canary`.
 * - Flagger: the Deployment `<app>` and a Canary; Flagger makes `<app>-primary` (stable),
 *   the Services `<app>`, `<app>-primary`, `<app>-canary` and the VirtualService `<app>`
 *   routing to the two hosts; a new pod template of `<app>` starts the release, and the
 *   canary is `<app>` itself.
 * - Argo Rollouts: a Rollout `<app>` (its own pod template), Services `<app>-stable` and
 *   `<app>-canary` and the VirtualService `<app>` (route `primary`) routing to them, as
 *   its Istio host-level split documents; a new pod template of the Rollout starts the
 *   release.
 */
import type { CanaryDeployment, CanaryDeploymentSpec } from '../src/api/canary-deployment.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';
import { CanaryPodLabelsAnnotation } from '../src/canary/workloads.ts';
import { crashLabel } from '../src/cluster/kwok-stages.ts';
import { installPeer, peerVersions, startPeer, type PeerTool } from '../src/cluster/peers.ts';
import { controllerUser } from '../src/cluster/credentials.ts';
import type { KubeClient, KubeObject } from '../src/runtime/client.ts';
import { isConflict } from '../src/runtime/api-error.ts';
import * as kinds from '../src/runtime/kinds.ts';
import { resourceKind } from '../src/runtime/kinds.ts';
import type { RoutedService } from '../src/sim/discovery.ts';
import { join } from 'node:path';
import { startControllerProcess, type BenchEnv } from './env.ts';

/** Codedance or one of its peers. */
export type ToolName = 'codedance' | PeerTool;
export const toolNames: readonly ToolName[] = ['codedance', 'flagger', 'argo-rollouts'];

/** What the benchmark asks every tool for: the same for all three (see {@link settingsOf}). */
export const SCENARIO = {
  /** Analysis interval asked of every tool (Flagger raises anything under 10 s to 10 s). */
  analysisInterval: '1s',
  /** The window of the error-rate query. */
  metricWindow: '5s',
  /** Failed analyses that roll back: 1 (Argo: failureLimit 0, rolled back at the first failure). */
  failureThreshold: 1,
  /** Error rate (%) over which the canary fails. */
  errorRateThreshold: 5,
  /** Steps of the healthy release: 10 %, 50 %, then promotion; each held this long. */
  stepPause: '10s',
  /** Progress deadline of the peers, whose only way to see a crash-looping canary is a deadline. */
  progressDeadlineSeconds: 30,
} as const;

/** A running controller of one tool. */
export interface RunningTool {
  pid: number;
  /** The user its API requests are made as (the audit log's `user.username`). */
  user: string;
  stop(): Promise<void>;
}

/**
 * What an app's releases do: `hold` stays at 50 % until told otherwise (the rollback and
 * ramp scenarios), `three` goes 10 %, 50 %, promotion, each step held {@link SCENARIO.stepPause}.
 * `replicas` is the app's size (2 unless the scenario makes many apps).
 */
export interface AppPlan {
  steps: 'hold' | 'three';
  replicas: number;
}

/** How a release of one app ends, as the tool's own object says. */
export type ReleaseState = 'progressing' | 'failed' | 'succeeded' | 'unknown';

/** One tool behind the benchmark's questions. */
export interface ToolDriver {
  tool: ToolName;
  version: string;
  /** The settings used, written beside the figures. */
  settings: string[];
  /** The kind of the tool's release object (watched to read {@link ToolDriver.stateOf}). */
  releaseKind: kinds.ResourceKind;
  start(env: BenchEnv, logName: string): Promise<RunningTool>;
  /** Creates app `app` in `ns` with everything the tool needs before a release of `plan`. */
  createApp(env: BenchEnv, ns: string, app: string, plan: AppPlan): Promise<RoutedService>;
  /** True when `app` can be released (the tool has taken it over and it is steady). */
  ready(release: KubeObject | undefined): boolean;
  /** Starts the release of `<app>:v2` (`plan` as the app was made with); a crashing one's new pods crash-loop (kwok's crash label). */
  release(env: BenchEnv, ns: string, app: string, options: { crash: boolean; plan: AppPlan }): Promise<void>;
  /** Where the release of `app` stands, from the tool's own object. */
  stateOf(release: KubeObject | undefined): ReleaseState;
  /** Pauses the release of `app` the tool's own way (nothing should run for it until resumed). */
  pause(env: BenchEnv, ns: string, app: string): Promise<void>;
}

const container = (app: string, version: string) => ({
  name: 'app',
  image: `${app}:${version}`,
  ports: [{ containerPort: 8080 }],
});

const podTemplate = (app: string, version: string, crash = false) => ({
  metadata: { labels: { app, ...(crash ? { [crashLabel]: 'true' } : {}) } },
  spec: { containers: [container(app, version)] },
});

async function createDeployment(admin: KubeClient, ns: string, app: string, replicas: number): Promise<void> {
  await admin.create(kinds.Deployment, {
    metadata: { name: app, namespace: ns, labels: { app } },
    spec: {
      replicas,
      selector: { matchLabels: { app } },
      template: podTemplate(app, 'v1'),
    },
  });
}

/** A headless Service (the local cluster's /24 Service range cannot hold hundreds of ClusterIPs; nothing routes through the IP). */
async function createService(admin: KubeClient, ns: string, name: string, app: string): Promise<void> {
  await admin.create(kinds.Service, {
    metadata: { name, namespace: ns, labels: { app } },
    spec: { clusterIP: 'None', selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
}

/** The error-rate PromQL (percent of 5xx) of the requests a workload received, over the window. */
export function errorRateQuery(ns: string, workload: string, window: string = SCENARIO.metricWindow): string {
  const selector = `reporter="destination",destination_workload_namespace="${ns}",destination_workload="${workload}"`;
  return `100 * (sum(rate(istio_requests_total{${selector},response_code=~"5.*"}[${window}])) or vector(0)) / sum(rate(istio_requests_total{${selector}}[${window}]))`;
}

// ------------------------------------------------------------------ Codedance

const codedance: ToolDriver = {
  tool: 'codedance',
  version: 'this commit',
  settings: [
    `Istio provider; analysis interval ${SCENARIO.analysisInterval}, window ${SCENARIO.metricWindow}, failureThreshold ${SCENARIO.failureThreshold}, successThreshold 1, errorRate threshold ${SCENARIO.errorRateThreshold}%`,
    'decision.continueScore 0 and pauseScore 0: the threshold alone decides, as for the peers',
    'crash: onPodCrash (Pod watch, no timer)',
    `steps 10 % / 50 % held ${SCENARIO.stepPause}, then 100 %`,
  ],
  releaseKind: CanaryDeploymentKind,
  async start(env, logName) {
    const controller = await startControllerProcess(env, { name: logName, prometheusUrl: env.prometheusUrl });
    return { pid: controller.pid, user: controllerUser, stop: controller.stop };
  },
  async createApp(env, ns, app, plan) {
    await createDeployment(env.admin, ns, app, plan.replicas);
    await createService(env.admin, ns, app, app);
    await env.admin.create(kinds.VirtualService, {
      metadata: { name: app, namespace: ns },
      spec: { hosts: [app], http: [{ route: [{ destination: { host: app, port: { number: 80 } } }] }] },
    } as KubeObject);
    return {
      namespace: ns,
      name: app,
      virtualService: app,
      stableHost: app,
      stableWorkload: app,
      canaryWorkload: `${app}-canary`,
    };
  },
  ready: () => true,
  async release(env, ns, app, options) {
    const spec: CanaryDeploymentSpec = {
      targetDeployment: app,
      canaryVersion: `${app}:v2`,
      strategy: {
        steps:
          options.plan.steps === 'three'
            ? [
                { weight: 10, pause: SCENARIO.stepPause },
                { weight: 50, pause: SCENARIO.stepPause },
                { weight: 100, pause: '0s' },
              ]
            : [
                { weight: 50, pause: '10m' },
                { weight: 100, pause: '0s' },
              ],
      },
      traffic: { provider: 'Istio', istio: { virtualService: app } },
      analysis: {
        interval: SCENARIO.analysisInterval,
        window: SCENARIO.metricWindow,
        successThreshold: 1,
        failureThreshold: SCENARIO.failureThreshold,
      },
      metrics: { errorRate: { threshold: SCENARIO.errorRateThreshold } },
      // The peers judge the threshold alone; Codedance's health score would also roll back
      // a canary that passes it but comes near it (at 10 % of 50 requests/s, one error in
      // the 5 s window reads 4 %). Scores of 0 leave the threshold as the only rule.
      decision: { continueScore: 0, pauseScore: 0 },
      autoRollback: { enabled: true, onMetricsFail: true, onPodCrash: true },
    };
    await env.admin.create(CanaryDeploymentKind, {
      metadata: {
        name: app,
        namespace: ns,
        ...(options.crash
          ? { annotations: { [CanaryPodLabelsAnnotation]: JSON.stringify({ [crashLabel]: 'true' }) } }
          : {}),
      },
      spec,
    });
  },
  stateOf(release) {
    const phase = (release as CanaryDeployment | undefined)?.status?.phase;
    if (phase === 'Failed') return 'failed';
    if (phase === 'Completed') return 'succeeded';
    return phase ? 'progressing' : 'unknown';
  },
  async pause(env, ns, app) {
    await env.admin.patch(CanaryDeploymentKind, ns, app, { spec: { paused: true } }, 'merge');
  },
};

// ------------------------------------------------------------------ Flagger

export const FlaggerCanary = resourceKind('flagger.app', 'v1beta1', 'Canary', 'canaries');

interface FlaggerCanaryObject extends KubeObject {
  status?: { phase?: string; canaryWeight?: number };
}

const flagger: ToolDriver = {
  tool: 'flagger',
  version: peerVersions.flagger,
  settings: [
    '-mesh-provider=istio, -control-loop-interval=1s (default 10s), -metrics-server=<the cluster Prometheus>',
    `Canary analysis.interval ${SCENARIO.analysisInterval} asked (Flagger's floor is 10s, used), threshold ${SCENARIO.failureThreshold}, built-in request-success-rate min ${100 - SCENARIO.errorRateThreshold}% over ${SCENARIO.metricWindow}`,
    `crash: progressDeadlineSeconds ${SCENARIO.progressDeadlineSeconds} (Flagger does not watch pods; a canary that never gets ready fails at the deadline)`,
    'steps: stepWeights [10, 50] (each held one interval), then promotion; a held release: stepWeights [50] and a confirm-promotion webhook that refuses',
  ],
  releaseKind: FlaggerCanary,
  async start(env, logName) {
    const installed = await installPeer(env.state, 'flagger');
    const peer = await startPeer('flagger', installed, {
      prometheusUrl: env.prometheusUrl,
      logPath: join(env.logDir, `${logName}.log`),
    });
    return { pid: peer.pid, user: 'system:serviceaccount:default:flagger', stop: peer.stop };
  },
  async createApp(env, ns, app, plan) {
    await createDeployment(env.admin, ns, app, plan.replicas);
    await env.admin.create(FlaggerCanary, {
      apiVersion: 'flagger.app/v1beta1',
      kind: 'Canary',
      metadata: { name: app, namespace: ns },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: app },
        progressDeadlineSeconds: SCENARIO.progressDeadlineSeconds,
        service: { port: 80, targetPort: 8080, headless: true },
        analysis: {
          interval: SCENARIO.analysisInterval,
          threshold: SCENARIO.failureThreshold,
          stepWeights: plan.steps === 'three' ? [10, 50] : [50],
          // Flagger's documented gate: no promotion until the hook answers 200. This URL
          // never does, so a held release stays at its weight (its analysis still runs).
          ...(plan.steps === 'hold'
            ? {
                webhooks: [
                  { name: 'hold', type: 'confirm-promotion', url: `${env.prometheusUrl}/codedance-hold` },
                ],
              }
            : {}),
          metrics: [
            {
              name: 'request-success-rate',
              thresholdRange: { min: 100 - SCENARIO.errorRateThreshold },
              interval: SCENARIO.metricWindow,
            },
          ],
        },
      },
    } as KubeObject);
    return {
      namespace: ns,
      name: app,
      virtualService: app,
      stableHost: `${app}-primary`,
      stableWorkload: `${app}-primary`,
      canaryWorkload: app,
    };
  },
  ready: (release) => (release as FlaggerCanaryObject | undefined)?.status?.phase === 'Initialized',
  async release(env, ns, app, options) {
    // A held release is the same Canary: nothing else would hold Flagger at its first step.
    await env.admin.patch(
      kinds.Deployment,
      ns,
      app,
      { spec: { template: podTemplate(app, 'v2', options.crash) } },
      'strategic',
    );
  },
  stateOf(release) {
    const phase = (release as FlaggerCanaryObject | undefined)?.status?.phase;
    if (phase === 'Failed') return 'failed';
    if (phase === 'Succeeded') return 'succeeded';
    return phase ? 'progressing' : 'unknown';
  },
  async pause(env, ns, app) {
    // Flagger's documented pause: a suspended Canary is skipped by its control loop.
    await env.admin.patch(FlaggerCanary, ns, app, { spec: { suspend: true } }, 'merge');
  },
};

// ------------------------------------------------------------------ Argo Rollouts

export const ArgoRollout = resourceKind('argoproj.io', 'v1alpha1', 'Rollout', 'rollouts');
const ArgoAnalysisTemplate = resourceKind('argoproj.io', 'v1alpha1', 'AnalysisTemplate', 'analysistemplates');

interface ArgoRolloutObject extends KubeObject {
  spec?: { template?: { spec?: { containers?: { image?: string }[] } } };
  status?: {
    phase?: string;
    abort?: boolean;
    stableRS?: string;
    currentPodHash?: string;
    observedGeneration?: string;
  };
}

function argoSteps(steps: 'hold' | 'three'): object[] {
  return steps === 'three'
    ? [
        { setWeight: 10 },
        { pause: { duration: SCENARIO.stepPause } },
        { setWeight: 50 },
        { pause: { duration: SCENARIO.stepPause } },
      ]
    : [{ setWeight: 50 }, { pause: {} }];
}

const argo: ToolDriver = {
  tool: 'argo-rollouts',
  version: peerVersions['argo-rollouts'],
  settings: [
    '--istio-api-version=v1, host-level traffic splitting (stableService/canaryService, VirtualService route `primary`)',
    `background AnalysisTemplate: Prometheus error rate ≤ ${SCENARIO.errorRateThreshold}% over ${SCENARIO.metricWindow}, interval ${SCENARIO.analysisInterval}, failureLimit 0 (the first failed measurement aborts)`,
    `crash: progressDeadlineSeconds ${SCENARIO.progressDeadlineSeconds}, progressDeadlineAbort true (Argo does not watch pods for crashes); abortScaleDownDelaySeconds 1 (default 30)`,
    `steps: setWeight 10, pause ${SCENARIO.stepPause}, setWeight 50, pause ${SCENARIO.stepPause}, then promotion`,
  ],
  releaseKind: ArgoRollout,
  async start(env, logName) {
    const installed = await installPeer(env.state, 'argo-rollouts');
    const peer = await startPeer('argo-rollouts', installed, {
      prometheusUrl: env.prometheusUrl,
      logPath: join(env.logDir, `${logName}.log`),
    });
    return { pid: peer.pid, user: 'system:serviceaccount:argo-rollouts:argo-rollouts', stop: peer.stop };
  },
  async createApp(env, ns, app, plan) {
    const stable = `${app}-stable`;
    const canary = `${app}-canary`;
    await createService(env.admin, ns, stable, app);
    await createService(env.admin, ns, canary, app);
    await env.admin.create(kinds.VirtualService, {
      metadata: { name: app, namespace: ns },
      spec: {
        hosts: [app],
        http: [
          {
            name: 'primary',
            route: [
              { destination: { host: stable }, weight: 100 },
              { destination: { host: canary }, weight: 0 },
            ],
          },
        ],
      },
    } as KubeObject);
    await env.admin
      .create(ArgoAnalysisTemplate, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AnalysisTemplate',
        metadata: { name: 'error-rate', namespace: ns },
        spec: {
          args: [{ name: 'workload' }],
          metrics: [
            {
              name: 'error-rate',
              interval: SCENARIO.analysisInterval,
              failureLimit: SCENARIO.failureThreshold - 1,
              // No canary traffic yet reads as NaN: not a failure.
              successCondition: `len(result) == 0 || !(result[0] > ${SCENARIO.errorRateThreshold})`,
              provider: {
                prometheus: {
                  address: env.prometheusUrl,
                  query: errorRateQuery(ns, '{{args.workload}}'),
                },
              },
            },
          ],
        },
      } as KubeObject)
      .catch((err: unknown) => {
        // One template per namespace, shared by its apps.
        if (!isConflict(err)) throw err;
      });
    await env.admin.create(ArgoRollout, {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: app, namespace: ns },
      spec: {
        replicas: plan.replicas,
        selector: { matchLabels: { app } },
        template: podTemplate(app, 'v1'),
        progressDeadlineSeconds: SCENARIO.progressDeadlineSeconds,
        progressDeadlineAbort: true,
        strategy: {
          canary: {
            stableService: stable,
            canaryService: canary,
            // The shortest delay before an aborted canary is scaled down (default 30 s; 0 means never).
            abortScaleDownDelaySeconds: 1,
            trafficRouting: { istio: { virtualService: { name: app, routes: ['primary'] } } },
            analysis: {
              templates: [{ templateName: 'error-rate' }],
              args: [{ name: 'workload', value: canary }],
            },
            steps: argoSteps(plan.steps),
          },
        },
      },
    } as KubeObject);
    return {
      namespace: ns,
      name: app,
      virtualService: app,
      stableHost: stable,
      stableWorkload: stable,
      canaryWorkload: canary,
    };
  },
  ready: (release) => (release as ArgoRolloutObject | undefined)?.status?.phase === 'Healthy',
  async release(env, ns, app, options) {
    await env.admin.patch(
      ArgoRollout,
      ns,
      app,
      {
        spec: {
          template: podTemplate(app, 'v2', options.crash),
          strategy: { canary: { steps: argoSteps(options.plan.steps) } },
        },
      },
      'merge',
    );
  },
  stateOf(release) {
    const rollout = release as ArgoRolloutObject | undefined;
    const status = rollout?.status;
    if (!status) return 'unknown';
    if (status.abort || status.phase === 'Degraded') return 'failed';
    const observed = status.observedGeneration === String(rollout?.metadata.generation ?? '');
    // The release is of v2: before it, the v1 Rollout is just as Healthy and promoted.
    const released = rollout?.spec?.template?.spec?.containers?.[0]?.image?.endsWith(':v2') ?? false;
    if (released && observed && status.phase === 'Healthy' && status.stableRS === status.currentPodHash)
      return 'succeeded';
    return 'progressing';
  },
  async pause(env, ns, app) {
    await env.admin.patch(ArgoRollout, ns, app, { spec: { paused: true } }, 'merge');
  },
};

/** The driver of each tool. */
export const drivers: Record<ToolName, ToolDriver> = {
  codedance,
  flagger,
  'argo-rollouts': argo,
};

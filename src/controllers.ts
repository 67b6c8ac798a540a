/**
 * The registry of controllers the controller process can run (`--controllers` picks
 * among them by name; all by default). Adding a controller is one line here.
 */
import type { KubeClient, KubeObject } from './runtime/client.ts';
import type { Controller } from './runtime/controller.ts';
import type { Logger } from './runtime/logging.ts';
import type { HttpServer } from './runtime/http.ts';
import type { Registry } from 'prom-client';
import type { AuditTrail } from './audit/trail.ts';
import { webappEntry } from './webapp/index.ts';
import { canaryEntry } from './canary/index.ts';
import { fleetEntry } from './fleet/index.ts';
import { wavesEntry } from './waves/index.ts';

/** What a controller factory gets from the process. */
export interface ControllerFactoryOptions {
  client: KubeClient;
  log: Logger;
  /** Namespaces the process watches (unset: all). */
  namespaces: string[] | undefined;
  /** `--prometheus-url`, for controllers that query metrics. */
  prometheusUrl: string | undefined;
  /** `--allowed-prometheus-url`: other Prometheus addresses objects may name. @default none */
  allowedPrometheusUrls?: string[] | undefined;
  /** `--allow-internal-notification-urls`: notification URLs may reach cluster-internal hosts. @default false */
  allowInternalNotificationUrls?: boolean | undefined;
  /** `--release-workers`: CanaryDeployment reconciles at once. @default the canary controller's own */
  releaseWorkers?: number | undefined;
  /** `--otlp-endpoint`, for controllers that export traces (else the OTEL_* environment). */
  otlpEndpoint: string | undefined;
  /** This process's identity (hostname + random id). */
  identity: string;
  /** The process's HTTP server, to mount extra routes. */
  http: HttpServer;
  /** The registry `/metrics` serves, for controllers that export series of their own. @default none */
  registry?: Registry | undefined;
  /** `--audit-sink`: the audit trail controllers report what they store to. @default none */
  audit?: AuditTrail | undefined;
}

/** One registered controller. */
export interface ControllerEntry {
  /** Name used by `--controllers`; the same as the controller's own name. */
  name: string;
  create(options: ControllerFactoryOptions): Controller<KubeObject> | Promise<Controller<KubeObject>>;
}

/** Every controller of the project. */
export const controllers: ControllerEntry[] = [webappEntry, canaryEntry, fleetEntry, wavesEntry];

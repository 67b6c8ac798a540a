/**
 * What Codedance gives a monitoring stack, generated like the manifests (`npm run gen`):
 *
 * - a Grafana dashboard (`deploy/grafana/codedance-dashboard.json`; in the chart as an
 *   optional ConfigMap for Grafana's dashboard sidecar): releases by phase, canary weight
 *   over time, the analysis metrics of canary against stable (requests, latency, CPU,
 *   memory), rollbacks, controller health;
 * - a PrometheusRule example (`deploy/prometheus/codedance-rules.yaml`): a release rolled back, a
 *   release paused for more than an hour, the controller failing reconciles.
 *
 * The series are those of src/canary/release-metrics.ts and src/runtime/metrics.ts (the
 * controller's `/metrics`), the data plane's (Istio, application `http_requests_total`)
 * and the kubelet's cAdvisor. test/integration/analysis/dashboard.test.ts runs every
 * panel's query against the real Prometheus during a release and checks each returns data.
 */

/** One query of a panel. */
export interface DashboardTarget {
  refId: string;
  expr: string;
  legendFormat: string;
}

/** One panel, as the Grafana dashboard JSON model has it (the fields we use). */
export interface DashboardPanel {
  id: number;
  type: 'timeseries' | 'stat' | 'bargauge' | 'row';
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: 'prometheus'; uid: string };
  targets?: DashboardTarget[];
  fieldConfig?: { defaults: Record<string, unknown>; overrides: unknown[] };
  options?: Record<string, unknown>;
  /** Rows only: whether folded, and the panels folded in it (none: ours stay open). */
  collapsed?: boolean;
  panels?: DashboardPanel[];
}

/** Options of each visualisation, with every field Grafana's panel schema requires (its defaults, legend shown). */
const LEGEND = { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] };
const PANEL_OPTIONS: Record<Exclude<DashboardPanel['type'], 'row'>, Record<string, unknown>> = {
  timeseries: { legend: LEGEND, tooltip: { mode: 'multi', sort: 'desc' } },
  stat: {
    reduceOptions: { calcs: ['lastNotNull'], values: false, fields: '' },
    orientation: 'auto',
    textMode: 'auto',
    colorMode: 'value',
    graphMode: 'area',
    justifyMode: 'auto',
    showPercentChange: false,
    wideLayout: true,
  },
  bargauge: {
    displayMode: 'gradient',
    valueMode: 'color',
    namePlacement: 'auto',
    showUnfilled: true,
    sizing: 'auto',
    minVizWidth: 8,
    minVizHeight: 16,
    maxVizHeight: 300,
    legend: { ...LEGEND, showLegend: false },
    reduceOptions: { calcs: ['lastNotNull'], values: false, fields: '' },
    orientation: 'horizontal',
  },
};

/** Grafana's datasource reference to the dashboard's `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, substituted by Grafana, not by us.
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** The release's selectors, from the dashboard variables. */
const REL = 'namespace=~"$namespace", name=~"$release"';
/** Pods of the selected target (stable `<target>-…`, canary `<target>-canary-…`). */
const PODS = 'namespace=~"$namespace", pod=~"$target-.*", container!="", container!="POD"';

interface PanelSpec {
  type: DashboardPanel['type'];
  title: string;
  description: string;
  w: number;
  h?: number;
  unit?: string;
  targets: [expr: string, legend: string][];
}

const rows: { title: string; panels: PanelSpec[] }[] = [
  {
    title: 'Releases',
    panels: [
      {
        type: 'bargauge',
        title: 'Releases by phase',
        description: 'How many releases are in each phase now.',
        w: 8,
        targets: [['count by (phase) (codedance_release_phase{namespace=~"$namespace"})', '{{phase}}']],
      },
      {
        type: 'timeseries',
        title: 'Canary weight',
        description: "The canary's share of traffic over time, per release.",
        w: 8,
        unit: 'percent',
        targets: [[`codedance_release_weight_percent{${REL}}`, '{{namespace}}/{{name}}']],
      },
      {
        type: 'timeseries',
        title: 'Step',
        description: 'Current step index (0-based) of the plan.',
        w: 8,
        targets: [[`codedance_release_step{${REL}}`, '{{namespace}}/{{name}}']],
      },
      {
        type: 'timeseries',
        title: 'Analysis score',
        description: 'Health score of the last analysis (continue at 80, pause at 60 by default).',
        w: 8,
        targets: [[`codedance_release_analysis_score{${REL}}`, '{{namespace}}/{{name}}']],
      },
      {
        type: 'timeseries',
        title: 'Rollbacks',
        description: 'Releases rolled back in the last hour, by reason.',
        w: 8,
        targets: [
          [
            'sum by (reason) (increase(codedance_release_rollbacks_total{namespace=~"$namespace"}[1h]))',
            '{{reason}}',
          ],
        ],
      },
      {
        type: 'timeseries',
        title: 'Release time',
        description: 'Seconds since each release started (to its end once finished).',
        w: 8,
        unit: 's',
        targets: [[`codedance_release_elapsed_seconds{${REL}}`, '{{namespace}}/{{name}}']],
      },
    ],
  },
  {
    title: 'Canary against stable',
    panels: [
      {
        type: 'timeseries',
        title: 'Success rate (Istio)',
        description: 'Share of non-5xx responses per workload, as the destination sidecars report it.',
        w: 8,
        unit: 'percent',
        targets: [
          [
            'sum by (destination_workload) (rate(istio_requests_total{reporter="destination", destination_workload_namespace=~"$namespace", destination_workload=~"$target|$target-canary", response_code!~"5.."}[$__rate_interval])) / sum by (destination_workload) (rate(istio_requests_total{reporter="destination", destination_workload_namespace=~"$namespace", destination_workload=~"$target|$target-canary"}[$__rate_interval])) * 100',
            '{{destination_workload}}',
          ],
        ],
      },
      {
        type: 'timeseries',
        title: 'p99 latency (Istio)',
        description: '99th percentile request duration per workload.',
        w: 8,
        unit: 'ms',
        targets: [
          [
            'histogram_quantile(0.99, sum by (destination_workload, le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload_namespace=~"$namespace", destination_workload=~"$target|$target-canary"}[$__rate_interval])))',
            '{{destination_workload}}',
          ],
        ],
      },
      {
        type: 'timeseries',
        title: 'Error rate (application metrics)',
        description: "Share of 5xx in the application's own http_requests_total, per version label.",
        w: 8,
        unit: 'percent',
        targets: [
          [
            '(sum by (version) (rate(http_requests_total{namespace=~"$namespace", app="$target", status=~"5.."}[$__rate_interval])) or sum by (version) (rate(http_requests_total{namespace=~"$namespace", app="$target"}[$__rate_interval])) * 0) / sum by (version) (rate(http_requests_total{namespace=~"$namespace", app="$target"}[$__rate_interval])) * 100',
            '{{version}}',
          ],
        ],
      },
      {
        type: 'timeseries',
        title: 'CPU per pod',
        description: 'Cores used by each pod of the target and its canary (cAdvisor).',
        w: 12,
        targets: [
          [`sum by (pod) (rate(container_cpu_usage_seconds_total{${PODS}}[$__rate_interval]))`, '{{pod}}'],
        ],
      },
      {
        type: 'timeseries',
        title: 'Memory per pod',
        description: 'Working-set memory of each pod of the target and its canary (cAdvisor).',
        w: 12,
        unit: 'bytes',
        targets: [[`sum by (pod) (container_memory_working_set_bytes{${PODS}})`, '{{pod}}']],
      },
    ],
  },
  {
    title: 'Controller',
    panels: [
      {
        type: 'timeseries',
        title: 'Reconciles',
        description: 'Reconciles per second by controller and result.',
        w: 8,
        unit: 'reqps',
        targets: [
          [
            'sum by (controller, result) (rate(codedance_reconcile_total[$__rate_interval]))',
            '{{controller}} {{result}}',
          ],
        ],
      },
      {
        type: 'timeseries',
        title: 'Reconcile p99',
        description: '99th percentile time of one reconcile.',
        w: 8,
        unit: 's',
        targets: [
          [
            'histogram_quantile(0.99, sum by (controller, le) (rate(codedance_reconcile_duration_seconds_bucket[$__rate_interval])))',
            '{{controller}}',
          ],
        ],
      },
      {
        type: 'timeseries',
        title: 'Work queue depth',
        description: 'Keys waiting per controller.',
        w: 8,
        targets: [['sum by (controller) (codedance_queue_depth)', '{{controller}}']],
      },
    ],
  },
];

/** The dashboard's panels (rows included), laid out on Grafana's 24-column grid. */
export function dashboardPanels(): DashboardPanel[] {
  const panels: DashboardPanel[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      gridPos: { h: 1, w: 24, x: 0, y },
      collapsed: false,
      panels: [],
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const spec of row.panels) {
      const h = spec.h ?? 8;
      if (x + spec.w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push({
        id: id++,
        type: spec.type,
        title: spec.title,
        description: spec.description,
        gridPos: { h, w: spec.w, x, y },
        datasource: DATASOURCE,
        targets: spec.targets.map(
          ([expr, legendFormat], i) =>
            ({
              refId: String.fromCharCode(65 + i),
              expr,
              legendFormat,
              datasource: DATASOURCE,
            }) as DashboardTarget,
        ),
        fieldConfig: { defaults: spec.unit ? { unit: spec.unit } : {}, overrides: [] },
        options: structuredClone(PANEL_OPTIONS[spec.type as Exclude<DashboardPanel['type'], 'row'>]),
      });
      x += spec.w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return panels;
}

/** The Grafana dashboard (JSON model, schemaVersion 39: Grafana 10.3 and later load it as is). */
export function grafanaDashboard(): Record<string, unknown> {
  const variable = (name: string, label: string, query: string, includeAll: boolean) => ({
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    query: { query, refId: `${name}-query` },
    definition: query,
    refresh: 2,
    includeAll,
    multi: includeAll,
    ...(includeAll ? { allValue: '.*' } : {}),
    current: includeAll ? { text: 'All', value: '$__all' } : { text: '', value: '' },
    options: [],
    sort: 1,
    hide: 0,
  });
  return {
    uid: 'codedance-releases',
    title: 'Codedance releases',
    description:
      'Progressive releases by Codedance: phases, weights, analysis of canary against stable, rollbacks and controller health.',
    tags: ['codedance', 'progressive-delivery'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    links: [],
    annotations: { list: [] },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Prometheus',
          type: 'datasource',
          query: 'prometheus',
          current: { text: 'default', value: 'default' },
          hide: 0,
          options: [],
          refresh: 1,
        },
        variable('namespace', 'Namespace', 'label_values(codedance_release_phase, namespace)', true),
        variable(
          'release',
          'Release',
          'label_values(codedance_release_phase{namespace=~"$namespace"}, name)',
          true,
        ),
        variable(
          'target',
          'Target Deployment',
          'label_values(codedance_release_info{namespace=~"$namespace", name=~"$release"}, target)',
          false,
        ),
      ],
    },
    panels: dashboardPanels(),
  };
}

/** A PrometheusRule (Prometheus Operator) with the alerts most teams start from. */
export function prometheusRules(): Record<string, unknown> {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'codedance',
      namespace: 'codedance-system',
      labels: { 'app.kubernetes.io/name': 'codedance', 'app.kubernetes.io/part-of': 'codedance' },
    },
    spec: {
      groups: [
        {
          name: 'codedance.releases',
          rules: [
            {
              alert: 'CodedanceReleaseRolledBack',
              expr: 'sum by (namespace, reason) (increase(codedance_release_rollbacks_total[10m])) > 0',
              labels: { severity: 'warning' },
              annotations: {
                summary: 'A release in {{ $labels.namespace }} was rolled back ({{ $labels.reason }})',
                description:
                  'kubectl get canarydeployments -n {{ $labels.namespace }} shows which; its status.message and Events say why.',
              },
            },
            {
              alert: 'CodedanceReleasePausedTooLong',
              expr: 'codedance_release_phase{phase="Paused"} == 1',
              for: '1h',
              labels: { severity: 'warning' },
              annotations: {
                summary:
                  'Release {{ $labels.namespace }}/{{ $labels.name }} has been paused for more than an hour',
                description:
                  'It waits for an approval (codedance promote) or for healthy analyses; kubectl describe canarydeployment {{ $labels.name }} -n {{ $labels.namespace }}.',
              },
            },
            {
              alert: 'CodedanceReleaseScoreLow',
              expr: 'codedance_release_analysis_score < 60 and on (namespace, name) codedance_release_phase{phase=~"Progressing|Paused"} == 1',
              for: '5m',
              labels: { severity: 'info' },
              annotations: {
                summary:
                  'Release {{ $labels.namespace }}/{{ $labels.name }} scores {{ $value }} (below the default pause score)',
              },
            },
          ],
        },
        {
          name: 'codedance.controller',
          rules: [
            {
              alert: 'CodedanceReconcileErrors',
              expr: 'sum by (controller) (rate(codedance_reconcile_errors_total[5m])) > 0.1',
              for: '15m',
              labels: { severity: 'warning' },
              annotations: {
                summary: 'The {{ $labels.controller }} controller keeps failing reconciles',
                description: 'See the controller log and the Warning Events of the releases.',
              },
            },
          ],
        },
      ],
    },
  };
}

/** Every PromQL expression of the dashboard's panels, with its panel title (for tests). */
export function dashboardQueries(): { panel: string; expr: string }[] {
  return dashboardPanels().flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

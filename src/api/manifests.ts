/**
 * The controller's install manifests (RBAC and the controller Deployment) as data, so
 * `npm run gen` writes them beside the CRDs and the permissions live next to the APIs
 * they grant, in one reviewed place.
 *
 * The ClusterRole is the contract between the controller and a cluster admin: every
 * verb below is used by some part of the controller, and nothing else is granted
 * (test/integration/security/rbac-audit.test.ts proves both from the API server's audit
 * log). Tests run the controller under exactly this role, so a missing verb fails a test
 * instead of a user's release.
 */
import { CommandAnnotation, PausedByAnnotation } from './canary-deployment.ts';
import { CanaryDeploymentApi, ReleaseGroupApi, ReleasePlanApi, WebAppApi } from './crd.ts';

/** Namespace the controller is installed into. */
export const CONTROLLER_NAMESPACE = 'codedance-system';
/** ServiceAccount (and identity) of the controller. */
export const CONTROLLER_SERVICE_ACCOUNT = 'codedance';
/** Name of the ClusterRole and ClusterRoleBinding. */
export const CONTROLLER_ROLE = 'codedance-controller';
/** Port of the controller's HTTP server (/healthz, /readyz, /metrics). */
export const CONTROLLER_HTTP_PORT = 8080;

/**
 * The controller container's memory (issue 17; figures in bench/README.md, "Memory"):
 * at rest about 100-115 MiB RSS, a cluster of 5,000 unrelated ConfigMaps and 2,000
 * Deployments adds a few MiB (metadata only), each release in flight well under 0.5 MiB
 * of RSS. The request covers rest plus a few hundred releases; the limit leaves room for
 * about a thousand releases in flight at once, and V8's old space is capped below it so
 * the heap collects hard before the kernel would kill the process.
 */
export const CONTROLLER_MEMORY = { request: '160Mi', limit: '512Mi' } as const;

/**
 * V8 flags of the controller (`NODE_OPTIONS`): a 1 MiB young generation (the default
 * grows to 16 MiB per semi-space, ~30 MiB of RSS an idle controller never gives back) and
 * an old space of 384 MiB, 128 MiB below {@link CONTROLLER_MEMORY}'s limit for code,
 * buffers and sockets. The benchmarks run the controller with the same flags.
 */
export const CONTROLLER_NODE_OPTIONS = '--max-semi-space-size=1 --max-old-space-size=384';
/** Port of the in-cluster dashboard, when enabled (`--dashboard-port`); apart from the probes and /metrics. */
export const DASHBOARD_PORT = 8081;
/** Name of the dashboard's ClusterRole, ClusterRoleBinding and Service. */
export const DASHBOARD_ROLE = 'codedance-dashboard';

/** Name of the Role (in {@link CONTROLLER_NAMESPACE}) holding the leader-election Lease. */
export const LEASE_ROLE = 'codedance-controller-leader-election';
/** ClusterRole aggregated into the cluster's `view` role: read releases and WebApps. */
export const VIEW_ROLE = 'codedance-view';
/** ClusterRole aggregated into the cluster's `edit` role: create, change and steer releases and WebApps. */
export const EDIT_ROLE = 'codedance-edit';

/** One rule of a (Cluster)Role, as the RBAC API writes it. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const labels = {
  'app.kubernetes.io/name': 'codedance',
  'app.kubernetes.io/component': 'controller',
  'app.kubernetes.io/part-of': 'codedance',
};
const userRoleLabels = { 'app.kubernetes.io/name': 'codedance', 'app.kubernetes.io/part-of': 'codedance' };

/**
 * What the controller may do cluster-wide, rule by rule, with the reason for each.
 *
 * Exactly what it uses, no more: test/integration/security/rbac-audit.test.ts runs the
 * controller through every kind of release under this role, reads the API server's audit
 * log, and fails on a grant nothing used as well as on a request that was refused.
 * When it fails, it prints the rule to add or the verb to remove here.
 *
 * Secrets are `get` only: the controller reads the one Secret a notification names, and
 * uses it only if it carries the label `deploy.codedance.io/notification: "true"`; it never lists or
 * watches Secrets. Leases are not here: see {@link leaseRules}.
 */
export const controllerRules: PolicyRule[] = [
  // Releases: cached (list, watch), finalizer added and removed (patch), deleted by the
  // WebApp controller, which also applies them server-side (patch; create when new).
  {
    apiGroups: [CanaryDeploymentApi.group],
    resources: [CanaryDeploymentApi.plural],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  // Status, applied server-side.
  {
    apiGroups: [CanaryDeploymentApi.group],
    resources: [`${CanaryDeploymentApi.plural}/status`],
    verbs: ['patch'],
  },
  // Children carry blockOwnerDeletion owner references to their release / WebApp, which
  // the OwnerReferencesPermissionEnforcement admission plugin allows only with this.
  {
    apiGroups: [CanaryDeploymentApi.group],
    resources: [`${CanaryDeploymentApi.plural}/finalizers`],
    verbs: ['update'],
  },
  // ReleaseGroups: cached, status applied server-side; members made from a template carry
  // a blockOwnerDeletion owner reference to their group (finalizers: update).
  { apiGroups: [ReleaseGroupApi.group], resources: [ReleaseGroupApi.plural], verbs: ['list', 'watch'] },
  { apiGroups: [ReleaseGroupApi.group], resources: [`${ReleaseGroupApi.plural}/status`], verbs: ['patch'] },
  {
    apiGroups: [ReleaseGroupApi.group],
    resources: [`${ReleaseGroupApi.plural}/finalizers`],
    verbs: ['update'],
  },
  // ReleasePlans: cached, status applied server-side (their releases live in other
  // clusters, written with the credentials of the plan's cluster Secrets).
  { apiGroups: [ReleasePlanApi.group], resources: [ReleasePlanApi.plural], verbs: ['list', 'watch'] },
  { apiGroups: [ReleasePlanApi.group], resources: [`${ReleasePlanApi.plural}/status`], verbs: ['patch'] },
  // WebApps: cached, finalizer (patch), status applied server-side.
  { apiGroups: [WebAppApi.group], resources: [WebAppApi.plural], verbs: ['list', 'watch', 'patch'] },
  { apiGroups: [WebAppApi.group], resources: [`${WebAppApi.plural}/status`], verbs: ['patch'] },
  { apiGroups: [WebAppApi.group], resources: [`${WebAppApi.plural}/finalizers`], verbs: ['update'] },
  // The canary Deployment (created, applied, deleted), the stable one (role label,
  // promotion, the Replicas provider's scaling, read back live) and the WebApp's Deployment.
  {
    apiGroups: ['apps'],
    resources: ['deployments'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
  // Which pods are the stable version's: the pod-template-hash of its current ReplicaSet
  // (the Istio stable subset selects it, so a release restarts none of them).
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
  // Replicas provider: an autoscaler on the target Deployment would fight its replica counts
  // (listed before a release starts, where the metadata-only watch shows any in the namespace).
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list', 'watch'] },
  // Canary and preview Services and the WebApp's Service (applied server-side: create
  // when new, patch), and the WebApp's environment in a ConfigMap.
  {
    apiGroups: [''],
    resources: ['services', 'configmaps'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  // The Services a release names (its stable, canary and preview Services) are cached by
  // reference: a name-only watch of all, and one GET of each named one when it changes.
  { apiGroups: [''], resources: ['services'], verbs: ['get'] },
  // Crash and readiness detection of canary pods (watched by label): read only.
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
  // Notification receiver URLs and signing secrets: one named, opted-in Secret at a time.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  // events.k8s.io/v1 Events; repeats are folded into a series by patching the Event.
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  // Nginx provider: the canary Ingress, applied server-side from the stable one, removed at the end.
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'create', 'patch', 'delete'] },
  // Istio provider: route weights on the user's VirtualService.
  { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['get', 'patch'] },
  // Istio provider: subsets on the user's DestinationRule, or one created for the release and removed after.
  {
    apiGroups: ['networking.istio.io'],
    resources: ['destinationrules'],
    verbs: ['get', 'create', 'patch', 'delete'],
  },
  // Gateway API provider: backendRef weights on the user's HTTPRoute, GRPCRoute (traffic.protocol
  // GRPC) or TCPRoute (TCP; the GET also tells a cluster without its CRD).
  {
    apiGroups: ['gateway.networking.k8s.io'],
    resources: ['httproutes', 'grpcroutes', 'tcproutes'],
    verbs: ['get', 'patch'],
  },
];

/**
 * Leader election, in the controller's own namespace only (a Role, not a ClusterRole):
 * read the Lease, create it the first time, renew it by update.
 */
export const leaseRules: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

const userResources = (suffix = ''): PolicyRule[] => [
  {
    apiGroups: [CanaryDeploymentApi.group],
    resources: [`${CanaryDeploymentApi.plural}${suffix}`],
    verbs: [],
  },
  { apiGroups: [WebAppApi.group], resources: [`${WebAppApi.plural}${suffix}`], verbs: [] },
  { apiGroups: [ReleaseGroupApi.group], resources: [`${ReleaseGroupApi.plural}${suffix}`], verbs: [] },
  { apiGroups: [ReleasePlanApi.group], resources: [`${ReleasePlanApi.plural}${suffix}`], verbs: [] },
];

/**
 * Read access for people, aggregated into the cluster's `view` (and so `edit` and
 * `admin`) ClusterRoles: a team's existing RoleBinding to `view` covers releases and WebApps.
 */
export const viewRules: PolicyRule[] = [...userResources(), ...userResources('/status')].map((rule) => ({
  ...rule,
  verbs: ['get', 'list', 'watch'],
}));

/**
 * Write access for people, aggregated into `edit` (and `admin`): create and change
 * releases and WebApps, steer a release (its command annotation, `spec.paused`), delete
 * them. Status stays the controller's.
 */
export const editRules: PolicyRule[] = userResources().map((rule) => ({
  ...rule,
  verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'],
}));

/**
 * The RBAC documents: the controller's Namespace (so the ServiceAccount can be applied
 * from this file alone), ServiceAccount, its ClusterRole and Lease Role with their
 * bindings, and the `codedance-view` / `codedance-edit` ClusterRoles for people.
 */
export function rbacManifests(): object[] {
  const serviceAccount = {
    kind: 'ServiceAccount',
    name: CONTROLLER_SERVICE_ACCOUNT,
    namespace: CONTROLLER_NAMESPACE,
  };
  return [
    namespace(),
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: CONTROLLER_SERVICE_ACCOUNT, namespace: CONTROLLER_NAMESPACE, labels },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: CONTROLLER_ROLE, labels },
      rules: controllerRules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: CONTROLLER_ROLE, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CONTROLLER_ROLE },
      subjects: [serviceAccount],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: LEASE_ROLE, namespace: CONTROLLER_NAMESPACE, labels },
      rules: leaseRules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: LEASE_ROLE, namespace: CONTROLLER_NAMESPACE, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: LEASE_ROLE },
      subjects: [serviceAccount],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: VIEW_ROLE,
        labels: {
          ...userRoleLabels,
          'rbac.authorization.k8s.io/aggregate-to-view': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
        },
      },
      rules: viewRules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: EDIT_ROLE,
        labels: {
          ...userRoleLabels,
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
        },
      },
      rules: editRules,
    },
  ];
}

/**
 * The controller's Namespace and Deployment, hardened: non-root, read-only root
 * filesystem, no capabilities, no privilege escalation, the runtime's seccomp profile.
 *
 * Two replicas with leader election: one reconciles, the other takes over when its lease
 * runs out. Liveness is /healthz (the process is alive), readiness /readyz (caches synced).
 *
 * @param image The controller image. @default `codedance/controller:<package version>`
 */
export function controllerManifests(image: string): object[] {
  return [
    namespace(),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: CONTROLLER_ROLE, namespace: CONTROLLER_NAMESPACE, labels },
      spec: {
        replicas: 2,
        selector: {
          matchLabels: { 'app.kubernetes.io/name': 'codedance', 'app.kubernetes.io/component': 'controller' },
        },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: CONTROLLER_SERVICE_ACCOUNT,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'controller',
                image,
                // 0.0.0.0: kubelet probes and Prometheus reach the Pod's IP, not its loopback.
                args: [
                  'controller',
                  '--leader-elect=true',
                  `--lease-namespace=${CONTROLLER_NAMESPACE}`,
                  `--http-port=${CONTROLLER_HTTP_PORT}`,
                  '--bind-address=0.0.0.0',
                ],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'NODE_OPTIONS', value: CONTROLLER_NODE_OPTIONS },
                ],
                ports: [{ name: 'http', containerPort: CONTROLLER_HTTP_PORT, protocol: 'TCP' }],
                livenessProbe: {
                  httpGet: { path: '/healthz', port: 'http' },
                  periodSeconds: 10,
                  failureThreshold: 3,
                },
                readinessProbe: {
                  httpGet: { path: '/readyz', port: 'http' },
                  periodSeconds: 5,
                  failureThreshold: 2,
                },
                startupProbe: {
                  httpGet: { path: '/healthz', port: 'http' },
                  periodSeconds: 2,
                  failureThreshold: 30,
                },
                resources: {
                  requests: { cpu: '100m', memory: CONTROLLER_MEMORY.request },
                  limits: { memory: CONTROLLER_MEMORY.limit },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  privileged: false,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            // Node writes nothing else, but libraries may want a scratch directory.
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: CONTROLLER_ROLE, namespace: CONTROLLER_NAMESPACE, labels },
      spec: {
        selector: { 'app.kubernetes.io/name': 'codedance', 'app.kubernetes.io/component': 'controller' },
        ports: [{ name: 'http', port: CONTROLLER_HTTP_PORT, targetPort: 'http', protocol: 'TCP' }],
      },
    },
  ];
}

/** The controller's Namespace; in both files so each applies on its own (applying it twice is harmless). */
function namespace(): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CONTROLLER_NAMESPACE, labels } };
}

/**
 * What the in-cluster dashboard needs beyond the controller's own reads: to ask the API
 * server who a bearer token belongs to (TokenReview) and what that person may do
 * (SubjectAccessReview). No write to any object, no `impersonate`: the person's writes
 * are made with their own token. Kept apart from the controller's ClusterRole, and bound
 * only by deploy/dashboard.yaml, so a cluster without the dashboard grants none of it.
 */
export const dashboardRules: PolicyRule[] = [
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];

/**
 * The in-cluster dashboard's ClusterRole and its binding to the controller's
 * ServiceAccount, and a Service on the dashboard port. Apply it together with
 * `--dashboard-port` on the controller (see deploy/README.md, "Security model").
 */
export function dashboardManifests(): object[] {
  const dashboardLabels = { ...labels, 'app.kubernetes.io/component': 'dashboard' };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: DASHBOARD_ROLE, labels: dashboardLabels },
      rules: dashboardRules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: DASHBOARD_ROLE, labels: dashboardLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: DASHBOARD_ROLE },
      subjects: [
        { kind: 'ServiceAccount', name: CONTROLLER_SERVICE_ACCOUNT, namespace: CONTROLLER_NAMESPACE },
      ],
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: DASHBOARD_ROLE, namespace: CONTROLLER_NAMESPACE, labels: dashboardLabels },
      spec: {
        selector: { 'app.kubernetes.io/name': 'codedance', 'app.kubernetes.io/component': 'controller' },
        ports: [{ name: 'dashboard', port: DASHBOARD_PORT, targetPort: DASHBOARD_PORT, protocol: 'TCP' }],
      },
    },
  ];
}

/** Name of the ValidatingAdmissionPolicy (and its binding) that checks who a command names. */
export const COMMAND_AUTHOR_POLICY = 'codedance-command-author';

/** A CEL expression reading annotation `key` of `object` (or `oldObject`), '' when absent. */
function annotation(object: 'object' | 'oldObject', key: string): string {
  const guard = object === 'oldObject' ? 'oldObject != null && ' : '';
  return `${guard}has(${object}.metadata.annotations) && '${key}' in ${object}.metadata.annotations ? ${object}.metadata.annotations['${key}'] : ''`;
}

/**
 * A ValidatingAdmissionPolicy that makes the author a command names (`;by=<username>`,
 * and `deploy.codedance.io/paused-by`) the truth: a request that sets or changes one must
 * come from that very user (`request.userInfo.username`). A command without an author
 * stays allowed. Optional (Kubernetes 1.30+): apply deploy/policy.yaml to turn the
 * controller's "by bob" from a claim into a fact; the integration tests run under it.
 */
export function commandAuthorPolicy(): object[] {
  const policyLabels = { ...labels, 'app.kubernetes.io/component': 'policy' };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: COMMAND_AUTHOR_POLICY, labels: policyLabels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [CanaryDeploymentApi.group],
              apiVersions: ['*'],
              operations: ['CREATE', 'UPDATE'],
              resources: [CanaryDeploymentApi.plural],
            },
          ],
        },
        variables: [
          { name: 'command', expression: annotation('object', CommandAnnotation) },
          { name: 'oldCommand', expression: annotation('oldObject', CommandAnnotation) },
          { name: 'pausedBy', expression: annotation('object', PausedByAnnotation) },
          { name: 'oldPausedBy', expression: annotation('oldObject', PausedByAnnotation) },
        ],
        validations: [
          {
            // The author is everything after the first ';by=' (as the controller reads it).
            expression:
              "variables.command == variables.oldCommand || !variables.command.contains(';by=') || " +
              "variables.command.substring(variables.command.indexOf(';by=') + 4) == request.userInfo.username",
            message: `${CommandAnnotation}: the author after ';by=' must be the user making the request`,
            reason: 'Forbidden',
          },
          {
            expression:
              "variables.pausedBy == variables.oldPausedBy || variables.pausedBy == '' || variables.pausedBy == request.userInfo.username",
            message: `${PausedByAnnotation}: must be the user making the request`,
            reason: 'Forbidden',
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: COMMAND_AUTHOR_POLICY, labels: policyLabels },
      spec: { policyName: COMMAND_AUTHOR_POLICY, validationActions: ['Deny'] },
    },
  ];
}

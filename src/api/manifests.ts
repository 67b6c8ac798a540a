/**
 * The controller's install manifests (RBAC and the controller Deployment) as data, so
 * `npm run gen` writes them beside the CRDs and the permissions live next to the APIs
 * they grant, in one reviewed place.
 *
 * The ClusterRole is the contract between the controller and a cluster admin: every
 * verb below is used by some part of the controller, and nothing else is granted.
 * Tests run the controller under exactly this role, so a missing verb fails a test
 * instead of a user's release.
 */
import { CommandAnnotation, PausedByAnnotation } from './canary-deployment.ts';
import { CanaryDeploymentApi, WebAppApi } from './crd.ts';

/** Namespace the controller is installed into. */
export const CONTROLLER_NAMESPACE = 'codedance-system';
/** ServiceAccount (and identity) of the controller. */
export const CONTROLLER_SERVICE_ACCOUNT = 'codedance';
/** Name of the ClusterRole and ClusterRoleBinding. */
export const CONTROLLER_ROLE = 'codedance-controller';
/** Port of the controller's HTTP server (/healthz, /readyz, /metrics). */
export const CONTROLLER_HTTP_PORT = 8080;
/** Port of the in-cluster dashboard, when enabled (`--dashboard-port`); apart from the probes and /metrics. */
export const DASHBOARD_PORT = 8081;
/** Name of the dashboard's ClusterRole, ClusterRoleBinding and Service. */
export const DASHBOARD_ROLE = 'codedance-dashboard';

/** One rule of a (Cluster)Role, as the RBAC API writes it. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete'];
const labels = { 'app.kubernetes.io/name': 'codedance', 'app.kubernetes.io/component': 'controller', 'app.kubernetes.io/part-of': 'codedance' };

/**
 * What the controller may do, rule by rule, with the reason for each.
 *
 * Caveats: Secrets are read cluster-wide (notification `secretRef`s may sit in any
 * namespace the controller serves); a narrower install can bind a Role per namespace
 * instead. Leases are granted cluster-wide because the lease namespace is a flag.
 */
export const controllerRules: PolicyRule[] = [
  // Our own APIs: watch them, add and remove finalizers, write status. The WebApp
  // controller also creates and deletes the CanaryDeployment of a release.
  ...[CanaryDeploymentApi, WebAppApi].flatMap((api): PolicyRule[] => [
    { apiGroups: [api.group], resources: [api.plural], verbs: [...READ, ...WRITE] },
    { apiGroups: [api.group], resources: [`${api.plural}/status`], verbs: ['get', 'update', 'patch'] },
    { apiGroups: [api.group], resources: [`${api.plural}/finalizers`], verbs: ['update'] },
  ]),
  // Stable and canary workloads (and the WebApp's Deployment): applied server-side, scaled for the Replicas provider.
  { apiGroups: ['apps'], resources: ['deployments'], verbs: [...READ, ...WRITE] },
  // Revisions of a Deployment, to tell which pods belong to which version.
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: READ },
  // Replicas provider: an autoscaler on the target Deployment would fight its replica counts (listed before a release starts).
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list'] },
  // Stable, canary and preview Services; the WebApp's Service.
  { apiGroups: [''], resources: ['services'], verbs: [...READ, ...WRITE] },
  // The WebApp's environment.
  { apiGroups: [''], resources: ['configmaps'], verbs: [...READ, ...WRITE] },
  // Crash and readiness detection of canary pods: read only.
  { apiGroups: [''], resources: ['pods'], verbs: READ },
  // Notification receiver URLs and signing secrets: read only.
  { apiGroups: [''], resources: ['secrets'], verbs: READ },
  // events.k8s.io/v1 Events; repeats are folded into a series by patching the Event.
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'update', 'patch'] },
  // Leader election.
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
  // Nginx provider: the canary Ingress is made from the stable one.
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: [...READ, ...WRITE] },
  // Istio provider: route weights on the user's VirtualService, subsets on the DestinationRule (created when missing).
  { apiGroups: ['networking.istio.io'], resources: ['virtualservices', 'destinationrules'], verbs: [...READ, ...WRITE] },
  // Gateway API provider: backendRef weights on the user's HTTPRoute.
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: [...READ, 'update', 'patch'] },
];

/**
 * The RBAC documents: the controller's Namespace (so the ServiceAccount can be applied
 * from this file alone), ServiceAccount, ClusterRole and the ClusterRoleBinding between them.
 */
export function rbacManifests(): object[] {
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
      subjects: [{ kind: 'ServiceAccount', name: CONTROLLER_SERVICE_ACCOUNT, namespace: CONTROLLER_NAMESPACE }],
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
        selector: { matchLabels: { 'app.kubernetes.io/name': 'codedance', 'app.kubernetes.io/component': 'controller' } },
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
                ],
                ports: [{ name: 'http', containerPort: CONTROLLER_HTTP_PORT, protocol: 'TCP' }],
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, failureThreshold: 2 },
                startupProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 2, failureThreshold: 30 },
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
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
      subjects: [{ kind: 'ServiceAccount', name: CONTROLLER_SERVICE_ACCOUNT, namespace: CONTROLLER_NAMESPACE }],
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
            { apiGroups: [CanaryDeploymentApi.group], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: [CanaryDeploymentApi.plural] },
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
            expression: "variables.pausedBy == variables.oldPausedBy || variables.pausedBy == '' || variables.pausedBy == request.userInfo.username",
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

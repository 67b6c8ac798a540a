/**
 * The CustomResourceDefinitions of the project, built from the TypeBox schemas.
 *
 * Each API is described once here (names, printer columns) and its schema comes from its
 * own module; `gen.ts` writes the result to `deploy/crds/`, and tests and the CLI can
 * install the same objects without reading YAML.
 */
import { CanaryDeploymentSchema, GROUP as CD_GROUP, VERSION as CD_VERSION } from './canary-deployment.ts';
import { WebAppSchema, GROUP as WA_GROUP, VERSION as WA_VERSION } from './webapp.ts';
import { ReleaseGroupSchema } from './release-group.ts';
import { ReleasePlanSchema } from './release-plan.ts';
import { toStructural, type SchemaNode, type StructuralSchema } from './structural.ts';

/** A column of `kubectl get`. `jsonPath` is relative to the object, e.g. `.status.phase`. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 shows it always, 1 only with `-o wide`. @default 0 */
  priority?: number;
}

/** Everything that makes one CRD besides its schema. */
export interface ApiDefinition {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  description: string;
  /** The whole object's schema (apiVersion, kind, metadata, spec, status). */
  schema: SchemaNode;
  printerColumns: PrinterColumn[];
}

/** A CustomResourceDefinition as plain data (apiextensions.k8s.io/v1). */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: StructuralSchema };
    }[];
  };
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** The CanaryDeployment API: `kubectl get cd` shows phase, step, weight and what is happening. */
export const CanaryDeploymentApi: ApiDefinition = {
  group: CD_GROUP,
  version: CD_VERSION,
  kind: 'CanaryDeployment',
  plural: 'canarydeployments',
  singular: 'canarydeployment',
  shortNames: ['cd'],
  categories: ['codedance'],
  description:
    'A progressive release of a new version of a Deployment: a canary takes a growing share of traffic, judged on live metrics at every step, and is promoted, paused or rolled back on its own.',
  schema: CanaryDeploymentSchema,
  printerColumns: [
    {
      name: 'Phase',
      type: 'string',
      jsonPath: '.status.phase',
      description: 'Where the release is: Initializing, Progressing, Paused, Completed or Failed.',
    },
    {
      name: 'Step',
      type: 'string',
      jsonPath: '.status.stepLabel',
      description: 'Current step out of all steps.',
    },
    {
      name: 'Weight',
      type: 'integer',
      jsonPath: '.status.currentWeight',
      description: 'Share of traffic, in percent, the canary gets now.',
    },
    {
      name: 'Version',
      type: 'string',
      jsonPath: '.spec.canaryVersion',
      priority: 1,
      description: 'Image being released.',
    },
    age,
    {
      name: 'Message',
      type: 'string',
      jsonPath: '.status.message',
      description: 'What is happening, in words.',
    },
  ],
};

/** The WebApp API: one small spec that becomes a Deployment, a Service and a ConfigMap. */
export const WebAppApi: ApiDefinition = {
  group: WA_GROUP,
  version: WA_VERSION,
  kind: 'WebApp',
  plural: 'webapps',
  singular: 'webapp',
  shortNames: ['wa'],
  categories: ['codedance'],
  description:
    'A web application: an image, a replica count, a port and an environment, run as a Deployment behind a Service.',
  schema: WebAppSchema,
  printerColumns: [
    {
      name: 'Phase',
      type: 'string',
      jsonPath: '.status.phase',
      description: 'Pending, Creating, Running, Failed or Deleting.',
    },
    { name: 'Image', type: 'string', jsonPath: '.spec.image', description: 'Image asked for.' },
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Pods asked for.' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Pods ready.' },
    age,
    {
      name: 'Message',
      type: 'string',
      jsonPath: '.status.message',
      description: 'What is happening, in words.',
    },
  ],
};

/** The ReleaseGroup API: `kubectl get rg` shows how far a fleet got. */
export const ReleaseGroupApi: ApiDefinition = {
  group: CD_GROUP,
  version: CD_VERSION,
  kind: 'ReleaseGroup',
  plural: 'releasegroups',
  singular: 'releasegroup',
  shortNames: ['rg'],
  categories: ['codedance'],
  description:
    'Many releases run as one: CanaryDeployments selected by label or made for every matching Deployment, at most maxConcurrent at once, no new start after failureLimit failures; promoted, paused, resumed and aborted together.',
  schema: ReleaseGroupSchema,
  printerColumns: [
    {
      name: 'Phase',
      type: 'string',
      jsonPath: '.status.phase',
      description: 'Progressing, Paused, Completed or Failed.',
    },
    { name: 'Members', type: 'integer', jsonPath: '.status.counts.total', description: 'Members.' },
    {
      name: 'Running',
      type: 'integer',
      jsonPath: '.status.counts.running',
      description: 'Members releasing now.',
    },
    {
      name: 'Completed',
      type: 'integer',
      jsonPath: '.status.counts.completed',
      description: 'Members released.',
    },
    {
      name: 'Failed',
      type: 'integer',
      jsonPath: '.status.counts.failed',
      description: 'Members rolled back or aborted.',
    },
    age,
    {
      name: 'Message',
      type: 'string',
      jsonPath: '.status.message',
      description: 'What is happening, in words.',
    },
  ],
};

/** The ReleasePlan API: `kubectl get rp` shows which wave a release has reached. */
export const ReleasePlanApi: ApiDefinition = {
  group: CD_GROUP,
  version: CD_VERSION,
  kind: 'ReleasePlan',
  plural: 'releaseplans',
  singular: 'releaseplan',
  shortNames: ['rp'],
  categories: ['codedance'],
  description:
    'One release carried through clusters in waves: a CanaryDeployment made in every cluster of a wave (reached through kubeconfig Secrets), the next wave only once all of the previous one Completed, everything stopped on a failure.',
  schema: ReleasePlanSchema,
  printerColumns: [
    {
      name: 'Phase',
      type: 'string',
      jsonPath: '.status.phase',
      description: 'Progressing, Completed or Failed.',
    },
    { name: 'Wave', type: 'string', jsonPath: '.status.currentWave', description: 'Wave releasing now.' },
    {
      name: 'Version',
      type: 'string',
      jsonPath: '.spec.template.spec.canaryVersion',
      priority: 1,
      description: 'Image being released.',
    },
    age,
    {
      name: 'Message',
      type: 'string',
      jsonPath: '.status.message',
      description: 'What is happening, in words.',
    },
  ],
};

/** Every API the project serves, in the order their CRDs are written and installed. */
export const apis: readonly ApiDefinition[] = [
  CanaryDeploymentApi,
  WebAppApi,
  ReleaseGroupApi,
  ReleasePlanApi,
];

/**
 * Builds the CRD of one API: a namespaced kind with one served and stored version, the
 * status subresource (so spec and status are written separately and `generation` only
 * moves on spec changes) and the structural schema converted from TypeBox.
 *
 * @throws StructuralSchemaError when the schema uses something a CRD cannot express.
 */
export function customResourceDefinition(api: ApiDefinition): CustomResourceDefinition {
  const root = toStructural(api.schema);
  // The API server owns metadata's schema: a CRD may only say it is an object.
  root.properties = { ...root.properties, metadata: { type: 'object' } };
  root.required = root.required?.filter((name) => name !== 'metadata');
  if (root.required?.length === 0) delete root.required;
  root.description = api.description;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${api.plural}.${api.group}`, labels: { 'app.kubernetes.io/part-of': 'codedance' } },
    spec: {
      group: api.group,
      names: {
        kind: api.kind,
        listKind: `${api.kind}List`,
        plural: api.plural,
        singular: api.singular,
        shortNames: api.shortNames,
        categories: api.categories,
      },
      scope: 'Namespaced',
      versions: [
        {
          name: api.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: api.printerColumns,
          schema: { openAPIV3Schema: root },
        },
      ],
    },
  };
}

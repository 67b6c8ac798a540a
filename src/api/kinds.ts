/**
 * The product's own kinds, as descriptors for the runtime's client and caches (the
 * built-in kinds are in `src/runtime/kinds.ts`). Light to import: the names and types
 * only, not the TypeBox schemas.
 */
import { resourceKind } from '../runtime/kinds.ts';
import type { CanaryDeployment } from './canary-deployment.ts';
import { GROUP, VERSION, WebAppGroup, WebAppVersion } from './names.ts';
import type { WebApp } from './webapp.ts';
import type { ReleaseGroup } from './release-group.ts';
import type { ReleasePlan } from './release-plan.ts';

/** `deploy.codedance.io/v1alpha1` CanaryDeployment: one release of a Deployment. */
export const CanaryDeploymentKind = resourceKind<CanaryDeployment>(
  GROUP,
  VERSION,
  'CanaryDeployment',
  'canarydeployments',
);

/** `apps.codedance.io/v1alpha1` WebApp: an application whose image changes are released. */
export const WebAppKind = resourceKind<WebApp>(WebAppGroup, WebAppVersion, 'WebApp', 'webapps');

/** `deploy.codedance.io/v1alpha1` ReleaseGroup: many releases run as one under shared rules. */
export const ReleaseGroupKind = resourceKind<ReleaseGroup>(GROUP, VERSION, 'ReleaseGroup', 'releasegroups');

/** `deploy.codedance.io/v1alpha1` ReleasePlan: one release carried through clusters in waves. */
export const ReleasePlanKind = resourceKind<ReleasePlan>(GROUP, VERSION, 'ReleasePlan', 'releaseplans');

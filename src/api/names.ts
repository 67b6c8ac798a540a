/**
 * The API's names and annotations as plain constants, apart from the schemas.
 *
 * The CLI and the dashboard need these (which annotation carries a command, which label
 * marks a canary) but not the TypeBox schemas, whose construction at import cost a
 * tenth of a second of every CLI command's start.
 */

/** The API group of WebApp. */
export const WebAppGroup = 'apps.codedance.io';
/** WebApp's served version. */
export const WebAppVersion = 'v1alpha1';

/** The API group of CanaryDeployment. */
export const GROUP = 'deploy.codedance.io';
/** Its served version. */
export const VERSION = 'v1alpha1';

/** The annotation a one-shot steering command is written to (CLI, dashboard). */
export const CommandAnnotation = `${GROUP}/command`;
/**
 * Who gave a command: the annotation's value ends with `;by=<username>` (the API server's
 * name for the person, as TokenReview or SelfSubjectReview tells it), so the controller
 * can say who in its Events and status history. The API server's audit log stays the
 * authoritative record of who wrote the annotation.
 */
export const CommandAuthorSeparator = ';by=';
/** Who set `spec.paused` (written with it by the CLI and the dashboard). */
export const PausedByAnnotation = `${GROUP}/paused-by`;
/** Commands, written as `<verb>:<unique id>[;by=<username>]` so the same command is acted on once. */
export const Commands = ['promote', 'promote-full', 'abort', 'retry', 'resume'] as const;
export type Command = (typeof Commands)[number];

/** Label put on canary Pods/Deployments so versions can be told apart. */
export const RoleLabel = `${GROUP}/role`;
/** Label naming the release a canary Pod/Deployment belongs to. */
export const OwnerLabel = `${GROUP}/canary`;
/**
 * A Secret a notification's `secretRef` names must carry this label with the value
 * `"true"`: the controller reads Secrets one by one by name (never lists them) and uses
 * only those their owner opted in, so a release cannot send any Secret of its namespace
 * to a receiver of its choosing.
 */
export const NotificationSecretLabel = `${GROUP}/notification`;

/**
 * The ReleaseGroup a CanaryDeployment belongs to (its name): on the members a group makes
 * from its template, and on those `codedance release` makes for a selector.
 */
export const GroupLabel = `${GROUP}/group`;
/**
 * A group member's turn: `waiting` holds the release before it starts (reason
 * `WaitingForGroup`) until its group writes `go`. Absent, the release runs as any other.
 * A member is made with `waiting`, so it cannot start before its group has counted it.
 */
export const GroupTurnAnnotation = `${GROUP}/group-turn`;
export const GroupTurns = ['waiting', 'go'] as const;

/**
 * On a kubeconfig Secret: this Secret names a cluster a ReleasePlan may release to (the
 * value is a free description). The controller reads such Secrets by name only and
 * refuses any Secret without it, so a plan cannot use an arbitrary Secret as credentials.
 */
export const ClusterSecretLabel = `${GROUP}/cluster`;
/** The data key of a cluster Secret that holds its kubeconfig (as Argo CD / Flagger). */
export const ClusterSecretKey = 'kubeconfig';
/**
 * On a CanaryDeployment a ReleasePlan made in a cluster: `<namespace>/<plan name>` (an
 * annotation: the pair may exceed a label value's 63 characters). A release of the same
 * name without it is someone else's, and the plan leaves it alone.
 */
export const ReleasePlanAnnotation = `${GROUP}/release-plan`;

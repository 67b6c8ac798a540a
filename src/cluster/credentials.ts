/**
 * The identities of a local cluster: the service-account signing key and the static
 * bearer tokens of the API server's `--token-auth-file`.
 *
 * Created once per state directory and reused, so restarting a cluster keeps every
 * kubeconfig and every issued service-account token valid.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir } from './paths.ts';

/** A user of the static token file. */
export interface TokenIdentity {
  user: string;
  groups: string[];
  token: string;
}

/** Paths and tokens a cluster is started with. */
export interface ClusterCredentials {
  serviceAccountKeyPath: string;
  serviceAccountPublicKeyPath: string;
  tokenFilePath: string;
  /** `admin`, in `system:masters`: everything, and what the control plane itself uses. */
  admin: TokenIdentity;
  /** `codedance-controller`, no groups: may do only what RBAC grants it (deploy/rbac.yaml). */
  controller: TokenIdentity;
  /** People with no rights of their own ({@link localUsers}): tests grant them Roles to act as someone. */
  users: TokenIdentity[];
}

/**
 * Ordinary users of every local cluster, with no groups and no bindings: a test gives one
 * a Role in its namespace and acts as that person (the dashboard's and the CLI's RBAC
 * tests). The static token file is read once at API server start, so the set is fixed.
 */
export const localUsers = ['alice', 'bob', 'carol', 'dave'] as const;
export type LocalUser = (typeof localUsers)[number];

/** The user name the controller authenticates as; tests bind the shipped ClusterRole to it. */
export const controllerUser = 'codedance-controller';

const newToken = (): string => randomBytes(24).toString('base64url');

/** Loads the credentials under `<stateDir>/pki`, creating what is missing. */
export async function ensureCredentials(stateDir: string): Promise<ClusterCredentials> {
  const pki = join(stateDir, 'pki');
  await ensurePrivateDir(pki);
  const serviceAccountKeyPath = join(pki, 'service-account.key');
  const serviceAccountPublicKeyPath = join(pki, 'service-account.pub');
  if (!existsSync(serviceAccountKeyPath) || !existsSync(serviceAccountPublicKeyPath)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    await writeFile(serviceAccountKeyPath, privateKey, { mode: 0o600 });
    await writeFile(serviceAccountPublicKeyPath, publicKey);
  }

  const tokensJson = join(pki, 'tokens.json');
  let tokens: { admin: string; controller: string; users?: Record<string, string> };
  try {
    tokens = JSON.parse(await readFile(tokensJson, 'utf8')) as typeof tokens;
  } catch {
    tokens = { admin: newToken(), controller: newToken() };
  }
  // A state folder from before the users existed gets them now (known to the API server from its next start).
  if (localUsers.some((user) => !tokens.users?.[user])) {
    tokens.users = Object.fromEntries(localUsers.map((user) => [user, tokens.users?.[user] ?? newToken()]));
    await writeFile(tokensJson, JSON.stringify(tokens), { mode: 0o600 });
  }
  const admin: TokenIdentity = { user: 'admin', groups: ['system:masters'], token: tokens.admin };
  const controller: TokenIdentity = { user: controllerUser, groups: [], token: tokens.controller };
  const users = localUsers.map((user): TokenIdentity => ({ user, groups: [], token: tokens.users![user]! }));

  // Format: token,user,uid[,"group1,group2"]
  const line = (id: TokenIdentity): string =>
    [id.token, id.user, id.user, ...(id.groups.length ? [`"${id.groups.join(',')}"`] : [])].join(',');
  const tokenFilePath = join(pki, 'tokens.csv');
  await writeFile(tokenFilePath, [admin, controller, ...users].map((id) => `${line(id)}\n`).join(''), {
    mode: 0o600,
  });
  return { serviceAccountKeyPath, serviceAccountPublicKeyPath, tokenFilePath, admin, controller, users };
}

/** The bearer token of local user `user` of the cluster in `stateDir`, without writing anything; undefined when it has none. */
export async function localUserToken(stateDir: string, user: LocalUser): Promise<string | undefined> {
  try {
    const tokens = JSON.parse(await readFile(join(stateDir, 'pki', 'tokens.json'), 'utf8')) as {
      users?: Record<string, string>;
    };
    return tokens.users?.[user];
  } catch {
    return undefined;
  }
}

// GitHub Apps in the stand-in (PROTOCOL.md §1, "GitHub Apps"): an App is an
// RS256 key pair made here with node:crypto (the private key is handed to the
// test, the public key stays), installations on orgs with their permissions,
// the App's JWT checked the way GitHub checks it (signature, iss, iat, exp),
// and installation access tokens that expire.

import { createPublicKey, generateKeyPairSync, randomBytes, randomInt, verify, type KeyObject } from 'node:crypto';
import type { ScopeRef } from './state.ts';

/** GitHub: installation access tokens live one hour. */
export const INSTALLATION_TOKEN_TTL_MS = 60 * 60 * 1000;
/** GitHub refuses a JWT whose exp is more than 10 minutes ahead. */
export const MAX_JWT_LIFETIME_S = 600;
/** Clock drift GitHub tolerates on iat (its docs: set iat 60 s in the past). */
export const IAT_LEEWAY_S = 60;

export type PermissionLevel = 'read' | 'write';

export interface AppCreated {
  app_id: number;
  slug: string;
  client_id: string;
  /** PEM, PKCS#1 ("BEGIN RSA PRIVATE KEY"), as GitHub's "Generate a private key" downloads it. */
  private_key: string;
}

export interface InstallationInput {
  app_id: number;
  /** The org the App is installed on. */
  org: string;
  /** Repository names it was installed on; omitted: all repositories of the org. */
  repositories?: string[];
  /** e.g. {"organization_self_hosted_runners": "write"}; metadata: read is always granted. */
  permissions?: Record<string, PermissionLevel>;
  /** Lifetime of its access tokens (default one hour, as GitHub). */
  token_ttl_s?: number;
}

export interface InstallationRecord {
  id: number;
  appId: number;
  org: string;
  repositories: string[] | 'all';
  permissions: Record<string, PermissionLevel>;
  tokenTtlMs: number;
  createdAt: string;
}

export interface InstallationTokenRecord {
  token: string;
  installationId: number;
  expiresAt: number;
}

interface AppRecord {
  id: number;
  slug: string;
  clientId: string;
  publicKey: KeyObject;
}

export type JwtCheck = { ok: true; appId: number } | { ok: false; message: string };

/** GitHub's messages for a JWT it refuses (auth-app recognises the clock ones). */
export const JWT_MESSAGES = {
  undecodable: 'A JSON web token could not be decoded',
  expired: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
  tooLong: "'Expiration time' claim ('exp') is too far in the future",
  issuedLater: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
  unknownApp: 'Integration not found',
} as const;

function base64url(text: string): Buffer {
  return Buffer.from(text, 'base64url');
}

/** What the runner operations need of a token: the permission name and level per scope and operation. */
export function requiredPermission(scope: ScopeRef, write: boolean): [string, PermissionLevel] {
  return [scope.repo === undefined ? 'organization_self_hosted_runners' : 'administration', write ? 'write' : 'read'];
}

export class Apps {
  private readonly apps = new Map<number, AppRecord>();
  private readonly installations = new Map<number, InstallationRecord>();
  private readonly tokens = new Map<string, InstallationTokenRecord>();
  private nextAppId = 100_001;
  private nextInstallationId = 40_000_001;

  createApp(name = `fleet-app-${this.nextAppId}`): AppCreated {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    const id = this.nextAppId++;
    const app: AppRecord = {
      id,
      slug: name.toLowerCase().replace(/[^a-z0-9-]/g, '-'),
      clientId: `Iv23li${randomBytes(7).toString('hex')}`,
      publicKey: createPublicKey(publicKey),
    };
    this.apps.set(id, app);
    return { app_id: id, slug: app.slug, client_id: app.clientId, private_key: privateKey };
  }

  hasApp(id: number): boolean {
    return this.apps.has(id);
  }

  install(input: InstallationInput): InstallationRecord {
    const rec: InstallationRecord = {
      id: this.nextInstallationId++,
      appId: input.app_id,
      org: input.org,
      repositories: input.repositories === undefined ? 'all' : input.repositories.map((r) => r.toLowerCase()),
      permissions: { metadata: 'read', ...input.permissions },
      tokenTtlMs: (input.token_ttl_s ?? INSTALLATION_TOKEN_TTL_MS / 1000) * 1000,
      createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    this.installations.set(rec.id, rec);
    return rec;
  }

  /** Changes what an installation may do (the org owner approving new permissions); live tokens follow. */
  setPermissions(installationId: number, permissions: Record<string, PermissionLevel>): InstallationRecord | undefined {
    const rec = this.installations.get(installationId);
    if (rec) rec.permissions = { metadata: 'read', ...permissions };
    return rec;
  }

  installation(id: number): InstallationRecord | undefined {
    return this.installations.get(id);
  }

  /** The App's installation on `org` (and covering `repo`, when given). */
  findInstallation(appId: number, scope: ScopeRef): InstallationRecord | undefined {
    return [...this.installations.values()].find(
      (i) =>
        i.appId === appId &&
        scope.enterprise === undefined &&
        i.org.toLowerCase() === scope.org.toLowerCase() &&
        (scope.repo === undefined || i.repositories === 'all' || i.repositories.includes(scope.repo.toLowerCase())),
    );
  }

  /** Checks an App JWT as GitHub does: RS256 signature by a known App's key, iss, iat and exp. */
  verifyJwt(jwt: string, nowS = Math.floor(Date.now() / 1000)): JwtCheck {
    const parts = jwt.split('.');
    if (parts.length !== 3) return { ok: false, message: JWT_MESSAGES.undecodable };
    const [head = '', body = '', signature = ''] = parts;
    let header: { alg?: unknown };
    let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
    try {
      header = JSON.parse(base64url(head).toString('utf8')) as typeof header;
      claims = JSON.parse(base64url(body).toString('utf8')) as typeof claims;
    } catch {
      return { ok: false, message: JWT_MESSAGES.undecodable };
    }
    if (header.alg !== 'RS256') return { ok: false, message: JWT_MESSAGES.undecodable };
    const app = [...this.apps.values()].find((a) => String(a.id) === String(claims.iss) || a.clientId === claims.iss);
    if (!app) return { ok: false, message: JWT_MESSAGES.unknownApp };
    if (!verify('sha256', Buffer.from(`${head}.${body}`), app.publicKey, base64url(signature))) return { ok: false, message: JWT_MESSAGES.undecodable };
    if (!Number.isInteger(claims.iat) || (claims.iat as number) > nowS + IAT_LEEWAY_S) return { ok: false, message: JWT_MESSAGES.issuedLater };
    if (typeof claims.exp !== 'number' || claims.exp <= nowS) return { ok: false, message: JWT_MESSAGES.expired };
    if (claims.exp - nowS > MAX_JWT_LIFETIME_S + IAT_LEEWAY_S || claims.exp - (claims.iat as number) > MAX_JWT_LIFETIME_S)
      return { ok: false, message: JWT_MESSAGES.tooLong };
    return { ok: true, appId: app.id };
  }

  /**
   * An installation access token. Like GitHub's it is opaque; its length and
   * prefix vary here on purpose (GHES and future formats differ), so a
   * toolkit that redacts by pattern instead of by value is caught.
   */
  issueToken(installation: InstallationRecord): InstallationTokenRecord {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let token = ['ghs_', 'v1.', ''][randomInt(3)]!;
    for (let i = 0, n = 30 + randomInt(20); i < n; i++) token += alphabet[randomInt(alphabet.length)];
    const rec: InstallationTokenRecord = { token, installationId: installation.id, expiresAt: Date.now() + installation.tokenTtlMs };
    this.tokens.set(token, rec);
    return rec;
  }

  /** The installation of a live token; `expired` for one past its expiry. */
  tokenInstallation(token: string): InstallationRecord | 'expired' | undefined {
    const rec = this.tokens.get(token);
    if (!rec) return undefined;
    if (rec.expiresAt <= Date.now()) return 'expired';
    return this.installations.get(rec.installationId);
  }

  expireToken(token: string): boolean {
    const rec = this.tokens.get(token);
    if (rec) rec.expiresAt = Date.now() - 1;
    return rec !== undefined;
  }

  /** Every installation token issued so far (tests look for leaks of them). */
  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  /** Whether the installation covers the scope (the org, or one of its selected repositories; never an enterprise). */
  covers(installation: InstallationRecord, scope: ScopeRef): boolean {
    if (scope.enterprise !== undefined || installation.org.toLowerCase() !== scope.org.toLowerCase()) return false;
    return scope.repo === undefined || installation.repositories === 'all' || installation.repositories.includes(scope.repo.toLowerCase());
  }

  /** The permission missing for an operation, as GitHub's X-Accepted-GitHub-Permissions names it; undefined when granted. */
  missingPermission(installation: InstallationRecord, scope: ScopeRef, write: boolean): string | undefined {
    const [name, level] = requiredPermission(scope, write);
    const granted = installation.permissions[name];
    const enough = granted === 'write' || (granted === 'read' && level === 'read');
    return enough ? undefined : `${name}=${level}`;
  }

  /** The `installation` object GitHub answers (schema `installation`). */
  view(rec: InstallationRecord, apiUrl: string, orgId: number): Record<string, unknown> {
    const app = this.apps.get(rec.appId)!;
    const account = {
      login: rec.org,
      id: orgId,
      node_id: Buffer.from(`Organization${orgId}`).toString('base64'),
      avatar_url: `https://avatars.githubusercontent.com/u/${orgId}?v=4`,
      gravatar_id: '',
      url: `${apiUrl}/users/${rec.org}`,
      html_url: `https://github.com/${rec.org}`,
      followers_url: `${apiUrl}/users/${rec.org}/followers`,
      following_url: `${apiUrl}/users/${rec.org}/following{/other_user}`,
      gists_url: `${apiUrl}/users/${rec.org}/gists{/gist_id}`,
      starred_url: `${apiUrl}/users/${rec.org}/starred{/owner}{/repo}`,
      subscriptions_url: `${apiUrl}/users/${rec.org}/subscriptions`,
      organizations_url: `${apiUrl}/users/${rec.org}/orgs`,
      repos_url: `${apiUrl}/users/${rec.org}/repos`,
      events_url: `${apiUrl}/users/${rec.org}/events{/privacy}`,
      received_events_url: `${apiUrl}/users/${rec.org}/received_events`,
      type: 'Organization',
      site_admin: false,
    };
    return {
      id: rec.id,
      account,
      repository_selection: rec.repositories === 'all' ? 'all' : 'selected',
      access_tokens_url: `${apiUrl}/app/installations/${rec.id}/access_tokens`,
      repositories_url: `${apiUrl}/installation/repositories`,
      html_url: `https://github.com/organizations/${rec.org}/settings/installations/${rec.id}`,
      app_id: app.id,
      client_id: app.clientId,
      target_id: orgId,
      target_type: 'Organization',
      permissions: { ...rec.permissions },
      events: [],
      created_at: rec.createdAt,
      updated_at: rec.createdAt,
      single_file_name: null,
      app_slug: app.slug,
      suspended_by: null,
      suspended_at: null,
    };
  }
}

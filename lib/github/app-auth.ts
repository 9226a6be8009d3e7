// GitHub App authentication: the App's JWT and its installation access tokens
// come from @octokit/auth-app; this module adds what the toolkit needs around
// it: the installation found from the org or repo when GH_APP_INSTALLATION_ID
// is not set, one installation token per command kept in memory only (never
// written to a file, so no cache file to protect) and renewed 5 minutes
// before GitHub's expires_at or at once after a 401, every token and JWT
// registered for redaction, and one-line errors naming the settings.
import { createAppAuth } from '@octokit/auth-app';
import type { AppCredential, OrgScope } from '../config/config.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { scopeDescription } from './errors.ts';

/** An installation token this close to its expiry is not used any more (as the registration-token cache). */
export const INSTALLATION_TOKEN_MARGIN_MS = 5 * 60 * 1000;

/** The request function auth-app sends its calls with (an Octokit's `request`, without the installation hook). */
type Request = Parameters<typeof createAppAuth>[0]['request'];

interface HeldToken {
  token: string;
  expiresAt: number;
}

export interface InstallationTokensOptions {
  app: Pick<AppCredential, 'appId' | 'privateKey' | 'installationId'>;
  /** An org or repo: GitHub Apps cannot manage an enterprise's runners. */
  scope: OrgScope;
  apiUrl: string;
  request: NonNullable<Request>;
  /** Every token and JWT obtained is added here, so errors never show it. */
  secrets: Set<string>;
  now?: () => number;
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && (err as { response?: unknown }).response !== undefined ? status : undefined;
}

function detailOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** Installation access tokens of one App installation, for one command. */
export class InstallationTokens {
  private readonly auth: ReturnType<typeof createAppAuth>;
  private installationId: number | undefined;
  private held: HeldToken | undefined;
  private pending: Promise<HeldToken> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: InstallationTokensOptions) {
    const silent = () => {};
    this.auth = createAppAuth({
      appId: options.app.appId,
      privateKey: options.app.privateKey,
      request: options.request,
      log: { debug: silent, info: silent, warn: silent, error: silent },
    });
    this.installationId = options.app.installationId;
    this.now = options.now ?? Date.now;
  }

  /** A token valid for more than the margin: the one held, or a new one. */
  async token(): Promise<string> {
    const held = this.held;
    if (held && held.expiresAt - this.now() > INSTALLATION_TOKEN_MARGIN_MS) return held.token;
    this.pending ??= this.renew().finally(() => (this.pending = undefined));
    return (await this.pending).token;
  }

  /** GitHub refused `token` (401): the next call gets a new one. */
  invalidate(token: string): void {
    if (this.held?.token === token) this.held = undefined;
  }

  private get what(): string {
    return `GitHub App GH_APP_ID=${this.options.app.appId}`;
  }

  private async renew(): Promise<HeldToken> {
    const installationId = await this.findInstallation();
    let result: { token: string; expiresAt: string };
    try {
      result = await this.auth({ type: 'installation', installationId, refresh: true });
    } catch (err) {
      throw this.failure(
        err,
        'an installation token',
        () =>
          new CliError(
            `installation ${installationId} of ${this.what} was not found at ${this.options.apiUrl}: ${this.options.app.installationId === undefined ? 'it was just looked up, so it went away meanwhile; run the command again' : 'fix GH_APP_INSTALLATION_ID or leave it empty to look it up'}`,
            ExitCode.githubNotFound,
          ),
      );
    }
    this.options.secrets.add(result.token);
    const expiresAt = Date.parse(result.expiresAt);
    this.held = { token: result.token, expiresAt: Number.isFinite(expiresAt) ? expiresAt : this.now() + 60 * 60 * 1000 };
    return this.held;
  }

  /** GH_APP_INSTALLATION_ID, or the App's installation on the org (repo scope: on the repository), asked once. */
  private async findInstallation(): Promise<number> {
    if (this.installationId !== undefined) return this.installationId;
    const { scope, request } = this.options;
    let jwt: string;
    try {
      jwt = (await this.auth({ type: 'app' })).token;
    } catch (err) {
      throw new CliError(
        `cannot sign the GitHub App's JWT with GH_APP_PRIVATE_KEY_FILE (${detailOf(err).replace(/\[[^\]]*\]\s*/g, '')}): download a new private key from the App's settings`,
        ExitCode.config,
      );
    }
    this.options.secrets.add(jwt);
    const headers = { authorization: `bearer ${jwt}` };
    try {
      const { data } =
        scope.repo !== undefined
          ? await request('GET /repos/{owner}/{repo}/installation', { owner: scope.org, repo: scope.repo, headers })
          : await request('GET /orgs/{org}/installation', { org: scope.org, headers });
      this.installationId = (data as { id: number }).id;
      return this.installationId;
    } catch (err) {
      throw this.failure(
        err,
        'its installation',
        () =>
          new CliError(
            `${this.what} is not installed on ${scopeDescription(scope)} at ${this.options.apiUrl} (or ${scope.repo !== undefined ? 'the repository' : 'the org'} does not exist): install the App there (the App's page → Install App${scope.repo !== undefined ? ', with access to that repository' : ''}), or set GH_APP_INSTALLATION_ID`,
            ExitCode.githubNotFound,
          ),
      );
    }
  }

  /** 401/404 of the App's own calls as one line; anything else goes to the caller's error handling. */
  private failure(err: unknown, what: string, notFound: () => CliError): unknown {
    const status = statusOf(err);
    if (status === 404) return notFound();
    if (status === 401) {
      return new CliError(
        `GitHub refused the JWT of ${this.what} when asking for ${what} (401 at ${this.options.apiUrl}: ${detailOf(err)}): check that GH_APP_ID is the App's ID and GH_APP_PRIVATE_KEY_FILE one of its current private keys, and that this host's clock is right`,
        ExitCode.githubAuth,
      );
    }
    return err;
  }
}

// The stand-in's world: orgs/repos and enterprises, PATs, runners, labels, tokens and jobs,
// plus the rules that tie them together (who is online or busy, which job goes
// to which runner). No HTTP here: the REST, runner-protocol and control
// modules all act on one State.

import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';

/**
 * Where runners are registered: an org or one of its repositories, or an
 * enterprise. `org` is undefined in an enterprise's, so it cannot be read
 * as an org's name without a check first.
 */
export type ScopeRef = OrgRef | EnterpriseRef;

export interface OrgRef {
  org: string;
  repo?: string;
  enterprise?: undefined;
}

export interface EnterpriseRef {
  enterprise: string;
  org?: undefined;
  repo?: undefined;
}

/** How scope keys and PATs' admin lists name an enterprise: `enterprise:<slug>` (':' is in no org name). */
export const ENTERPRISE_KEY_PREFIX = 'enterprise:';

/** Labels every runner gets unless registered with `no_default_labels`. */
export const DEFAULT_LABELS = ['self-hosted', 'Linux', 'X64'] as const;
const READ_ONLY = new Set(DEFAULT_LABELS.map((l) => l.toLowerCase()));
/**
 * The labels GitHub applies by itself (self-hosted, operating systems,
 * architectures): a just-in-time runner given one of these by name shows it
 * as read-only, as the example answer of generate-jitconfig in the OpenAPI
 * description does (self-hosted, X64 and macOS read-only, no-gpu custom).
 */
const SYSTEM_LABELS = new Set(['self-hosted', 'linux', 'windows', 'macos', 'x64', 'x86', 'arm', 'arm64']);

export const TOKEN_TTL_MS = 60 * 60 * 1000; // GitHub: registration/remove tokens live one hour
export const DEFAULT_GROUP_ID = 1; // the "Default" runner group
export const DEFAULT_GROUP_NAME = 'Default';

/**
 * A self-hosted runner group of an org or an enterprise (GitHub's
 * `runner-groups-org`, `runner-groups-enterprise`); repositories have only "Default".
 */
export interface RunnerGroup {
  id: number;
  /** Its owner's scope key: the org (lower case) or `enterprise:<slug>`. */
  owner: string;
  name: string;
  visibility: 'all' | 'selected' | 'private';
  /** With visibility `selected`: the repositories (an org's group) or organizations (an enterprise's), lower case, that may use it. */
  repositories: string[];
  allowsPublicRepositories: boolean;
  default: boolean;
}

export interface Label {
  id: number;
  name: string;
  type: 'read-only' | 'custom';
}

/** A runner as the REST API shows it (GitHub's `runner` schema). */
export interface RunnerView {
  id: number;
  name: string;
  os: string;
  status: 'online' | 'offline';
  busy: boolean;
  ephemeral: boolean;
  runner_group_id: number;
  labels: Label[];
}

export interface RunnerRecord {
  id: number;
  name: string;
  scope: string; // scope key: "org", "org/repo" or "enterprise:slug"
  os: string;
  ephemeral: boolean;
  /** Its runner group (DEFAULT_GROUP_ID unless registered into another). */
  groupId: number;
  labels: Label[];
  /** Seeded runners have no simulator behind them: status and busy are whatever the control API last set. */
  seeded?: { status: 'online' | 'offline'; busy: boolean };
  runnerToken?: string;
  sessionId?: string;
  /** Messages other than jobs waiting for the runner's next poll (cancel, update). */
  messages: RunnerMessage[];
  /** Version and disable-update flag the runner gave when it opened its session. */
  version?: string;
  disableUpdate?: boolean;
  lastSeen: number;
  activePolls: number;
  jobId?: number;
}

export type TokenKind = 'registration' | 'remove';

/** Messages a runner's poll can return besides a job (PROTOCOL.md §2). */
export type RunnerMessage = { type: 'cancel'; job_id: number; timeout_minutes: number } | { type: 'update'; target_version: string };

/** What a long poll resolves with. */
export type Delivery = { job: JobRecord } | { message: RunnerMessage };

/** The default cancel timeout a cancel message carries (server-side value; see PROTOCOL.md). */
export const DEFAULT_CANCEL_TIMEOUT_MINUTES = 5;

export interface TokenRecord {
  token: string;
  kind: TokenKind;
  scope: string;
  expiresAt: number;
}

/** What a `runner-registration` call grants: register agents or remove them, in one scope. */
export interface Grant {
  token: string;
  event: 'register' | 'remove';
  scope: string;
  expiresAt: number;
}

export interface Step {
  name: string;
  run: string;
}

export type JobStatus = 'queued' | 'in_progress' | 'completed';

export interface JobRecord {
  id: number;
  runId: number;
  runAttempt: number;
  org: string;
  repo: string | undefined;
  repository: string;
  runsOn: string[];
  job: string;
  workflow: string;
  steps: Step[];
  env: Record<string, string>;
  status: JobStatus;
  conclusion: string | null;
  runnerId: number | undefined;
  runnerName: string | null;
  cancelRequested: boolean;
  /** Carried by the cancel message: the job's cancel-timeout-minutes. */
  cancelTimeoutMinutes: number;
  events: Record<string, unknown>[];
}

/** An event's output ('' when it has none): hook and step events carry it as a string. */
export function eventOutput(event: Record<string, unknown> | undefined): string {
  return typeof event?.output === 'string' ? event.output : '';
}

/** The job as GET /_standin/jobs/{id} shows it. */
export interface JobView {
  job_id: number;
  run_id: number;
  run_attempt: number;
  status: JobStatus;
  conclusion: string | null;
  runner_name: string | null;
  cancel_requested: boolean;
  events: Record<string, unknown>[];
}

/** The job message a runner receives from GET /_runner/jobs/next. */
export interface JobMessage {
  job_id: number;
  run_id: number;
  run_attempt: number;
  job: string;
  repository: string;
  workflow: string;
  steps: Step[];
  env: Record<string, string>;
}

interface Poller {
  runner: RunnerRecord;
  deliver: (delivery: Delivery | undefined) => void;
}

/** Dotted versions, numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function scopeKey(ref: ScopeRef): string {
  if (ref.enterprise !== undefined) return `${ENTERPRISE_KEY_PREFIX}${ref.enterprise}`.toLowerCase();
  return (ref.repo === undefined ? ref.org : `${ref.org}/${ref.repo}`).toLowerCase();
}

/** `acme`, `acme/widgets` or `enterprise:octo` (a scope key's form) → its ScopeRef. */
export function parseScope(input: string | ScopeRef): ScopeRef {
  if (typeof input !== 'string') return input;
  if (input.toLowerCase().startsWith(ENTERPRISE_KEY_PREFIX)) return { enterprise: input.slice(ENTERPRISE_KEY_PREFIX.length) };
  const [org = '', repo] = input.split('/');
  return repo === undefined ? { org } : { org, repo };
}

/** The scope whose runner groups a scope's runners use: an org's own (a repository's org), or the enterprise. */
export function groupOwner(ref: ScopeRef): string {
  return ref.enterprise !== undefined ? scopeKey(ref) : ref.org.toLowerCase();
}

/** GitHub-like registration token: 29 upper-case base32 characters. */
function githubStyleToken(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  for (let i = 0; i < 29; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function opaqueToken(prefix: string): string {
  return `${prefix}_${randomBytes(18).toString('hex')}`;
}

export class State {
  /** Every encoded JIT config handed out, by runner name: tests look for them where they must not be. */
  private readonly jitIssued = new Map<string, string[]>();

  recordJitConfig(name: string, encoded: string): void {
    this.jitIssued.set(name, [...(this.jitIssued.get(name) ?? []), encoded]);
  }

  jitConfigsIssued(name: string): string[] {
    return [...(this.jitIssued.get(name) ?? [])];
  }

  /** Emits 'job' (JobRecord) whenever a job changes; waitForJob listens. */
  readonly events = new EventEmitter();
  private readonly scopes = new Map<string, ScopeRef>();
  /** Each enterprise's member orgs (keys): their jobs may run on the enterprise's runners. */
  private readonly enterpriseOrgs = new Map<string, Set<string>>();
  private readonly pats = new Map<string, Set<string>>();
  private readonly runnersById = new Map<number, RunnerRecord>();
  private readonly runnersByToken = new Map<string, RunnerRecord>();
  private readonly labelIds = new Map<string, number>();
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly grants = new Map<string, Grant>();
  /** Runner tokens of deleted runners (token → runner name): the server still knows who asks. */
  private readonly retired = new Map<string, string>();
  private readonly groups = new Map<number, RunnerGroup>();
  private nextGroupId = DEFAULT_GROUP_ID + 1;
  private readonly jobs = new Map<number, JobRecord>();
  private readonly queue: JobRecord[] = [];
  private pollers: Poller[] = [];
  private nextRunnerId = 1;
  private nextLabelId = 1;
  private nextJobId = 1;
  private nextRunId = 10_000_001;
  /** Runner versions: below `minimum` a runner is outdated; `latest` is what updates go to. */
  runnerVersions: { minimum: string | undefined; latest: string | undefined } = { minimum: undefined, latest: undefined };

  constructor(
    readonly offlineAfterMs: number,
    /** A session its runner never deleted blocks a new one until the runner has been silent this long. */
    readonly sessionExpiryMs = 120_000,
  ) {
    this.events.setMaxListeners(0);
  }

  // --- scopes and PATs ---------------------------------------------------

  /** An org (with the repository, if named), or an enterprise with its member orgs (added as orgs too). */
  addScope(ref: ScopeRef, memberOrgs: string[] = []): void {
    if (ref.enterprise !== undefined) {
      this.scopes.set(scopeKey(ref), { enterprise: ref.enterprise });
      const members = this.enterpriseOrgs.get(scopeKey(ref)) ?? new Set<string>();
      for (const org of memberOrgs) {
        this.addScope({ org });
        members.add(org.toLowerCase());
      }
      this.enterpriseOrgs.set(scopeKey(ref), members);
      return;
    }
    this.scopes.set(ref.org.toLowerCase(), { org: ref.org });
    if (ref.repo !== undefined) this.scopes.set(scopeKey(ref), ref);
  }

  hasScope(ref: ScopeRef): boolean {
    return this.scopes.has(scopeKey(ref));
  }

  private readonly orgIds = new Map<string, number>();

  /** A stable numeric id per org (the account id GitHub shows in installations). */
  orgId(org: string): number {
    const key = org.toLowerCase();
    let id = this.orgIds.get(key);
    if (id === undefined) {
      id = 9_000_001 + this.orgIds.size;
      this.orgIds.set(key, id);
    }
    return id;
  }

  addPat(token: string, admin: string[]): void {
    this.pats.set(token, new Set(admin.map((a) => a.toLowerCase())));
  }

  isKnownPat(token: string): boolean {
    return this.pats.has(token);
  }

  /**
   * An org admin administers the org's repositories too (as an org owner does
   * on GitHub); an enterprise is administered only by PATs naming it
   * (`enterprise:<slug>`: an enterprise owner's manage_runners:enterprise),
   * which administer none of its orgs by that.
   */
  patAdministers(token: string, ref: ScopeRef): boolean {
    const admin = this.pats.get(token);
    if (!admin) return false;
    if (ref.enterprise !== undefined) return admin.has(scopeKey(ref));
    return admin.has(scopeKey(ref)) || admin.has(ref.org.toLowerCase());
  }

  // --- runners -----------------------------------------------------------

  private label(name: string, readOnly: boolean): Label {
    const key = name.toLowerCase();
    let id = this.labelIds.get(key);
    if (id === undefined) {
      id = this.nextLabelId++;
      this.labelIds.set(key, id);
    }
    return { id, name, type: readOnly ? 'read-only' : 'custom' };
  }

  /** Case-insensitively unique, first spelling wins; `readOnly` decides each label's type. */
  private labelList(names: string[], readOnly: (key: string) => boolean): Label[] {
    const seen = new Set<string>();
    const out: Label[] = [];
    for (const name of names) {
      const key = name.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(this.label(name, readOnly(key)));
    }
    return out;
  }

  private buildLabels(names: string[], defaults: boolean): Label[] {
    return defaults ? this.labelList([...DEFAULT_LABELS, ...names], (key) => READ_ONLY.has(key)) : this.labelList(names, () => false);
  }

  // --- runner groups -------------------------------------------------------

  /** An org's or enterprise's groups (`owner`: groupOwner's key): "Default" (id 1) first, then the ones added, by id. */
  runnerGroups(owner: string): RunnerGroup[] {
    const key = owner.toLowerCase();
    const fallback: RunnerGroup = {
      id: DEFAULT_GROUP_ID,
      owner: key,
      name: DEFAULT_GROUP_NAME,
      visibility: 'all',
      repositories: [],
      allowsPublicRepositories: false,
      default: true,
    };
    return [fallback, ...[...this.groups.values()].filter((g) => g.owner === key).sort((a, b) => a.id - b.id)];
  }

  /** A group of the scope by id: an org's or enterprise's; a repository has only "Default". */
  runnerGroup(ref: ScopeRef, id: number): RunnerGroup | undefined {
    const groups = this.runnerGroups(groupOwner(ref));
    return ref.repo === undefined ? groups.find((g) => g.id === id) : id === DEFAULT_GROUP_ID ? groups[0] : undefined;
  }

  /** Case-insensitive lookup by name, as config.sh --runnergroup does it (a repository has only "Default"). */
  runnerGroupNamed(ref: ScopeRef, name: string): RunnerGroup | undefined {
    const groups = ref.repo === undefined ? this.runnerGroups(groupOwner(ref)) : this.runnerGroups(groupOwner(ref)).slice(0, 1);
    return groups.find((g) => g.name.toLowerCase() === name.toLowerCase());
  }

  /** Adds a runner group to an org or enterprise (ids are global, from 2); 'conflict' when it has one of that name. */
  addRunnerGroup(
    owner: OrgRef | EnterpriseRef,
    opts: { name: string; visibility?: RunnerGroup['visibility']; repositories?: string[]; allowsPublicRepositories?: boolean },
  ): RunnerGroup | 'conflict' {
    const ref: ScopeRef = owner.enterprise !== undefined ? { enterprise: owner.enterprise } : { org: owner.org };
    if (this.runnerGroupNamed(ref, opts.name)) return 'conflict';
    const group: RunnerGroup = {
      id: this.nextGroupId++,
      owner: groupOwner(ref),
      name: opts.name,
      visibility: opts.visibility ?? 'all',
      repositories: (opts.repositories ?? []).map((r) => r.toLowerCase()),
      allowsPublicRepositories: opts.allowsPublicRepositories ?? false,
      default: false,
    };
    this.groups.set(group.id, group);
    return group;
  }

  seedRunner(ref: ScopeRef, name: string, labels: string[], status: 'online' | 'offline', busy: boolean): RunnerRecord {
    const runner: RunnerRecord = {
      id: this.nextRunnerId++,
      name,
      scope: scopeKey(ref),
      os: 'Linux',
      ephemeral: false,
      groupId: DEFAULT_GROUP_ID,
      labels: labels.map((l) => this.label(l, READ_ONLY.has(l.toLowerCase()))),
      seeded: { status, busy },
      messages: [],
      lastSeen: Date.now(),
      activePolls: 0,
    };
    this.runnersById.set(runner.id, runner);
    return runner;
  }

  findRunnerByName(scope: string, name: string): RunnerRecord | undefined {
    for (const r of this.runnersById.values()) {
      if (r.scope === scope && r.name.toLowerCase() === name.toLowerCase()) return r;
    }
    return undefined;
  }

  /** Registers a simulator-backed runner; 'conflict' when the name is taken and replace is false. */
  registerRunner(opts: {
    scope: string;
    name: string;
    labels: string[];
    os: string;
    ephemeral: boolean;
    noDefaultLabels: boolean;
    replace: boolean;
    groupId?: number;
  }): RunnerRecord | 'conflict' {
    const existing = this.findRunnerByName(opts.scope, opts.name);
    if (existing) {
      if (!opts.replace) return 'conflict';
      this.deleteRunner(existing.id);
    }
    return this.addRunner({
      name: opts.name,
      scope: opts.scope,
      os: opts.os,
      ephemeral: opts.ephemeral,
      groupId: opts.groupId ?? DEFAULT_GROUP_ID,
      labels: this.buildLabels(opts.labels, !opts.noDefaultLabels),
    });
  }

  /**
   * A just-in-time runner (generate-jitconfig): ephemeral, exactly the labels
   * given (none added; GitHub's own label names among them read-only), offline
   * with os "unknown" until it connects; 'conflict' when the scope has a
   * runner of that name (generate-jitconfig never replaces one).
   */
  registerJitRunner(opts: { scope: string; name: string; labels: string[]; groupId: number }): RunnerRecord | 'conflict' {
    if (this.findRunnerByName(opts.scope, opts.name)) return 'conflict';
    return this.addRunner({
      name: opts.name,
      scope: opts.scope,
      os: 'unknown',
      ephemeral: true,
      groupId: opts.groupId,
      labels: this.labelList(opts.labels, (key) => SYSTEM_LABELS.has(key)),
    });
  }

  private addRunner(fields: Pick<RunnerRecord, 'name' | 'scope' | 'os' | 'ephemeral' | 'groupId' | 'labels'>): RunnerRecord {
    const runner: RunnerRecord = { id: this.nextRunnerId++, ...fields, runnerToken: opaqueToken('rnr'), messages: [], lastSeen: 0, activePolls: 0 };
    this.runnersById.set(runner.id, runner);
    if (runner.runnerToken) this.runnersByToken.set(runner.runnerToken, runner);
    return runner;
  }

  runner(id: number): RunnerRecord | undefined {
    return this.runnersById.get(id);
  }

  runnerByToken(token: string): RunnerRecord | undefined {
    return this.runnersByToken.get(token);
  }

  /** The name of the deleted runner this token belonged to, if it did. */
  retiredRunnerName(token: string): string | undefined {
    return this.retired.get(token);
  }

  /**
   * Removes a runner; a job it was running is lost (GitHub fails such jobs).
   * Its open long poll is answered (204) unless `endPolls` is false: then it
   * stays open, with nothing more to come, until the runner gives it up.
   */
  deleteRunner(id: number, { endPolls = true }: { endPolls?: boolean } = {}): boolean {
    const runner = this.runnersById.get(id);
    if (!runner) return false;
    this.loseJob(runner, 'runner_deleted');
    this.runnersById.delete(id);
    if (runner.runnerToken) {
      this.runnersByToken.delete(runner.runnerToken);
      this.retired.set(runner.runnerToken, runner.name);
    }
    const polls = this.pollers.filter((p) => p.runner === runner);
    this.pollers = this.pollers.filter((p) => p.runner !== runner);
    if (endPolls) for (const p of polls) p.deliver(undefined);
    return true;
  }

  isOnline(r: RunnerRecord, now = Date.now()): boolean {
    if (r.seeded) return r.seeded.status === 'online';
    if (r.sessionId === undefined) return false;
    // A runner in a long poll is connected even if its last request began long ago.
    return r.activePolls > 0 || now - r.lastSeen <= this.offlineAfterMs;
  }

  isBusy(r: RunnerRecord): boolean {
    if (r.seeded) return r.seeded.busy;
    return r.jobId !== undefined && this.isOnline(r);
  }

  view(r: RunnerRecord): RunnerView {
    return {
      id: r.id,
      name: r.name,
      os: r.os,
      status: this.isOnline(r) ? 'online' : 'offline',
      busy: this.isBusy(r),
      ephemeral: r.ephemeral,
      runner_group_id: r.groupId,
      labels: r.labels.map((l) => ({ ...l })),
    };
  }

  /** Runners registered directly in this scope (an org listing does not include repo runners), by id. */
  runnersIn(ref: ScopeRef): RunnerRecord[] {
    const key = scopeKey(ref);
    return [...this.runnersById.values()].filter((r) => r.scope === key).sort((a, b) => a.id - b.id);
  }

  // --- liveness ----------------------------------------------------------

  /** Any request carrying the runner token is a heartbeat. */
  touch(r: RunnerRecord): void {
    r.lastSeen = Date.now();
  }

  /**
   * A new session, or 'conflict' while the runner's previous session is still
   * alive: a poll is open, or the runner was heard from within offlineAfterMs.
   * A session whose runner went silent has expired and is replaced.
   */
  openSession(r: RunnerRecord, info: { version?: string; disableUpdate?: boolean; os?: string } = {}): string /* a session id, or 'conflict' */ {
    // The runner shows offline after offlineAfterMs, but a session it did not
    // delete (a killed Listener) lingers on the server: MessageListener.cs
    // retries a conflict for minutes because of that.
    if (r.sessionId !== undefined && (this.isOnline(r) || Date.now() - r.lastSeen <= this.sessionExpiryMs)) return 'conflict';
    if (r.sessionId !== undefined) this.closeSession(r); // expired
    r.sessionId = opaqueToken('ses');
    // A just-in-time runner's OS is known once it connects.
    if (r.os === 'unknown' && info.os) r.os = info.os;
    r.version = info.version;
    r.disableUpdate = info.disableUpdate;
    r.messages = r.messages.filter((m) => m.type !== 'update');
    this.touch(r);
    return r.sessionId;
  }

  /** A runner below the minimum version, if one is set. */
  isOutdated(version: string | undefined): boolean {
    const { minimum } = this.runnerVersions;
    return minimum !== undefined && (version === undefined || compareVersions(version, minimum) < 0);
  }

  /** Queues a message for the runner's next poll and answers a poll waiting now. */
  sendMessage(r: RunnerRecord, message: RunnerMessage): void {
    r.messages.push(message);
    const poller = this.pollers.find((p) => p.runner === r);
    if (!poller) return;
    this.pollers = this.pollers.filter((p) => p !== poller);
    const next = r.messages.shift();
    poller.deliver(next && { message: next });
  }

  /** Puts back a message whose poll answer could not be delivered. */
  requeueMessage(r: RunnerMessage, runner: RunnerRecord): void {
    runner.messages.unshift(r);
  }

  /** Control API: sets a seeded runner's status and busy flag. */
  driveSeeded(r: RunnerRecord, change: { status?: 'online' | 'offline'; busy?: boolean }): boolean {
    if (!r.seeded) return false;
    if (change.status !== undefined) r.seeded.status = change.status;
    if (change.busy !== undefined) r.seeded.busy = change.busy;
    return true;
  }

  closeSession(r: RunnerRecord): void {
    r.sessionId = undefined;
    this.loseJob(r, 'runner_offline');
  }

  /** Periodic check: a runner that went silent loses its job (and so stops being busy). */
  sweep(now = Date.now()): void {
    for (const r of this.runnersById.values()) {
      if (r.jobId !== undefined && !this.isOnline(r, now)) this.loseJob(r, 'runner_offline');
    }
  }

  private loseJob(r: RunnerRecord, reason: string): void {
    if (r.jobId === undefined) return;
    const job = this.jobs.get(r.jobId);
    r.jobId = undefined;
    if (job && job.status !== 'completed') {
      job.events.push({ event: 'runner_lost', reason });
      job.status = 'completed';
      job.conclusion = 'failure';
      this.changed(job);
    }
  }

  // --- tokens --------------------------------------------------------------

  issueToken(ref: ScopeRef, kind: TokenKind, ttlMs = TOKEN_TTL_MS): TokenRecord {
    const rec: TokenRecord = { token: githubStyleToken(), kind, scope: scopeKey(ref), expiresAt: Date.now() + ttlMs };
    this.tokens.set(rec.token, rec);
    return rec;
  }

  /** Tokens stay valid (and reusable) until they expire, as on GitHub. */
  checkToken(token: string, kind: TokenKind, ref: ScopeRef): boolean {
    const rec = this.tokens.get(token);
    return rec !== undefined && rec.kind === kind && rec.scope === scopeKey(ref) && rec.expiresAt > Date.now();
  }

  expireToken(token: string): boolean {
    const rec = this.tokens.get(token);
    if (rec) rec.expiresAt = Date.now() - 1;
    return rec !== undefined;
  }

  issueGrant(event: Grant['event'], ref: ScopeRef): Grant {
    const grant: Grant = { token: opaqueToken('reg'), event, scope: scopeKey(ref), expiresAt: Date.now() + TOKEN_TTL_MS };
    this.grants.set(grant.token, grant);
    return grant;
  }

  grant(token: string): Grant | undefined {
    const g = this.grants.get(token);
    return g && g.expiresAt > Date.now() ? g : undefined;
  }

  // --- jobs ----------------------------------------------------------------

  enqueueJob(
    spec: Omit<
      JobRecord,
      'id' | 'runId' | 'runAttempt' | 'status' | 'conclusion' | 'runnerId' | 'runnerName' | 'cancelRequested' | 'events' | 'cancelTimeoutMinutes'
    > & {
      cancelTimeoutMinutes?: number;
    },
  ): JobRecord {
    const job: JobRecord = {
      ...spec,
      cancelTimeoutMinutes: spec.cancelTimeoutMinutes ?? DEFAULT_CANCEL_TIMEOUT_MINUTES,
      id: this.nextJobId++,
      runId: this.nextRunId++,
      runAttempt: 1,
      status: 'queued',
      conclusion: null,
      runnerId: undefined,
      runnerName: null,
      cancelRequested: false,
      events: [],
    };
    this.jobs.set(job.id, job);
    this.queue.push(job);
    this.changed(job);
    this.dispatch();
    return job;
  }

  job(id: number): JobRecord | undefined {
    return this.jobs.get(id);
  }

  jobView(job: JobRecord): JobView {
    return {
      job_id: job.id,
      run_id: job.runId,
      run_attempt: job.runAttempt,
      status: job.status,
      conclusion: job.conclusion,
      runner_name: job.runnerName,
      cancel_requested: job.cancelRequested,
      events: job.events.map((e) => ({ ...e })),
    };
  }

  jobMessage(job: JobRecord): JobMessage {
    return {
      job_id: job.id,
      run_id: job.runId,
      run_attempt: job.runAttempt,
      job: job.job,
      repository: job.repository,
      workflow: job.workflow,
      steps: job.steps.map((s) => ({ ...s })),
      env: { ...job.env },
    };
  }

  /** Queued jobs end at once; a running job is flagged and the runner sees it via GET /_runner/jobs/{id}. */
  cancelJob(id: number): 'queued' | 'in_progress' | 'completed' | 'unknown' {
    const job = this.jobs.get(id);
    if (!job) return 'unknown';
    const was = job.status;
    if (was === 'completed') return was;
    if (job.cancelRequested) return was;
    job.cancelRequested = true;
    if (was === 'queued') {
      this.queue.splice(this.queue.indexOf(job), 1);
      job.status = 'completed';
      job.conclusion = 'cancelled';
    } else {
      // The runner learns of it from its message poll (a JobCancelMessage).
      const runner = job.runnerId === undefined ? undefined : this.runnersById.get(job.runnerId);
      if (runner) this.sendMessage(runner, { type: 'cancel', job_id: job.id, timeout_minutes: job.cancelTimeoutMinutes });
    }
    this.changed(job);
    return was;
  }

  /** Records a runner's event; `completed` frees the runner (and retires an ephemeral one). */
  recordEvent(job: JobRecord, runner: RunnerRecord, event: Record<string, unknown>): void {
    job.events.push(event);
    if (event.event === 'completed' && job.status !== 'completed') {
      job.status = 'completed';
      job.conclusion = typeof event.conclusion === 'string' ? event.conclusion : 'failure';
      if (runner.jobId === job.id) runner.jobId = undefined;
      // GitHub deletes an ephemeral runner once its job is done; its Listener
      // learns it is finished from its own job (Runner.cs), not from its poll.
      if (runner.ephemeral) this.deleteRunner(runner.id, { endPolls: false });
    }
    this.changed(job);
    if (event.event === 'completed') this.dispatch();
  }

  /** A job may run on an idle online runner of its org (or its repo, or an enterprise the org is in) that carries all its labels. */
  private eligible(runner: RunnerRecord, job: JobRecord): boolean {
    if (runner.seeded || runner.jobId !== undefined || !this.isOnline(runner)) return false;
    const scopes = new Set([job.org.toLowerCase()]);
    if (job.repo !== undefined) scopes.add(scopeKey({ org: job.org, repo: job.repo }));
    for (const [enterprise, orgs] of this.enterpriseOrgs) if (orgs.has(job.org.toLowerCase())) scopes.add(enterprise);
    if (!scopes.has(runner.scope)) return false;
    const have = new Set(runner.labels.map((l) => l.name.toLowerCase()));
    return job.runsOn.every((l) => have.has(l.toLowerCase()));
  }

  /**
   * Long poll: resolves with the job assigned to this runner, or undefined when
   * `signal` aborts (timeout, client gone) first.
   */
  waitForAssignment(runner: RunnerRecord, signal: AbortSignal): Promise<Delivery | undefined> {
    return new Promise((resolve) => {
      const pending = runner.messages.shift();
      if (pending) return resolve({ message: pending });
      const poller: Poller = {
        runner,
        deliver: (delivery) => {
          signal.removeEventListener('abort', onAbort);
          resolve(delivery);
        },
      };
      const onAbort = (): void => {
        this.pollers = this.pollers.filter((p) => p !== poller);
        resolve(undefined);
      };
      if (signal.aborted) return resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      this.pollers.push(poller);
      this.dispatch();
    });
  }

  /** Hands queued jobs, oldest first, to waiting pollers, longest-waiting first. */
  private dispatch(): void {
    for (const job of [...this.queue]) {
      const poller = this.pollers.find((p) => this.eligible(p.runner, job));
      if (!poller) continue;
      this.pollers = this.pollers.filter((p) => p !== poller);
      this.queue.splice(this.queue.indexOf(job), 1);
      job.status = 'in_progress';
      job.runnerId = poller.runner.id;
      job.runnerName = poller.runner.name;
      poller.runner.jobId = job.id;
      this.changed(job);
      poller.deliver({ job });
    }
  }

  /** Puts a job back at the head of the queue when its long-poll answer could not be delivered. */
  requeue(job: JobRecord, runner: RunnerRecord): void {
    if (runner.jobId === job.id) runner.jobId = undefined;
    if (job.status !== 'in_progress') return;
    job.status = 'queued';
    job.runnerId = undefined;
    job.runnerName = null;
    // Back to its enqueue position (ids grow in enqueue order).
    const at = this.queue.findIndex((q) => q.id > job.id);
    this.queue.splice(at === -1 ? this.queue.length : at, 0, job);
    this.changed(job);
    this.dispatch();
  }

  /** Wakes every long poll (used on shutdown). */
  releasePollers(): void {
    const pollers = this.pollers;
    this.pollers = [];
    for (const p of pollers) p.deliver(undefined);
  }

  private changed(job: JobRecord): void {
    this.events.emit('job', job);
  }
}

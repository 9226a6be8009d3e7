// How the toolkit runs the docker CLI (and the compose CLI): through zx, quiet and never throwing by
// itself; a failure becomes one CliError(ExitCode.docker) that names the command and docker's own
// reason, so exit codes are checked here once. Probes, whose exit code is the answer, get it as is.
//
// Which daemon: a fleet's env file may name one (DOCKER_HOST, DOCKER_CONTEXT:
// Config.docker), and every command runs with it in its environment. It is
// the process's once loadConfig has loaded the fleet (useDockerTarget), so a
// one-fleet script needs nothing more; a process with fleets on several
// daemons (make list ENV_FILES=…) runs each fleet's work in
// withDockerTarget(config.docker, …), an AsyncLocalStorage scope that every
// command started inside it, however deep or late, runs against. A command
// outside any scope in such a process throws rather than guess a daemon.
import { AsyncLocalStorage } from 'node:async_hooks';
import { $, type ProcessOutput, type ProcessPromise } from 'zx';
import type { DockerTarget } from '../config/config.ts';
import { CliError, ExitCode } from '../../core/errors.ts';

type Env = Record<string, string | undefined>;

export interface CommandOptions {
  /** Added to this process's environment. */
  env?: Env;
  /** What the command was for, named in its failure: `docker run (checking …) failed …`. */
  what?: string;
  /** What the user can do about a failure, after the reason. */
  fix?: string;
  /** Written to the command's stdin (a secret handed over without an argument or a file). */
  input?: string;
}

/**
 * The environment of every zx command: this process's, with `extra`. zx runs
 * each command as `bash -c` with stdin a socket pair, and a bash whose SHLVL
 * is unset (cron, systemd, a stripped environment) takes that for an sshd
 * session and reads ~/.bashrc first (pyenv, conda … each time, or a hang on
 * their locks): SHLVL=1 marks it a child shell, which never does.
 */
export function shellEnv(extra: Env = {}): Env {
  return { SHLVL: '1', ...process.env, ...extra };
}

export type { DockerTarget } from '../config/config.ts';

const scoped = new AsyncLocalStorage<DockerTarget>();
/** The targets of the fleets this process loaded, by dockerTargetName. */
const loaded = new Map<string, DockerTarget>();

/** The daemon as the user names it: DOCKER_HOST's value, the context's name, or `local` (the docker CLI's default). */
export function dockerTargetName(target: DockerTarget): string {
  return target.host ?? target.context ?? 'local';
}

/** Makes a loaded fleet's target the process's (loadConfig calls it): the daemon of every command outside withDockerTarget. */
export function useDockerTarget(target: DockerTarget): void {
  loaded.set(dockerTargetName(target), target);
}

/** Runs `fn` with every docker and compose command it starts, however deep and however late (timers, streams), on `target`. */
export function withDockerTarget<T>(target: DockerTarget, fn: () => T): T {
  return scoped.run(target, fn);
}

/**
 * The target of a command started here and now: the scope's, else the one
 * fleet's this process loaded; undefined when none was loaded (the process's
 * own DOCKER_HOST, if any, applies, as for a tool that reads no env file).
 */
export function currentDockerTarget(): DockerTarget | undefined {
  const target = scoped.getStore();
  if (target) return target;
  if (loaded.size > 1) {
    throw new Error(
      `a docker command outside withDockerTarget, in a process with fleets on ${[...loaded.keys()].join(' and ')}: which daemon is meant is not known`,
    );
  }
  return loaded.values().next().value;
}

/** The environment that points the docker CLI (and compose) at `target`: the one it names, the other variable removed. */
function targetEnv(target: DockerTarget | undefined): Env {
  if (target?.host) return { DOCKER_HOST: target.host, DOCKER_CONTEXT: undefined };
  if (target?.context) return { DOCKER_CONTEXT: target.context, DOCKER_HOST: undefined };
  return {};
}

/**
 * Starts `command …` (docker, or a compose CLI) on the current Docker target
 * (currentDockerTarget) and returns it running, output piped unless `stdio`
 * says otherwise.
 */
export function start(command: string[], options: { env?: Env; stdio?: 'pipe' | 'inherit' | 'stderr'; input?: string } = {}): ProcessPromise {
  const stdio = options.stdio ?? 'pipe';
  return $({
    quiet: stdio === 'pipe',
    nothrow: true,
    // The target last: the environment a caller passes on (compose's is all of process.env) never points elsewhere.
    env: shellEnv({ ...options.env, ...targetEnv(currentDockerTarget()) }),
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(stdio === 'inherit' ? { stdio: ['inherit', 'inherit', 'inherit'] } : {}),
    // The command's own output (a pull's progress) onto stderr, so stdout keeps a script's result alone.
    ...(stdio === 'stderr' ? { stdio: ['ignore', process.stderr, 'inherit'] } : {}),
  })`${command}`;
}

/** `docker …args` and its stdout; a failure throws (see failure()). */
export async function docker(args: string[], options: CommandOptions = {}): Promise<string> {
  const result = await start(['docker', ...args], options);
  if (result.exitCode !== 0) throw failure(`docker ${verb(args)}`, result, options);
  return result.stdout;
}

/**
 * Like docker(), for a command about one object that may not exist (an
 * image, a container, a volume): undefined when docker answers "No such …";
 * any other failure throws.
 */
export async function dockerUnlessMissing(args: string[], options: CommandOptions = {}): Promise<string | undefined> {
  const result = await start(['docker', ...args], options);
  if (result.exitCode === 0) return result.stdout;
  if (/\bno such (image|container|volume|object)\b/i.test(result.stderr)) return undefined;
  throw failure(`docker ${verb(args)}`, result, options);
}

/** `docker …args` whose exit code is the answer (is this plugin there? may this run? did it go?): never throws. */
export async function probe(args: string[]): Promise<ProcessOutput> {
  return start(['docker', ...args]);
}

/**
 * The one error for a failed command: `<command>[ (<what>)] failed (exit N):
 * <reason>[; <fix>]`. The reason is stderr's first line by default (where
 * docker puts its error); output that went to the terminal is pointed at instead.
 */
export function failure(command: string, result: ProcessOutput, options: CommandOptions & { reason?: string } = {}): CliError {
  const reason = options.reason ?? firstLine(result.stderr);
  const exit = result.exitCode ?? result.signal ?? 'unknown';
  const why = reason ? `: ${reason}` : '; see the output above';
  return new CliError(
    `${command}${options.what ? ` (${options.what})` : ''} failed (exit ${exit})${why}${options.fix ? `; ${options.fix}` : ''}`,
    ExitCode.docker,
  );
}

/** A command's output as its non-empty lines, trimmed. */
export function outputLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

export function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

export function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}

/** Docker's command groups: their commands are two words (`volume rm`, `image inspect`). */
const GROUPS = new Set(['image', 'volume', 'container', 'network', 'buildx', 'compose']);

/** The command `args` run, as the user would name it: `ps`, `volume rm`. */
function verb(args: string[]): string {
  return args.slice(0, GROUPS.has(args[0] ?? '') ? 2 : 1).join(' ');
}

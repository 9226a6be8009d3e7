// Every call to Docker goes through here (zx). Containers are found by the
// labels the compose file puts on them, never by parsing names.
import { $, type ProcessOutput, type ProcessPromise } from 'zx';
import type { ComposeCommand, Config } from '../config/config.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { IMAGE_LABEL, STATE_DIR, STATE_SCRIPT } from '../../core/constants.ts';
import { LABEL, type RunnerKind } from './labels.ts';
import { runnerVolumeNames } from './compose.ts';
import { bannerFilter, failureReason, parseStep, progressLine, type Builder } from './build-output.ts';

export interface FleetContainer {
  name: string;
  /** Compose service; equals the runner and container name. */
  service: string;
  /** running | exited | created | restarting | paused | dead */
  state: string;
  kind: RunnerKind;
  /** The runner labels the container registers with (its RUNNER_LABELS). */
  labels: string[];
  board?: string;
  resourceId?: string;
  /** A board runner's own devices (`host[:container]`), from its label. */
  devices?: string[];
  image: string;
}

// zx runs each command as `bash -c` with stdin a socket pair. A bash whose
// SHLVL is unset (cron, systemd, a stripped environment) takes that for an
// sshd session and reads ~/.bashrc first (pyenv, conda … each time, or a hang
// on their locks): mark it a child shell, which never does.
process.env.SHLVL ??= '1';

const quiet = $({ quiet: true, nothrow: true });
let daemonChecked = false;

/** Throws one clear line when docker is missing or its daemon does not answer. */
export async function ensureDocker(): Promise<void> {
  if (daemonChecked) return;
  const result = await quiet`docker info --format {{.ServerVersion}}`;
  if (result.exitCode === 127 || (result.exitCode === null && result.signal === null)) {
    // the shell could not find the command, or no shell could be started for it
    throw new CliError('docker is not installed: install Docker (Debian: apt-get install docker.io docker-compose)', ExitCode.docker);
  }
  if (result.exitCode !== 0) {
    const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    throw new CliError(`the Docker daemon at ${where} does not answer: start it (systemctl start docker) or fix DOCKER_HOST`, ExitCode.docker);
  }
  daemonChecked = true;
}

const composeCommands = new Map<string, string[]>();

/**
 * The compose command: the one RUNNER_COMPOSE forces, else `docker compose`
 * (v2) when the plugin exists, else `docker-compose` (v1). A forced command
 * that does not run is one line naming the setting.
 */
export async function composeCli(forced?: ComposeCommand): Promise<string[]> {
  const key = forced ?? 'auto';
  const known = composeCommands.get(key);
  if (known) return known;
  const runs = async (command: string[]): Promise<boolean> => (await quiet`${command} version`.catch(() => undefined))?.exitCode === 0;
  const candidates = forced ? [forced.split(' ')] : [['docker', 'compose'], ['docker-compose']];
  for (const command of candidates) {
    if (await runs(command)) {
      composeCommands.set(key, command);
      return command;
    }
  }
  if (forced) throw new CliError(`RUNNER_COMPOSE is '${forced}', but \`${forced} version\` does not run: install it, or unset RUNNER_COMPOSE to use the compose that is installed`, ExitCode.docker);
  throw new CliError('neither `docker compose` nor `docker-compose` is installed: install one (Debian: apt-get install docker-compose)', ExitCode.docker);
}

/** Runs `docker compose -p <project> -f <file> …args`, output to the terminal unless `capture`. */
export async function compose(
  config: Pick<Config, 'projectName' | 'composeFile' | 'proxy' | 'composeCommand'>,
  args: string[],
  options: { capture?: boolean; env?: Record<string, string> } = {},
): Promise<ProcessOutput> {
  await ensureDocker();
  const [cli, ...sub] = await composeCli(config.composeCommand);
  const v1 = cli === 'docker-compose' ? await composeV1Env() : {};
  const run = $({
    quiet: options.capture ?? false,
    nothrow: true,
    // The proxy settings the compose file leaves to the environment (see lib/compose).
    env: { ...v1, ...process.env, ...config.proxy, ...options.env },
    stdio: options.capture ? 'pipe' : ['inherit', 'inherit', 'inherit'],
  });
  return run`${cli} ${sub} -p ${config.projectName} -f ${config.composeFile} ${args}`;
}

/** The Docker API version compose v1 is pinned to (Docker 20.10's). */
const COMPOSE_V1_API = '1.41';
let v1Env: Promise<Record<string, string>> | undefined;

/**
 * Compose v1 reads an image's ContainerConfig whenever it recreates a
 * container, and engines from Docker 25 leave that field out at API 1.44 and
 * later, so v1 fails every recreate with "KeyError: 'ContainerConfig'" and
 * leaves the container renamed. Older API versions still carry the field:
 * pin v1 to 1.41 where the engine still serves it (COMPOSE_API_VERSION set
 * by the user wins).
 */
async function composeV1Env(): Promise<Record<string, string>> {
  v1Env ??= (async (): Promise<Record<string, string>> => {
    const range = await quiet`docker version --format ${'{{.Server.MinAPIVersion}} {{.Server.APIVersion}}'}`;
    const [min = '', max = ''] = range.stdout.trim().split(' ');
    const atMost = (a: string, b: string): boolean => a.split('.').map(Number).reduce((cmp, part, i) => cmp || part - Number(b.split('.')[i] ?? 0), 0) <= 0;
    const served = range.exitCode === 0 && atMost(min, COMPOSE_V1_API) && atMost(COMPOSE_V1_API, max);
    return served ? { COMPOSE_API_VERSION: COMPOSE_V1_API } : {};
  })();
  return v1Env;
}

/** Like compose(), but a failure becomes a CliError naming what failed. */
export async function composeOrFail(config: Pick<Config, 'projectName' | 'composeFile' | 'proxy' | 'composeCommand'>, args: string[], what: string): Promise<void> {
  const result = await compose(config, args);
  if (result.exitCode !== 0) throw new CliError(`docker compose ${what} failed (exit ${result.exitCode}); see the output above`);
}

/**
 * This scope's containers (found by the toolkit's labels and by compose
 * project), running or not. Another ORG/REPO's container under the same
 * prefix or project is refused, not returned: two scopes sharing names would
 * remove each other's runners.
 */
export async function listFleetContainers(config: Pick<Config, 'prefix' | 'scope' | 'projectName'>): Promise<FleetContainer[]> {
  await ensureDocker();
  const byPrefix = await quiet`docker ps -a -q --filter label=${LABEL.managed}=true --filter label=${LABEL.prefix}=${config.prefix}`;
  const byProject = await quiet`docker ps -a -q --filter label=${LABEL.managed}=true --filter label=com.docker.compose.project=${config.projectName}`;
  for (const listed of [byPrefix, byProject]) {
    if (listed.exitCode !== 0) throw new CliError(`docker ps failed: ${firstLine(listed.stderr)}`, ExitCode.docker);
  }
  const idList = [...new Set(`${byPrefix.stdout}\n${byProject.stdout}`.split('\n').filter(Boolean))];
  if (idList.length === 0) return [];
  const inspected = await quiet`docker inspect ${idList}`;
  if (inspected.exitCode !== 0) throw new CliError(`docker inspect failed: ${firstLine(inspected.stderr)}`, ExitCode.docker);
  const infos = JSON.parse(inspected.stdout) as DockerInspect[];
  const ours = (labels: Record<string, string>): boolean =>
    (labels[LABEL.org] ?? '').toLowerCase() === config.scope.org.toLowerCase() && (labels[LABEL.repo] ?? '') === (config.scope.repo ?? '');
  const foreign = infos.find((info) => !ours(info.Config.Labels ?? {}));
  if (foreign) {
    const labels = foreign.Config.Labels ?? {};
    const theirs = labels[LABEL.repo] ? `repo ${labels[LABEL.org]}/${labels[LABEL.repo]}` : `org ${labels[LABEL.org] ?? '?'}`;
    throw new CliError(
      `the names of this fleet (prefix ${config.prefix}, compose project ${config.projectName}) are already used on this host by the fleet of ${theirs} (container ${foreign.Name.replace(/^\//, '')}): give this ORG/REPO a prefix of its own with RUNNER_NAME_PREFIX in its env file`,
      ExitCode.config,
    );
  }
  return infos.map(toFleetContainer).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** Stops and removes the named containers and their volumes (runnerVolumes); missing ones are fine. */
export async function removeRunnerContainers(_config: Pick<Config, 'prefix'>, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await ensureDocker();
  const removed = await quiet`docker rm -f -v ${names}`;
  if (removed.exitCode !== 0 && !/No such container/.test(removed.stderr)) {
    throw new CliError(`docker rm failed: ${firstLine(removed.stderr)}`, ExitCode.docker);
  }
  const volumes = names.flatMap(runnerVolumes);
  const existing = await existingVolumes();
  const toRemove = volumes.filter((volume) => existing.has(volume));
  if (toRemove.length === 0) return;
  const result = await quiet`docker volume rm -f ${toRemove}`;
  if (result.exitCode !== 0) throw new CliError(`docker volume rm failed: ${firstLine(result.stderr)}`, ExitCode.docker);
}

/** The named volumes a runner owns, with `-data` (its whole home, in the layout before issue 10) if it is left. */
export function runnerVolumes(runner: string): string[] {
  return [...runnerVolumeNames(runner), legacyDataVolume(runner)];
}

/** The volume the layout before issue 10 mounted at the whole runner home. */
export function legacyDataVolume(runner: string): string {
  return `${runner}-data`;
}

/** The names of the named volumes that exist. */
export async function existingVolumes(): Promise<Set<string>> {
  await ensureDocker();
  const result = await quiet`docker volume ls -q`;
  if (result.exitCode !== 0) throw new CliError(`docker volume ls failed: ${firstLine(result.stderr)}`, ExitCode.docker);
  return new Set(result.stdout.split('\n').filter(Boolean));
}

/**
 * Which runners hold a registration (`.runner`): in their state volume, or,
 * for a runner not yet moved to the state-volume layout, in its old whole-home
 * `-data` volume (never registered over; init carries it over). Checked in one
 * throwaway container of the runner image that mounts them all read-only.
 */
export async function configuredRunners(image: string, runners: string[]): Promise<Set<string>> {
  if (runners.length === 0) return new Set();
  const existing = await existingVolumes();
  const checked = runners
    .map((runner) => ({ runner, volumes: [`${runner}-state`, legacyDataVolume(runner)].filter((volume) => existing.has(volume)) }))
    .filter((entry) => entry.volumes.length > 0);
  if (checked.length === 0) return new Set();
  const mounts = checked.flatMap(({ volumes }, i) => volumes.flatMap((volume, j) => ['-v', `${volume}:/check/${i}-${j}:ro`]));
  // A regular file, not a link: an old -data volume is the runner user's, and root follows nothing of it.
  const isRegistration = (path: string) => `{ test -f ${path} && test ! -L ${path}; }`;
  const script =
    checked.map(({ volumes }, i) => `{ ${volumes.map((_, j) => isRegistration(`/check/${i}-${j}/.runner`)).join(' || ')}; } && echo ${i}`).join('; ') + '; true';
  const result = await quiet`docker run --rm --network none --user 0 --entrypoint /bin/sh ${mounts} ${image} -c ${script}`;
  if (result.exitCode !== 0) throw new CliError(`could not inspect the runners' volumes: ${firstLine(result.stderr)}`, ExitCode.docker);
  return new Set(result.stdout.split('\n').filter(Boolean).map((i) => checked[Number(i)]!.runner));
}

/**
 * Runs image/runner-state.sh `import` as root in a throwaway container of the
 * runner image (no network; the old volume read-only): the registration in
 * the old whole-home volume `from`, read as the runner user, is copied into
 * the state volume `to` (root's), created first with the labels compose gives
 * the volumes it makes, so compose adopts it. Returns the files copied.
 */
export async function importOldState(image: string, project: string, from: string, to: string): Promise<string[]> {
  await ensureDocker();
  const created = await quiet`docker volume create --label com.docker.compose.project=${project} --label com.docker.compose.volume=${to} ${to}`;
  if (created.exitCode !== 0) throw new CliError(`docker volume create ${to} failed: ${firstLine(created.stderr)}`, ExitCode.docker);
  const old = '/fleet-old';
  const result = await quiet`docker run --rm --network none --user 0 -v ${`${from}:${old}:ro`} -v ${`${to}:${STATE_DIR}`} --entrypoint ${STATE_SCRIPT} ${image} import ${old}`;
  if (result.exitCode !== 0) {
    throw new CliError(`could not carry the registration over from ${from} into ${to}: ${firstLine(result.stderr)}; ${from} is kept: fix this and run make init again`, ExitCode.docker);
  }
  return result.stdout.split('\n').map((line) => line.trim()).filter(Boolean);
}

/** Names of the containers (running or not) that mount `volume`. */
export async function containersUsingVolume(volume: string): Promise<string[]> {
  await ensureDocker();
  const result = await quiet`docker ps -a --filter volume=${volume} --format {{.Names}}`;
  if (result.exitCode !== 0) throw new CliError(`docker ps failed: ${firstLine(result.stderr)}`, ExitCode.docker);
  return result.stdout.split('\n').filter(Boolean);
}

/** `docker volume rm VOLUME`; the error line when it failed. */
export async function removeVolume(volume: string): Promise<string | undefined> {
  await ensureDocker();
  const result = await quiet`docker volume rm ${volume}`;
  return result.exitCode === 0 ? undefined : firstLine(result.stderr);
}

export async function imageLabel(image: string, label: string): Promise<string | undefined> {
  await ensureDocker();
  const result = await quiet`docker image inspect --format ${`{{ index .Config.Labels "${label}" }}`} ${image}`;
  if (result.exitCode !== 0) return undefined; // no such image
  const value = result.stdout.trim();
  return value === '' || value === '<no value>' ? undefined : value;
}

/** The user an image runs as (its USER; empty for root), or undefined when it is not present locally. */
export async function imageUser(image: string): Promise<string | undefined> {
  await ensureDocker();
  const result = await quiet`docker image inspect --format {{.Config.User}} ${image}`;
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

/** The image's ID, or undefined when it is not present locally. */
export async function imageId(image: string): Promise<string | undefined> {
  await ensureDocker();
  const result = await quiet`docker image inspect --format {{.Id}} ${image}`;
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

export interface BuildOptions {
  /**
   * Fold the build's output: `progress` gets one short line per step as the
   * build reaches it (naming `image`), the log is kept, and only a failure
   * prints it, whole, to stderr. Unset: the output streams to stderr.
   */
  fold?: { image: string; progress: (line: string) => void };
}

let builderChoice: Promise<Builder> | undefined;

/**
 * BuildKit when the buildx plugin runs (`docker buildx version`), else the
 * legacy builder; DOCKER_BUILDKIT=0 (Docker's own switch) keeps the legacy
 * one. Asked once per process.
 */
export function chooseBuilder(): Promise<Builder> {
  builderChoice ??= (async (): Promise<Builder> => {
    if (/^(0|f|false)$/i.test(process.env.DOCKER_BUILDKIT ?? '')) return 'legacy';
    const buildx = await quiet`docker buildx version`.catch(() => undefined);
    return buildx?.exitCode === 0 ? 'buildkit' : 'legacy';
  })();
  return builderChoice;
}

/**
 * `docker build …args` through the builder chosen explicitly (the CLI's own
 * choice prints a deprecation banner for the legacy builder, and fails when
 * DOCKER_BUILDKIT=1 meets a missing plugin); the banner is dropped from
 * whatever is shown. Folded (options.fold) or streamed to stderr; BuildKit's
 * plain progress where its output is read, its own display where it streams
 * (a terminal's, or plain lines in a log).
 */
export async function dockerBuild(args: string[], what: string, options: BuildOptions = {}): Promise<void> {
  await ensureDocker();
  const builder = await chooseBuilder();
  const env = { ...process.env, DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0' };
  const fold = options.fold;
  if (builder === 'buildkit' && !fold) {
    // Nothing to drop: docker's output goes straight to the terminal (stdout onto stderr).
    const result = await $({ nothrow: true, env, stdio: ['ignore', process.stderr, 'inherit'] })`docker build ${args}`;
    if (result.exitCode !== 0) throw new CliError(`docker build of ${what} failed (exit ${result.exitCode}); see the output above`, ExitCode.failure);
    return;
  }
  const keep = bannerFilter();
  const log: string[] = [];
  const shown = new Set<string>();
  const onLine = (line: string): void => {
    if (!keep(line)) return;
    if (!fold) {
      process.stderr.write(`${line}\n`);
      return;
    }
    log.push(line);
    const step = parseStep(line);
    const progress = step && progressLine(fold.image, step);
    // BuildKit repeats a step's header whenever its output resumes: one line per step.
    if (progress && !shown.has(progress)) {
      shown.add(progress);
      fold.progress(progress);
    }
  };
  // The legacy builder keeps a failed step's container (and its layers) unless
  // told otherwise: nothing of a failed build may be left behind.
  const builderFlags = builder === 'buildkit' ? ['--progress=plain'] : ['--force-rm'];
  const proc = $({ quiet: true, nothrow: true, env })`docker build ${builderFlags} ${args}`;
  const flushOut = eachLine(proc.stdout, onLine);
  const flushErr = eachLine(proc.stderr, onLine);
  const result = await proc;
  flushOut();
  flushErr();
  if (result.exitCode === 0) return;
  if (!fold) throw new CliError(`docker build of ${what} failed (exit ${result.exitCode}); see the output above`, ExitCode.failure);
  const text = log.join('\n');
  process.stderr.write(`--- the log of the failed docker build of ${fold.image} ---\n${text}\n--- end of the log of ${fold.image} ---\n`);
  const reason = failureReason(text);
  throw new CliError(`docker build of ${what} failed (exit ${result.exitCode})${reason ? `: ${reason}` : ''}; its log is above`.replace(/\s*\n\s*/g, ' '), ExitCode.failure);
}

/** Calls onLine with each line the stream carries as it comes; returns a flush for an unterminated last line. */
function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): () => void {
  let pending = '';
  stream.on('data', (chunk: Buffer | string) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  });
  return () => {
    if (pending) onLine(pending.replace(/\r$/, ''));
    pending = '';
  };
}

/** Removes an image a rebuild left untagged; kept silently while a container still uses it. */
export async function removeReplacedImage(id: string | undefined, image: string): Promise<void> {
  if (!id || id === (await imageId(image))) return;
  await quiet`docker image rm ${id}`;
}

/** Removes every image built for this scope (tagged or left dangling by rebuilds); returns what went. */
export async function removeScopeImages(config: Pick<Config, 'projectName'>): Promise<string[]> {
  await ensureDocker();
  const listed = await quiet`docker images --format ${'{{.ID}} {{.Repository}}:{{.Tag}}'} --filter label=${IMAGE_LABEL.project}=${config.projectName}`;
  const images = listed.stdout.split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]);
  if (images.length === 0) return [];
  // Tagged ones first by name (an ID can carry several tags), then whatever is left dangling.
  const tagged = images.map(([, name]) => name).filter((name) => !name.includes('<none>'));
  if (tagged.length) await quiet`docker image rm ${tagged}`;
  const dangling = images.filter(([, name]) => name.includes('<none>')).map(([id]) => id);
  if (dangling.length) await quiet`docker image rm ${dangling}`;
  return tagged.length ? tagged : dangling;
}

/** `docker pull IMAGE`, progress on stderr; a failure names the setting the image came from. */
export async function dockerPull(image: string, setting: string): Promise<void> {
  await ensureDocker();
  const result = await $({ nothrow: true, stdio: ['ignore', process.stderr, 'inherit'] })`docker pull ${image}`;
  if (result.exitCode !== 0) {
    throw new CliError(`could not pull ${image} (exit ${result.exitCode}): check ${setting} and the registry login, or load the image locally`, ExitCode.docker);
  }
}

export async function imageExists(image: string): Promise<boolean> {
  await ensureDocker();
  return (await quiet`docker image inspect ${image}`).exitCode === 0;
}

interface DockerInspect {
  Name: string;
  State: { Status: string };
  Config: { Labels: Record<string, string> | null; Env: string[] | null; Image: string };
}

function toFleetContainer(info: DockerInspect): FleetContainer {
  const labels = info.Config.Labels ?? {};
  const env = new Map((info.Config.Env ?? []).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  const name = info.Name.replace(/^\//, '');
  const board = labels[LABEL.board];
  const resourceId = labels[LABEL.resource];
  const devices = (labels[LABEL.devices] ?? '').split(',').filter(Boolean);
  return {
    name,
    service: labels['com.docker.compose.service'] ?? name,
    state: info.State.Status,
    kind: labels[LABEL.kind] === 'board' ? 'board' : 'generic',
    labels: (env.get('RUNNER_LABELS') ?? '').split(',').filter(Boolean),
    image: info.Config.Image,
    ...(board ? { board } : {}),
    ...(resourceId ? { resourceId } : {}),
    ...(devices.length ? { devices } : {}),
  };
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** Starts `docker run …args` and returns it running (output piped), for callers that read it as it comes. */
export function runContainer(args: string[]): ProcessPromise {
  return $({ quiet: true, nothrow: true })`docker run ${args}`;
}

/** Removes containers by name, whatever state they are in; missing ones are fine. */
export async function removeContainers(names: string[]): Promise<void> {
  if (names.length > 0) await quiet`docker rm -f ${names}`;
}

/**
 * Whether this engine refuses to start a privileged container as root (runc
 * "unable to apply caps": the host's capability bounding set lacks one, as in
 * some sandboxes). Runner containers start as root, so such an engine needs
 * RUNNER_PRIVILEGED=false.
 */
export async function privilegedRootRefused(image: string): Promise<boolean> {
  const probe = await quiet`docker run --rm --privileged --user 0 --network none --entrypoint true ${image}`;
  return probe.exitCode !== 0 && /apply caps/.test(probe.stderr);
}

/** Removes the images by name; returns those that went. */
export async function removeImages(images: string[]): Promise<string[]> {
  const gone: string[] = [];
  for (const image of images) if ((await quiet`docker image rm -f ${image}`).exitCode === 0) gone.push(image);
  return gone;
}

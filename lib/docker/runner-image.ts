// Builds the runner image only when something that goes into it changed: the
// user's root Dockerfile and the files it copies, image/, the wrapper bundle,
// the base image. The content hash is an image label (a deleted or replaced
// image is rebuilt too) and is also recorded in the scope's hash record file.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWrapper } from '../../image/build.ts';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { IMAGE_LABEL, workDirPath } from '../../core/constants.ts';
import { toLines, type Reporter } from '../../core/reporter.ts';
import { stageBuildContext } from './build-context.ts';
import type { Config } from '../config/config.ts';
import { dockerBuild, type BuildOptions } from './build.ts';
import { ensureDocker } from './engine.ts';
import { imageExists, imageId, imageLabel, imageUser, pullImage, removeReplacedImage } from './images.ts';

const TOOLKIT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ImageBuildResult {
  image: string;
  hash: string;
  built: boolean;
}

export interface ImageOptions {
  /** Rebuild even when the hash matches (make image). */
  force?: boolean;
  /** Where the user's Dockerfile would be (default: beside the env file). */
  dir?: string;
  /** What the image steps say ("Building … from …"); default: stderr, so stdout keeps a script's result alone. */
  reporter?: Reporter;
  /**
   * Fold each docker build into short lines here, one per step (the full log
   * only when it fails), as when builds run side by side; unset, the build's
   * own output streams to stderr.
   */
  progress?: Reporter;
}

const onStderr = toLines((line) => process.stderr.write(`${line}\n`));

export async function ensureRunnerImage(config: Config, options: ImageOptions = {}): Promise<ImageBuildResult> {
  const reporter = options.reporter ?? onStderr;
  await ensureDocker();
  const dir = options.dir ?? dirname(config.envFile);
  const customDockerfile = join(dir, 'Dockerfile');
  const hasCustom = existsSync(customDockerfile);
  const context = await mkdtemp(join(tmpdir(), 'gh-runner-fleet-image-'));
  try {
    await buildWrapper(join(context, 'wrapper'));
    await cp(join(TOOLKIT_ROOT, 'image'), context, { recursive: true });
    const base = hasCustom ? config.customImage : config.baseImage;
    // Pull a missing base first: its ID is part of the hash, and hashing "absent"
    // would make the next run see a changed base and rebuild (recreating every runner).
    if (!hasCustom && !(await imageExists(base))) {
      reporter.info(`Pulling the base image ${base} (RUNNER_IMAGE) …`);
      await pullImage(base, 'RUNNER_IMAGE');
    }
    const hash = contentHash([
      `base=${base}`,
      hasCustom ? `custom=${await customInputsHash(customDockerfile, dir)}` : 'custom=none',
      // a rebuilt or re-pulled base gets a new ID: rebuild on top of it
      hasCustom ? '' : `base-id=${(await imageId(base)) ?? 'absent'}`,
      `context=${await treeHash(context)}`,
      // the work volume's mount point is made in the image, owned by the runner user
      `workdir=${workDirPath(config.workdir)}`,
      `sudo=${config.sudo}`,
    ]);
    const current = await imageLabel(config.fleetImage, IMAGE_LABEL.hash);
    if (!options.force && current === hash) {
      await recordHash(config, hash);
      return { image: config.fleetImage, hash, built: false };
    }
    if (hasCustom) await buildCustomImage(config, customDockerfile, dir, options, reporter);
    reporter.info(`Building ${config.fleetImage} from ${base} …`);
    const previous = await imageId(config.fleetImage);
    const buildArgs = [
      '--build-arg',
      `BASE_IMAGE=${base}`,
      '--build-arg',
      `RUNNER_USER=${await runnerUser(base, hasCustom)}`,
      '--build-arg',
      `WORK_DIR=${workDirPath(config.workdir)}`,
      '--build-arg',
      `RUNNER_SUDO=${config.sudo}`,
    ];
    await dockerBuild(
      [...buildArgs, ...imageLabels(hash, config), '-t', config.fleetImage, ...(options.force ? ['--no-cache'] : []), context],
      'the runner image',
      fold(config.fleetImage, options),
    );
    await removeReplacedImage(previous, config.fleetImage);
    await recordHash(config, hash);
    reporter.info(`Built ${config.fleetImage} (${hash.slice(0, 12)})`);
    return { image: config.fleetImage, hash, built: true };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

async function buildCustomImage(config: Config, dockerfile: string, dir: string, options: ImageOptions, reporter: Reporter): Promise<void> {
  const force = options.force ?? false;
  const hash = await customInputsHash(dockerfile, dir);
  if (!force && (await imageLabel(config.customImage, IMAGE_LABEL.hash)) === hash) return;
  reporter.info(`Building your Dockerfile as ${config.customImage} …`);
  const previous = await imageId(config.customImage);
  const context = await stageBuildContext(dir, dockerfile, privateFilesOf(config));
  try {
    const staged = join(context, relative(dir, dockerfile));
    await dockerBuild(
      [...imageLabels(hash, config), '-t', config.customImage, '-f', staged, ...(force ? ['--no-cache'] : []), context],
      `your Dockerfile (${dockerfile})`,
      fold(config.customImage, options),
    );
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  await removeReplacedImage(previous, config.customImage);
}

function fold(image: string, options: ImageOptions): BuildOptions {
  return options.progress ? { fold: { image, progress: options.progress } } : {};
}

/** The files of the settings that hold secrets or the toolkit's state, by path: never in a build context. */
function privateFilesOf(config: Config): string[] {
  return [
    config.envFile,
    config.tokenCacheFile,
    config.imageHashFile,
    config.composeFile,
    ...(config.credential?.kind === 'app' ? [config.credential.privateKeyFile] : []),
  ];
}

/** The root Dockerfile and every file its COPY/ADD lines take from the context. */
async function customInputsHash(dockerfile: string, dir: string): Promise<string> {
  const text = await readFile(dockerfile, 'utf8');
  const parts = [`Dockerfile=${sha256(text)}`];
  for (const source of copiedSources(text)) {
    // a wildcard source: hash the directory it lives in
    const path = resolve(dir, source.includes('*') || source.includes('?') ? source.slice(0, source.search(/[*?]/)).replace(/[^/]*$/, '') || '.' : source);
    if (!path.startsWith(resolve(dir)) || !existsSync(path)) continue;
    parts.push(`${relative(dir, path)}=${await treeHash(path)}`);
  }
  return contentHash(parts);
}

/** Sources of COPY/ADD instructions (not --from= stage copies, not URLs). */
export function copiedSources(dockerfile: string): string[] {
  const joined = dockerfile.replace(/\\\r?\n/g, ' ');
  const sources: string[] = [];
  for (const line of joined.split('\n')) {
    const match = /^\s*(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!match) continue;
    const words = parseInstructionArgs(match[2]!);
    if (words.some((word) => word.startsWith('--from='))) continue;
    const operands = words.filter((word) => !word.startsWith('--'));
    sources.push(...operands.slice(0, -1).filter((source) => !/^[a-z]+:\/\//i.test(source)));
  }
  return sources;
}

function parseInstructionArgs(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as string[];
    } catch {
      // fall through to the shell form
    }
  }
  return trimmed.split(/\s+/).filter(Boolean);
}

async function treeHash(path: string): Promise<string> {
  const info = await stat(path);
  if (!info.isDirectory()) return sha256(Buffer.concat([Buffer.from(`${info.mode & 0o111 ? 'x' : '-'}`), await readFile(path)]));
  const entries = (await readdir(path)).sort();
  const parts: string[] = [];
  for (const entry of entries) parts.push(`${entry}:${await treeHash(join(path, entry))}`);
  return sha256(parts.join('\n'));
}

async function recordHash(config: Config, hash: string): Promise<void> {
  const record = `${JSON.stringify({ image: config.fleetImage, hash, recorded_at: new Date().toISOString() })}\n`;
  await writeFileAtomic(config.imageHashFile, record, { mode: 0o644 });
}

function contentHash(parts: string[]): string {
  return sha256(parts.join('\n'));
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The user the base image runs as: the runner's user. actions/runner refuses
 * root (run-helper.sh.template, config.sh), so a base whose USER is root or
 * unset is refused here, before any build.
 */
async function runnerUser(base: string, custom: boolean): Promise<string> {
  const user = ((await imageUser(base)) ?? '').split(':')[0] ?? '';
  if (user === '' || user === 'root' || user === '0') {
    const where = custom ? 'your Dockerfile' : `RUNNER_IMAGE=${base}`;
    throw new CliError(
      `${where} runs as root (its USER is ${user || 'unset'}), and actions/runner refuses to run as root: end ${custom ? 'your Dockerfile' : 'the image'} with USER runner (the official image's user), or use such an image`,
      ExitCode.config,
    );
  }
  return user;
}

/** The hash decides rebuilds; the project lets make purge find this scope's images. */
function imageLabels(hash: string, config: Config): string[] {
  return ['--label', `${IMAGE_LABEL.hash}=${hash}`, '--label', `${IMAGE_LABEL.project}=${config.projectName}`];
}

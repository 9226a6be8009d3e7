// The demo's ground: what it builds and how, offline, from the recipes the
// test ground uses too — a Debian base made with debootstrap when missing
// (standins/runner/base-image.sh; kept by tag, shared with the tests), then the
// runner simulator image under the demo's own tag (removed again at the end) —
// and the settings this Docker engine needs.
import { $, type ProcessPromise } from 'zx';
import type { Reporter } from '../core/reporter.ts';
import { shellEnv } from '../lib/docker/command.ts';
import { imageExists } from '../lib/docker/images.ts';
import { STANDIN_IMAGES } from '../core/constants.ts';
import { privilegedRootRefused } from '../lib/docker/engine.ts';
import { BASE_IMAGE_SCRIPT, SIM_BUILD_SCRIPT } from './paths.ts';

/** The simulator's base image, shared with the test ground (standins/runner/base-image.sh makes it). */
export const BASE_IMAGE = STANDIN_IMAGES.base;
/** The simulator image of the demo: its own tag, so removing it never touches the tests' image. */
export const DEMO_SIM_IMAGE = STANDIN_IMAGES.demoSimulator;

const TSX = import.meta.resolve('tsx');
/** The running build, so an interrupt can stop it (undefined once it has ended: zx's exitCode is a promise, not a state). */
let current: ProcessPromise | undefined;

export function stopBuild(): void {
  if (current) void current.kill('SIGTERM').catch(() => undefined);
}

async function step(what: string, command: string[], progress: Reporter): Promise<void> {
  const started = Date.now();
  const proc = $({ quiet: true, nothrow: true, env: shellEnv() })`${command}`;
  current = proc;
  // Progress: every line the builder prints (setup.sh prints one per phase; build.ts one summary).
  let pending = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('setup: ') || line.startsWith('> ')) progress.info(`  ${line.replace(/^setup: /, '')}`);
  });
  const result = await proc.finally(() => {
    if (current === proc) current = undefined;
  });
  if (result.exitCode !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${what} failed (exit ${result.exitCode ?? result.signal}):\n${tail}`);
  }
  progress.info(`  ${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * The base image (debootstrap, when missing; needs root and debootstrap) and
 * the simulator image. Progress goes to `progress`.
 */
export async function buildDemoImages(progress: Reporter, built: string[]): Promise<void> {
  const hadBase = await imageExists(BASE_IMAGE);
  const hadSim = await imageExists(DEMO_SIM_IMAGE);
  if (!hadBase) {
    progress.info(`Building the base image ${BASE_IMAGE} with debootstrap, as the test ground does (minutes; removed again at the end) …`);
    await step('base image', ['bash', BASE_IMAGE_SCRIPT, BASE_IMAGE], progress);
  } else {
    progress.info(`Base image ${BASE_IMAGE}: present.`);
  }
  progress.info(`Building the runner simulator image ${DEMO_SIM_IMAGE} …`);
  await step('simulator image', [process.execPath, '--import', TSX, SIM_BUILD_SCRIPT, '--base', BASE_IMAGE, '--tag', DEMO_SIM_IMAGE], progress);
  if (!hadBase && (await imageExists(BASE_IMAGE))) built.push(BASE_IMAGE);
  if (!hadSim && (await imageExists(DEMO_SIM_IMAGE))) built.push(DEMO_SIM_IMAGE);
}

/**
 * Where this engine cannot start a privileged container as root, the demo
 * fleets run with RUNNER_PRIVILEGED=false, as the e2e fleets do. On an ordinary host: none.
 */
export async function engineSettings(image: string): Promise<{ settings: string[]; note?: string }> {
  if (!(await privilegedRootRefused(image))) return { settings: [] };
  return {
    settings: ['RUNNER_PRIVILEGED=false'],
    note: 'this Docker engine cannot start privileged containers as root (its host lacks a capability): the demo fleets use RUNNER_PRIVILEGED=false',
  };
}

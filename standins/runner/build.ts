// Builds the runner simulator image (the simulator STANDS IN for actions/runner,
// which cannot be downloaded on these machines):
//   node --import tsx standins/runner/build.ts [--base IMAGE] [--tag IMAGE] [--force]
// Bundles the TypeScript sources with esbuild into one file, lays out a build
// context like ghcr.io/actions/actions-runner's /home/runner (with the host's
// node binary under externals/), and runs `docker build` — only when the
// content hash of its inputs differs from the image's label.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, version as esbuildVersion } from 'esbuild';
import { nodeScriptBundle } from '../../core/bundle.ts';
import { STANDIN_IMAGES } from '../../core/constants.ts';

const HASH_LABEL = 'runner-fleet-test.sim-hash';
const SIM_DIR = dirname(fileURLToPath(import.meta.url));

function docker(args: string[], quiet = true): { ok: boolean; out: string } {
  // DOCKER_BUILDKIT=0: the legacy builder, which needs no buildx plugin and no network.
  const env = { ...process.env, DOCKER_BUILDKIT: '0' };
  const res = spawnSync('docker', args, { encoding: 'utf8', env, stdio: quiet ? 'pipe' : 'inherit' });
  return { ok: res.status === 0, out: (res.stdout ?? '').trim() };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** The files outside standins/runner the bundle takes in (core/bundle.ts's options, core/constants.ts's names). */
const SHARED_INPUTS = ['../../core/bundle.ts', '../../core/constants.ts'].map((path) => fileURLToPath(new URL(path, import.meta.url)));

/** Everything that ends up in the image: sources, image files, node, the base image, esbuild. */
function inputsHash(baseImageId: string): string {
  const hash = createHash('sha256');
  for (const file of [...filesUnder(SIM_DIR), ...SHARED_INPUTS]) {
    hash
      .update(`${relative(SIM_DIR, file)}\0`)
      .update(readFileSync(file))
      .update('\0');
  }
  hash.update(readFileSync(process.execPath));
  hash.update(`${baseImageId}\0${esbuildVersion}`);
  return hash.digest('hex').slice(0, 16);
}

async function makeContext(dir: string): Promise<void> {
  const home = join(dir, 'home');
  mkdirSync(join(home, 'bin'), { recursive: true });
  mkdirSync(join(home, 'externals', 'node20', 'bin'), { recursive: true });
  await build(
    nodeScriptBundle(join(SIM_DIR, 'main.ts'), join(home, 'bin', 'sim.mjs'), {
      target: 'node20',
      comment: '// Runner simulator: STANDS IN for actions/runner. Generated from standins/runner by build.ts.',
    }),
  );
  for (const script of ['config.sh', 'run.sh', 'run-helper.sh.template', 'env.sh', 'safe_sleep.sh']) {
    copyFileSync(join(SIM_DIR, 'image', script), join(home, script));
    chmodSync(join(home, script), 0o755);
  }
  copyFileSync(process.execPath, join(home, 'externals', 'node20', 'bin', 'node'));
  chmodSync(join(home, 'externals', 'node20', 'bin', 'node'), 0o755);
  // The two executables of actions/runner, as names of the bundled node: a
  // process started through them has /proc/<pid>/comm Runner.Listener or
  // Runner.Worker, and its command line starts with that path.
  for (const exe of ['Runner.Listener', 'Runner.Worker']) symlinkSync('../externals/node20/bin/node', join(home, 'bin', exe));
  copyFileSync(join(SIM_DIR, 'image', 'Dockerfile'), join(dir, 'Dockerfile'));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      base: { type: 'string', default: STANDIN_IMAGES.base },
      tag: { type: 'string', default: STANDIN_IMAGES.simulator },
      force: { type: 'boolean', default: false },
    },
  });
  const base = docker(['image', 'inspect', '--format', '{{.Id}}', values.base]);
  if (!base.ok) {
    process.stderr.write(`base image ${values.base} is missing: run tests/e2e/setup.sh\n`);
    return 1;
  }
  const hash = inputsHash(base.out);
  const current = docker(['image', 'inspect', '--format', `{{index .Config.Labels "${HASH_LABEL}"}}`, values.tag]);
  if (!values.force && current.ok && current.out === hash) {
    console.log(`> cached (inputs ${hash})`);
    return 0;
  }
  console.log(`> built (inputs ${hash}${current.ok ? `, was ${current.out || 'unlabelled'}` : ''})`);

  const oldId = docker(['image', 'inspect', '--format', '{{.Id}}', values.tag]);
  const context = mkdtempSync(join(tmpdir(), 'runner-sim-context-'));
  try {
    await makeContext(context);
    const built = docker(
      ['build', '--quiet', '--build-arg', `BASE_IMAGE=${values.base}`, '--label', `${HASH_LABEL}=${hash}`, '-t', values.tag, context],
      false,
    );
    if (!built.ok) {
      process.stderr.write(`docker build of ${values.tag} failed\n`);
      return 1;
    }
    // The image the tag left behind would pile up with every source edit;
    // keep it only while a container still uses it (rm then fails, quietly).
    const fresh = docker(['image', 'inspect', '--format', '{{.Id}}', values.tag]);
    if (oldId.ok && oldId.out && fresh.out !== oldId.out) docker(['image', 'rm', oldId.out]);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return 0;
}

process.exitCode = await main();

// Where the demo finds the stand-ins and their image recipes, and the names it
// gives what it creates (so leftovers can be found by prefix).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BASE_IMAGE_SCRIPT = join(REPO_ROOT, 'standins/runner/base-image.sh');
export const SIM_BUILD_SCRIPT = join(REPO_ROOT, 'standins/runner/build.ts');

/** Every container, volume and compose project of the demo starts with this. */
export const DEMO_PREFIX = 'rf-demo-';
/** One demo at a time on a host: this file holds the running demo's pid (O_EXCL). */
export const DEMO_PID_FILE = '/tmp/gh-runner-fleet-demo.pid';
/** The demo's env files, compose files, lock directory: one temp dir, removed at the end. */
export const TEMP_DIR_PREFIX = join(tmpdir(), 'gh-runner-fleet-demo-');

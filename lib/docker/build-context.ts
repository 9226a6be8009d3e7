// The build context of a custom Dockerfile: the folder it sits in, as Docker
// would send it (the folder's .dockerignore applied), but never the files
// this toolkit keeps there — env files with the PAT, token caches, compose
// files, hash records, private keys, and the configured ENV_FILE, App key and
// token cache by path whatever their names — whatever the Dockerfile copies
// (`COPY . /ctx/`).
// Built from a staged copy, because the legacy builder offers no way to
// exclude files beyond the folder's own .dockerignore.
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Ignore } from '@balena/dockerignore';

// CommonJS (module.exports = factory), typed as a default export.
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as (options?: { ignorecase?: boolean }) => Ignore;

/** What never leaves the host in a build context (names as the toolkit writes them). */
export const NEVER_IN_CONTEXT = [
  '.env',
  '*.env',
  '.env.*',
  '.reg_token.cache*',
  '.image-hash*',
  'docker-compose.*.yml',
  'docker-compose.*.yaml',
  '*.pem',
  '*.key',
];

/**
 * Copies `dir` into a fresh temporary folder minus ignored and private files
 * (by name, and `privatePaths` by path: the settings' files, whatever they are
 * called); returns the folder (the caller removes it).
 */
export async function stageBuildContext(dir: string, dockerfile: string, privatePaths: string[] = []): Promise<string> {
  const privateFiles = new Set(privatePaths.map((path) => resolve(path)));
  const own = await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => '');
  const ignore = dockerignore({ ignorecase: false }).add(own.split(/\r?\n/)).add(NEVER_IN_CONTEXT);
  const privateName = dockerignore().add(NEVER_IN_CONTEXT);
  const staged = await mkdtemp(join(tmpdir(), 'gh-runner-fleet-context-'));
  const dockerfileName = relative(dir, dockerfile);
  await cp(dir, staged, {
    recursive: true,
    verbatimSymlinks: true, // a link is sent as a link, never followed out of the folder
    filter: (source) => {
      const path = relative(dir, source);
      if (path === '') return true;
      if (path === dockerfileName) return true; // Docker always sends the Dockerfile
      if (privateFiles.has(resolve(source))) return false;
      // private files are left out in every folder, not only at the top
      return !ignore.ignores(path) && !privateName.ignores(basename(path));
    },
  });
  return staged;
}

// How a node script is bundled to run inside an image: one ESM file with its
// dependencies in it (no node_modules there), for the image's own node. The
// wrapper (image/build.ts), the bench's contender and the runner stand-in use it.
import type { BuildOptions } from 'esbuild';
import { etcd3ProtosPlugin } from './bundle-etcd3.ts';

/** proper-lockfile and its dependencies are CommonJS: a require() for them in ESM. */
const REQUIRE_SHIM = "import { createRequire as __runnerFleetRequire } from 'node:module'; " + 'const require = __runnerFleetRequire(import.meta.url);';

/**
 * esbuild's options for bundling `entry` into `outfile`. `target` is the
 * oldest node that will run it (the runner image's base may bring node 18);
 * `comment` opens the file.
 */
export function nodeScriptBundle(entry: string, outfile: string, o: { target?: string; comment?: string } = {}): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: o.target ?? 'node18',
    logLevel: 'warning',
    // The lock's etcd client reads .proto files at import: put into the bundle instead (bundle-etcd3.ts).
    plugins: [etcd3ProtosPlugin],
    banner: { js: o.comment === undefined ? REQUIRE_SHIM : `${o.comment}\n${REQUIRE_SHIM}` },
  };
}

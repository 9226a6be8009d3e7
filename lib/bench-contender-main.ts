// Program entry of a bench contender (see bench-contender.ts): run by tsx in
// process mode, bundled by esbuild for the container mode.
import { contenderMain } from './bench-contender.ts';

await contenderMain(process.argv.slice(2));

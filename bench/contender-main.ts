// Program entry of a bench contender (see contender.ts): run by tsx in
// process mode, bundled by esbuild for the container mode.
import { contenderMain } from './contender.ts';

await contenderMain(process.argv.slice(2));

#!/usr/bin/env -S node --import tsx
// `make demo`: the whole fleet — two orgs, generic runners and one shared
// board — on this host, offline, with no ORG, no PAT and no board. GitHub and
// actions/runner are stand-ins (standins/); Docker is real. Removes everything
// it made when it ends, or on Ctrl-C.
//   ./scripts/demo.ts            live lines, summary table, occupancy picture
//   ./scripts/demo.ts --json     one JSON object on stdout at the end ({"jobs":[…], …})
//   ./scripts/demo.ts --keep     keep it all up until Ctrl-C, to look around (make list, make locks)
//   ./scripts/demo.ts --svg FILE where the occupancy picture goes (default <tmp>/gh-runner-fleet-demo.svg)
import { runDemo } from '../demo/run.ts';
import { runCli } from '../core/errors.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ json: { type: 'boolean' }, keep: { type: 'boolean' }, svg: { type: 'string' } });
  return runDemo({ json: values.json ?? false, keep: values.keep ?? false, ...(values.svg ? { svg: values.svg } : {}) });
});

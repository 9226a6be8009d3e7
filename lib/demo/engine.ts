// Settings this Docker engine needs, detected as the e2e tests do
// (tests/e2e/helpers.ts engineSettings): some engines cannot start a
// privileged container as root (runc "unable to apply caps" when the host's
// capability bounding set lacks one); there the fleets run with
// RUNNER_PRIVILEGED=false. On an ordinary host: none.
import { $ } from 'zx';

export async function engineSettings(image: string): Promise<{ settings: string[]; note?: string }> {
  const probe = await $({ quiet: true, nothrow: true })`docker run --rm --privileged --user 0 --network none --entrypoint true ${image}`;
  if (probe.exitCode === 0 || !/apply caps/.test(probe.stderr)) return { settings: [] };
  return {
    settings: ['RUNNER_PRIVILEGED=false'],
    note: 'this Docker engine cannot start privileged containers as root (its host lacks a capability): the demo fleets use RUNNER_PRIVILEGED=false',
  };
}

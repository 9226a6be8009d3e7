// Settings this Docker engine needs: where it cannot start a privileged
// container as root (lib/docker/engine.ts privilegedRootRefused), the demo fleets run
// with RUNNER_PRIVILEGED=false, as the e2e fleets do. On an ordinary host: none.
import { privilegedRootRefused } from '../docker/engine.ts';

export async function engineSettings(image: string): Promise<{ settings: string[]; note?: string }> {
  if (!(await privilegedRootRefused(image))) return { settings: [] };
  return {
    settings: ['RUNNER_PRIVILEGED=false'],
    note: 'this Docker engine cannot start privileged containers as root (its host lacks a capability): the demo fleets use RUNNER_PRIVILEGED=false',
  };
}

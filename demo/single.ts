// One demo at a time on a host: an O_EXCL pid file (core/pid-file.ts). A file
// left by a demo that died (its pid gone) is taken over.
import { takePidFile } from '../core/pid-file.ts';

/** Takes the pid file; returns its release. Throws one line when another demo runs. */
export function takeDemoLock(path: string): () => void {
  return takePidFile(path, { held: (pid) => `another make demo is running (pid ${pid}, ${path}): wait for it to end, or stop it with kill -INT ${pid}` });
}

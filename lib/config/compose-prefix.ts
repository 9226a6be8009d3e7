// The prefix an existing fleet was made with, read from its compose file: a
// fleet made before the default prefix changed keeps its names, and with them
// its containers, volumes and registrations. It is read here, while the
// configuration is loaded, because the prefix is part of the Config; the
// compose reader (lib/docker/compose-reader.ts) works from a loaded Config.
// The generated file carries the prefix label on every service, so one line
// is enough: a line match over the file's first MiB, no YAML parse, and a
// missing, broken or hand-edited file only means the default prefix.
import { readFile } from 'node:fs/promises';
import { LABEL } from '../docker/labels.ts';

const PREFIX_LINE = new RegExp(`${LABEL.prefix.replaceAll('.', '\\.')}:\\s*['"]?([A-Za-z0-9][A-Za-z0-9_.-]*-)['"]?\\s*$`, 'm');

/** The prefix label's value in the compose file's text; undefined when there is none. */
export function prefixInComposeText(text: string): string | undefined {
  return PREFIX_LINE.exec(text.slice(0, 1024 * 1024))?.[1];
}

/** The prefix label of the compose file at `path`; undefined when the file or the label is missing. */
export async function prefixInComposeFile(path: string): Promise<string | undefined> {
  return prefixInComposeText(await readFile(path, 'utf8').catch(() => ''));
}

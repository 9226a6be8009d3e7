// Where a library function's progress lines and warnings go. Readers return
// data and never print; the functions that do act report through one of these,
// so a script prints to the terminal, the demo prefixes each line with its
// org, and a test collects them.

export interface Reporter {
  /** One line of progress: "acme-runner-1: started". */
  info(line: string): void;
  /** One line that needs the user's attention but does not stop the command. */
  warn(line: string): void;
}

/** The terminal: progress on stdout, warnings on stderr as `warning: …`. */
export const stdio: Reporter = {
  info: (line) => process.stdout.write(`${line}\n`),
  warn: (line) => process.stderr.write(`warning: ${line}\n`),
};

/** Says nothing: for callers that only want the result. */
export const silent: Reporter = { info: () => undefined, warn: () => undefined };

/** Every line goes to one function (warnings marked `warning: `): a log file, the demo's narration. */
export function toLines(write: (line: string) => void): Reporter {
  return { info: write, warn: (line) => write(`warning: ${line}`) };
}

/** The same reporter, each line prefixed: `prefixed(stdio, 'acme: ')`. */
export function prefixed(reporter: Reporter, prefix: string): Reporter {
  return { info: (line) => reporter.info(`${prefix}${line}`), warn: (line) => reporter.warn(`${prefix}${line}`) };
}

/** Collects the lines, for tests and for reports assembled before printing. */
export function collecting(): Reporter & { lines: string[]; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  return { lines, warnings, info: (line) => lines.push(line), warn: (line) => warnings.push(line) };
}

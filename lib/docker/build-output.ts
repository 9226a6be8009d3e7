// Reading `docker build` output, line by line, for either builder: the step a
// line starts (BuildKit's plain progress `#6 [2/5] COPY …`, the legacy
// builder's `Step 2/5 : COPY …`), the legacy builder's deprecation banner (the
// CLI prints it to stderr on every legacy build from Docker 23), and the line
// that says why a failed build failed.

export type Builder = 'buildkit' | 'legacy';

export interface BuildStep {
  /** A named stage of a multi-stage build (BuildKit names it; the legacy builder counts steps across stages). */
  stage?: string;
  index: number;
  total: number;
  /** The Dockerfile instruction, as the builder prints it. */
  instruction: string;
}

const BUILDKIT_STEP = /^#\d+ \[(?:(\S+) )?(\d+)\/(\d+)\] (.*)$/;
const LEGACY_STEP = /^Step (\d+)\/(\d+) : (.*)$/;

/** The step a line of either builder's log starts, or undefined for any other line. */
export function parseStep(line: string): BuildStep | undefined {
  const kit = BUILDKIT_STEP.exec(line);
  if (kit) return { ...(kit[1] ? { stage: kit[1] } : {}), index: Number(kit[2]), total: Number(kit[3]), instruction: kit[4]!.trim() };
  const legacy = LEGACY_STEP.exec(line);
  if (legacy) return { index: Number(legacy[1]), total: Number(legacy[2]), instruction: legacy[3]!.trim() };
  return undefined;
}

const INSTRUCTION_WIDTH = 60;

/** The one short line a step becomes: `building IMAGE … step 3/5: RUN chmod 755 …`. */
export function progressLine(image: string, step: BuildStep): string {
  const instruction = step.instruction.replace(/\s+/g, ' ');
  const short = instruction.length > INSTRUCTION_WIDTH ? `${instruction.slice(0, INSTRUCTION_WIDTH - 1)}…` : instruction;
  return `building ${image} … step ${step.stage ? `${step.stage} ` : ''}${step.index}/${step.total}: ${short}`;
}

/**
 * A line filter that drops the CLI's legacy-builder banner: the
 * `DEPRECATED: The legacy builder is deprecated …` headline, its indented
 * lines (install buildx / BuildKit is disabled, the docs link) and the blank
 * line after them. Returns whether to keep each line; keeps state between calls.
 */
export function bannerFilter(): (line: string) => boolean {
  let state: 'outside' | 'banner' | 'after' = 'outside';
  return (line) => {
    if (/^DEPRECATED: The legacy builder is deprecated\b/.test(line)) {
      state = 'banner';
      return false;
    }
    if (state === 'banner' && /^\s+\S/.test(line)) return false;
    if (state !== 'outside' && line.trim() === '') {
      state = 'outside';
      return false;
    }
    state = 'outside';
    return true;
  };
}

/**
 * Why a build failed, in one line, from its log: BuildKit's last `ERROR: …`
 * line, or the legacy builder's `The command '…' returned a non-zero code: N`
 * (or its last `error …` line).
 */
export function failureReason(log: string): string | undefined {
  const lines = log.split('\n').map((line) => line.trim());
  const last = (pattern: RegExp): string | undefined => lines.filter((line) => pattern.test(line)).at(-1);
  const reason = last(/^ERROR:/) ?? last(/^The command .* returned a non-zero code/) ?? last(/^(error|unable to prepare context)\b/i);
  const plain = reason?.replace(/^ERROR:\s*/, '');
  return plain === undefined ? undefined : plain.length > 240 ? `${plain.slice(0, 239)}…` : plain;
}

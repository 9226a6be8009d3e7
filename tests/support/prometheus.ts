// /metrics read as Prometheus reads it: the text exposition format parsed by
// parse-prometheus-text-format (never matched with a regex), then samples
// looked up by name and exact labels.
//
// One workaround: the parser folds a histogram family into a single sample
// (its flattenMetrics keys buckets by `le` alone and drops _sum and _count
// lines that have other labels), so a histogram with labels comes out as one
// bucket set of whichever label set came last. Its TYPE line is therefore
// given to the parser as untyped: each series (`_bucket`, `_sum`, `_count`)
// is then parsed as a family of its own with all its labels, and the type is
// kept from the TYPE line. The per-sample syntax (names, labels, escapes,
// values) is still the parser's alone.
import parsePrometheusTextFormat, { type PrometheusFamily, type PrometheusSample } from 'parse-prometheus-text-format';

export interface Families {
  /** Families by name; a histogram `h` as `h_bucket`, `h_sum` and `h_count`. */
  byName: Map<string, PrometheusFamily>;
  /** Each family's TYPE line (counter, gauge, histogram, …). */
  types: Map<string, string>;
}

export function parseMetrics(text: string): Families {
  const types = new Map<string, string>();
  const untyped = text.replace(/^# TYPE (\S+) (\S+)$/gm, (line, name: string, type: string) => {
    types.set(name, type);
    return type === 'histogram' || type === 'summary' ? `# TYPE ${name} untyped` : line;
  });
  // A histogram's series interleave (buckets, sum and count of one label set, then the next): the parser then
  // returns a family per run of lines, several of one name, which are one family.
  const byName = new Map<string, PrometheusFamily>();
  for (const family of parsePrometheusTextFormat(untyped)) {
    const seen = byName.get(family.name);
    if (seen) seen.metrics.push(...family.metrics);
    else byName.set(family.name, family);
  }
  return { byName, types };
}

export async function scrape(url: string): Promise<Families> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
  return parseMetrics(await response.text());
}

const sameLabels = (a: Record<string, string> | undefined, b: Record<string, string>): boolean => {
  const x = a ?? {};
  return Object.keys(x).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => x[k] === v);
};

/** The sample of `name` with exactly these labels, or undefined. */
export function sampleOf(families: Families, name: string, labels: Record<string, string> = {}): PrometheusSample | undefined {
  return families.byName.get(name)?.metrics.find((m) => sameLabels(m.labels, labels));
}

/** A counter's or gauge's value with exactly these labels (0 when absent). */
export function valueOf(families: Families, name: string, labels: Record<string, string> = {}): number {
  return Number(sampleOf(families, name, labels)?.value ?? 0);
}

/** Sum of a counter or gauge over the samples whose labels include `match`. */
export function sumOf(families: Families, name: string, match: Record<string, string> = {}): number {
  return (families.byName.get(name)?.metrics ?? [])
    .filter((m) => Object.entries(match).every(([k, v]) => m.labels?.[k] === v))
    .reduce((n, m) => n + Number(m.value ?? 0), 0);
}

/** A histogram's number of observations with exactly these labels (0 when absent). */
export function countOf(families: Families, name: string, labels: Record<string, string>): number {
  return valueOf(families, `${name}_count`, labels);
}

/** A histogram's cumulative count at bucket `le`. */
export function bucketOf(families: Families, name: string, labels: Record<string, string>, le: string): number {
  return valueOf(families, `${name}_bucket`, { ...labels, le });
}

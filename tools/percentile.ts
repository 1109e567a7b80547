/**
 * The p-th percentile of `values` by nearest rank: the smallest value with at least p% of the
 * values at or below it (p50 of 1..10 is 5, p99 of 100 values is the 99th). The benchmark and
 * the abuse test both report with this one, so their figures in docs/benchmarks.md agree.
 * NaN for no values.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

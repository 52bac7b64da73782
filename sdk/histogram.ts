/** A histogram a VNF observes values into (ctx.histogram): per-core
 *  counts by upper bound, plus their sum and count, in one Float64Array the
 *  host publishes (vnfrun top, --metrics as a Prometheus histogram, the
 *  summary). Layout: [bucket counts (bounds.length + 1, the last +Inf),
 *  sum, count]. observe() allocates nothing. */
export class Histogram {
  readonly bounds: Float64Array;
  constructor(bounds: readonly number[], readonly values: Float64Array = new Float64Array(bounds.length + 3)) {
    checkBounds(bounds);
    this.bounds = Float64Array.from(bounds);
  }

  observe(v: number): void {
    const b = this.bounds, n = b.length;
    let i = 0;
    while (i < n && v > b[i]) i++;
    this.values[i]++;
    this.values[n + 1] += v;
    this.values[n + 2]++;
  }

  get count(): number { return this.values[this.bounds.length + 2]; }
  get sum(): number { return this.values[this.bounds.length + 1]; }
}

/** Bounds must be finite and rising (one-line error otherwise). */
export function checkBounds(bounds: readonly number[]): void {
  if (!Array.isArray(bounds) || bounds.length === 0 || bounds.length > 64)
    throw new Error("ctx.histogram: give 1 to 64 upper bounds, e.g. [64, 128, 256, 512, 1024, 1518]");
  for (let i = 0; i < bounds.length; i++)
    if (!Number.isFinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
      throw new Error(`ctx.histogram: bounds must be finite and rising, got ${bounds.join(", ")}`);
}

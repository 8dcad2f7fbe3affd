/**
 * Streaming statistics for per-endpoint baselines: EWMA mean/variance with z-scores, and a fixed-bucket
 * log-scale latency histogram for rolling percentiles. O(1) memory per series.
 */

/**
 * Exponentially weighted moving mean and variance (West 1979 / Finch 2009 incremental form):
 * `μ ← μ + λ(x − μ)`, `σ² ← (1 − λ)(σ² + λ(x − μ_prev)²)`. With λ = 0.1 the effective memory is about
 * 2/λ − 1 = 19 samples (NIST/SEMATECH e-Handbook §6.3.2.4).
 */
export class Ewma {
  mean = 0;
  variance = 0;
  /** Samples seen. */
  n = 0;

  /** Standard deviation (√variance). */
  get std(): number {
    return Math.sqrt(this.variance);
  }

  /** z-score of `x` against the current baseline, with `minStd` as the floor of σ (avoids dividing by ~0 on flat series). */
  z(x: number, minStd: number): number {
    if (this.n === 0) return 0;
    return (x - this.mean) / Math.max(this.std, minStd);
  }

  /** Adds a sample with weight λ (the first sample initialises the mean). */
  update(x: number, lambda: number): void {
    if (this.n === 0) {
      this.mean = x;
      this.variance = 0;
    } else {
      const d = x - this.mean;
      this.mean += lambda * d;
      this.variance = (1 - lambda) * (this.variance + lambda * d * d);
    }
    this.n++;
  }

  toJSON(): { mean: number; std: number; n: number } {
    return { mean: round(this.mean), std: round(this.std), n: this.n };
  }
}

/** Latency histogram bucket bounds: geometric with ratio 2^(1/4) from 0.05 ms to ~60 s (82 buckets). */
const BASE_MS = 0.05;
const RATIO_LOG = Math.log(2) / 4;
/** Number of buckets; the last one also holds everything above ~60 s. */
export const BUCKETS = 82;

function bucketOf(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  const b = Math.floor(Math.log(ms / BASE_MS) / RATIO_LOG) + 1;
  return b >= BUCKETS ? BUCKETS - 1 : b;
}

/** Representative value of a bucket: the geometric middle of its bounds (relative error ≤ 2^(1/8) − 1 ≈ 9 %). */
function bucketValue(b: number): number {
  if (b === 0) return BASE_MS;
  return BASE_MS * Math.exp((b - 0.5) * RATIO_LOG);
}

/**
 * Rolling latency percentiles over a sliding window made of two half-windows: the current and the previous
 * half-window's histograms are summed, so a percentile covers the last `window/2`–`window` of traffic.
 * Memory: 2 × 82 uint32 counters (656 bytes) per endpoint, whatever the traffic.
 */
export class RollingHistogram {
  private cur = new Uint32Array(BUCKETS);
  private prev = new Uint32Array(BUCKETS);
  private start: number;
  private readonly half: number;

  /** @param windowMs - the full window, ms; @param now - start time, ms. */
  constructor(windowMs: number, now: number) {
    this.half = Math.max(1, windowMs / 2);
    this.start = now;
  }

  private roll(now: number): void {
    if (now - this.start < this.half) return;
    if (now - this.start < 2 * this.half) {
      const t = this.prev;
      this.prev = this.cur;
      this.cur = t;
      this.cur.fill(0);
      this.start += this.half;
    } else {
      this.prev.fill(0);
      this.cur.fill(0);
      this.start = now;
    }
  }

  /** Records one latency in ms. */
  add(ms: number, now: number): void {
    this.roll(now);
    this.cur[bucketOf(ms)]!++;
  }

  /** Samples in the window. */
  count(now: number): number {
    this.roll(now);
    let n = 0;
    for (let i = 0; i < BUCKETS; i++) n += this.cur[i]! + this.prev[i]!;
    return n;
  }

  /** Percentile `q` in (0, 1] of the window, ms (undefined when empty). */
  percentile(q: number, now: number): number | undefined {
    const n = this.count(now);
    if (n === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * n));
    let acc = 0;
    for (let i = 0; i < BUCKETS; i++) {
      acc += this.cur[i]! + this.prev[i]!;
      if (acc >= rank) return round(bucketValue(i));
    }
    return round(bucketValue(BUCKETS - 1));
  }
}

/** Rounds to 3 decimals for display. */
export function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Confusion-matrix figures for detection evaluation. Detection rate (TPR, recall) = TP / (TP + FN);
 * false-positive rate = FP / (FP + TN); F1 = 2·TP / (2·TP + FP + FN) (harmonic mean of precision and recall).
 * A ratio with an empty denominator is 0.
 */
export interface Confusion {
  tp: number;
  fn: number;
  fp: number;
  tn: number;
}

/** {@link Confusion} plus the derived rates, the shape printed by `bulwark eval --json`. */
export interface Rates extends Confusion {
  tpr: number;
  fpr: number;
  f1: number;
}

/** An empty matrix. */
export function emptyConfusion(): Confusion {
  return { tp: 0, fn: 0, fp: 0, tn: 0 };
}

/** Adds one outcome: `attack` is the label, `detected` the verdict. */
export function record(c: Confusion, attack: boolean, detected: boolean): void {
  if (attack) {
    if (detected) c.tp++;
    else c.fn++;
  } else if (detected) c.fp++;
  else c.tn++;
}

/** Derives TPR, FPR and F1 (rounded to 6 decimals). */
export function rates(c: Confusion): Rates {
  const r = (x: number) => Math.round(x * 1e6) / 1e6;
  const tpr = c.tp + c.fn ? c.tp / (c.tp + c.fn) : 0;
  const fpr = c.fp + c.tn ? c.fp / (c.fp + c.tn) : 0;
  const f1 = 2 * c.tp + c.fp + c.fn ? (2 * c.tp) / (2 * c.tp + c.fp + c.fn) : 0;
  return { tp: c.tp, fn: c.fn, fp: c.fp, tn: c.tn, tpr: r(tpr), fpr: r(fpr), f1: r(f1) };
}

/** The p-th percentile (0–100, nearest-rank) of a sample; 0 for an empty sample. Sorts a copy. */
export function percentile(values: readonly number[] | Float64Array, p: number): number {
  if (values.length === 0) return 0;
  const s = Float64Array.from(values).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

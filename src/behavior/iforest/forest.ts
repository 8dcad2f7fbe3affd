/**
 * Isolation Forest (Liu, Ting & Zhou, "Isolation Forest", ICDM 2008; extended in ACM TKDD 2012).
 *
 * Anomalies are few and different, so random axis-parallel splits isolate them in fewer steps. Each tree is
 * built on a random subsample of ψ points (default 256) up to the height limit ⌈log2 ψ⌉; a point's path
 * length h(x) is the depth of the leaf it reaches plus c(size) for the points left unisolated there. The
 * anomaly score is s(x) = 2^(−E[h(x)] / c(ψ)) where c(n) = 2H(n−1) − 2(n−1)/n is the average path length of
 * an unsuccessful BST search (H(i) ≈ ln i + γ). s → 1: anomaly; s ≪ 0.5: normal; all ≈ 0.5: no distinct anomaly.
 *
 * Attribution (which features made x anomalous): each split on x's path in tree t credits its feature with
 * (1 / h_t(x)) · (1 − |child| / |node|), i.e. more when x is isolated in few splits and when the split cut x
 * away from most of the node's training points; credits are summed over the trees and normalised to 1. This is
 * a simplified form of DIFFI (Carletti, Terzi & Susto, "Interpretable Anomaly Detection with DIFFI",
 * Engineering Applications of AI, 2023): its induced-imbalance weighting, without its inlier normalisation.
 */

const EULER_GAMMA = 0.5772156649015329;

/** Average path length of an unsuccessful search in a BST of n points: c(n) (paper eq. 1). */
export function cFactor(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** Deterministic PRNG (mulberry32): reproducible forests for tests and audits. Returns a function in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One isolation tree in flat arrays: node i is a leaf when `feature[i] === -1`. */
interface Tree {
  feature: Int16Array;
  split: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Node size (training points reaching it). */
  size: Int32Array;
  /** c(size) of each leaf, precomputed (the path-length adjustment for points left unisolated). */
  adj: Float64Array;
}

/** Training options. */
export interface ForestOptions {
  /** Number of trees t (paper: 100). */
  trees: number;
  /** Subsample size ψ (paper: 256). */
  sampleSize: number;
  /** PRNG seed. */
  seed: number;
}

/** Per-feature attribution of one score. */
export interface Attribution {
  feature: number;
  /** Share of the isolation credit, in [0, 1]; shares sum to 1. */
  share: number;
}

function buildTree(data: readonly ArrayLike<number>[], idx: Int32Array, dims: number, limit: number, rnd: () => number): Tree {
  const maxNodes = 2 * idx.length + 1;
  const feature = new Int16Array(maxNodes).fill(-1);
  const split = new Float64Array(maxNodes);
  const left = new Int32Array(maxNodes);
  const right = new Int32Array(maxNodes);
  const size = new Int32Array(maxNodes);
  let next = 0;
  const mins = new Float64Array(dims);
  const maxs = new Float64Array(dims);
  // explicit stack of [node, from, to, depth] over a shared index array partitioned in place
  const stack: number[] = [];
  const root = next++;
  stack.push(root, 0, idx.length, 0);
  while (stack.length > 0) {
    const depth = stack.pop()!;
    const to = stack.pop()!;
    const from = stack.pop()!;
    const node = stack.pop()!;
    const n = to - from;
    size[node] = n;
    if (n <= 1 || depth >= limit) continue;
    mins.fill(Infinity);
    maxs.fill(-Infinity);
    for (let i = from; i < to; i++) {
      const x = data[idx[i]!]!;
      for (let f = 0; f < dims; f++) {
        const v = x[f]!;
        if (v < mins[f]!) mins[f] = v;
        if (v > maxs[f]!) maxs[f] = v;
      }
    }
    // choose uniformly among features that can still split
    let candidates = 0;
    for (let f = 0; f < dims; f++) if (maxs[f]! > mins[f]!) candidates++;
    if (candidates === 0) continue;
    let pick = Math.floor(rnd() * candidates);
    let f = 0;
    for (; f < dims; f++) if (maxs[f]! > mins[f]! && pick-- === 0) break;
    const p = mins[f]! + rnd() * (maxs[f]! - mins[f]!);
    let i = from;
    let j = to - 1;
    while (i <= j) {
      if (data[idx[i]!]![f]! < p) i++;
      else {
        const t = idx[i]!;
        idx[i] = idx[j]!;
        idx[j] = t;
        j--;
      }
    }
    const l = next++;
    const r = next++;
    feature[node] = f;
    split[node] = p;
    left[node] = l;
    right[node] = r;
    stack.push(l, from, i, depth + 1);
    stack.push(r, i, to, depth + 1);
  }
  const adj = new Float64Array(next);
  for (let i = 0; i < next; i++) if (feature[i] === -1) adj[i] = cFactor(size[i]!);
  return { feature: feature.slice(0, next), split: split.slice(0, next), left: left.slice(0, next), right: right.slice(0, next), size: size.slice(0, next), adj };
}

function validate(data: readonly ArrayLike<number>[]): void {
  if (data.length === 0) throw new RangeError('IsolationForest needs at least one training vector');
  const dims = data[0]!.length;
  for (const x of data) if (x.length !== dims) throw new RangeError('IsolationForest training vectors must have the same length');
}

/**
 * A trained Isolation Forest over fixed-length numeric vectors. Scoring costs O(t · log ψ) comparisons
 * (about 800 for the defaults) and allocates nothing.
 */
export class IsolationForest {
  readonly dims: number;
  readonly psi: number;
  private readonly trees: Tree[];
  private readonly c: number;
  /** Mean and standard deviation of each feature in the training data (for explanations). */
  readonly featureMean: Float64Array;
  readonly featureStd: Float64Array;
  /** Training vectors used. */
  readonly trainedOn: number;

  private constructor(trees: Tree[], dims: number, psi: number, mean: Float64Array, std: Float64Array, n: number) {
    this.trees = trees;
    this.dims = dims;
    this.psi = psi;
    this.c = cFactor(psi);
    this.featureMean = mean;
    this.featureStd = std;
    this.trainedOn = n;
  }

  /**
   * Trains a forest, yielding to the event loop between chunks of trees when `yieldEvery` is set (so training
   * never blocks request handling for more than one chunk, ~1 ms for 10 trees of ψ = 256).
   * @param data - training vectors (all of length `dims`).
   * @throws {RangeError} when `data` is empty or vectors have different lengths.
   */
  static async trainAsync(data: readonly ArrayLike<number>[], opts: ForestOptions, yieldEvery = 10): Promise<IsolationForest> {
    return IsolationForest.build(data, opts, yieldEvery);
  }

  /** Trains synchronously (tests, offline tools). @throws {RangeError} as {@link IsolationForest.trainAsync}. */
  static train(data: readonly ArrayLike<number>[], opts: ForestOptions): IsolationForest {
    validate(data);
    let out: IsolationForest | undefined;
    void IsolationForest.build(data, opts, 0, (f) => (out = f));
    return out!;
  }

  private static async build(data: readonly ArrayLike<number>[], opts: ForestOptions, yieldEvery: number, done?: (f: IsolationForest) => void): Promise<IsolationForest> {
    validate(data);
    const dims = data[0]!.length;
    const rnd = mulberry32(opts.seed);
    const psi = Math.min(opts.sampleSize, data.length);
    const limit = Math.ceil(Math.log2(Math.max(2, psi)));
    const trees: Tree[] = [];
    for (let t = 0; t < opts.trees; t++) {
      // subsample without replacement (partial Fisher–Yates)
      const pool = new Int32Array(data.length);
      for (let i = 0; i < pool.length; i++) pool[i] = i;
      for (let i = 0; i < psi; i++) {
        const j = i + Math.floor(rnd() * (pool.length - i));
        const tmp = pool[i]!;
        pool[i] = pool[j]!;
        pool[j] = tmp;
      }
      trees.push(buildTree(data, pool.slice(0, psi), dims, limit, rnd));
      if (yieldEvery > 0 && (t + 1) % yieldEvery === 0) await new Promise<void>((r) => setImmediate(r));
    }
    const mean = new Float64Array(dims);
    const m2 = new Float64Array(dims);
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      for (let f = 0; f < dims; f++) {
        const d = x[f]! - mean[f]!;
        mean[f]! += d / (i + 1);
        m2[f]! += d * (x[f]! - mean[f]!);
      }
    }
    const std = m2.map((v) => Math.sqrt(v / Math.max(1, data.length - 1)));
    const f = new IsolationForest(trees, dims, psi, mean, std, data.length);
    done?.(f);
    return f;
  }

  private pathLength(tree: Tree, x: ArrayLike<number>, credit?: Float64Array): number {
    let node = 0;
    let depth = 0;
    const feat = tree.feature;
    while (feat[node]! !== -1) {
      node = x[feat[node]!]! < tree.split[node]! ? tree.left[node]! : tree.right[node]!;
      depth++;
    }
    const h = depth + tree.adj[node]!;
    if (credit !== undefined && depth > 0) {
      // second walk: credit each split's feature with (1/h) × the share of the node's points it separated
      // from x (1 − |child| / |node|): splits that cut x away from most points isolate it
      let n = 0;
      const w = 1 / Math.max(h, 1);
      while (feat[n]! !== -1) {
        const next = x[feat[n]!]! < tree.split[n]! ? tree.left[n]! : tree.right[n]!;
        const sn = tree.size[n]!;
        credit[feat[n]!]! += w * (sn > 0 ? 1 - tree.size[next]! / sn : 0);
        n = next;
      }
    }
    return h;
  }

  /** Mean path length E[h(x)] over the trees (hot path: no allocation, no function call per tree). */
  meanPathLength(x: ArrayLike<number>): number {
    let sum = 0;
    const trees = this.trees;
    for (let k = 0; k < trees.length; k++) {
      const t = trees[k]!;
      const feat = t.feature;
      const split = t.split;
      const left = t.left;
      const right = t.right;
      let node = 0;
      let depth = 0;
      let f = feat[0]!;
      while (f !== -1) {
        node = x[f]! < split[node]! ? left[node]! : right[node]!;
        f = feat[node]!;
        depth++;
      }
      sum += depth + t.adj[node]!;
    }
    return sum / trees.length;
  }

  /** Anomaly score s(x) = 2^(−E[h(x)] / c(ψ)) in (0, 1]. */
  score(x: ArrayLike<number>): number {
    if (this.c === 0) return 0.5;
    return Math.pow(2, -this.meanPathLength(x) / this.c);
  }

  /** Score and per-feature attribution (descending share), see the module comment for the method. */
  explain(x: ArrayLike<number>): { score: number; attributions: Attribution[] } {
    const credit = new Float64Array(this.dims);
    let sum = 0;
    for (const t of this.trees) sum += this.pathLength(t, x, credit);
    const total = credit.reduce((a, b) => a + b, 0) || 1;
    const attributions: Attribution[] = [];
    for (let f = 0; f < this.dims; f++) attributions.push({ feature: f, share: credit[f]! / total });
    attributions.sort((a, b) => b.share - a.share);
    const score = this.c === 0 ? 0.5 : Math.pow(2, -(sum / this.trees.length) / this.c);
    return { score, attributions };
  }
}

/**
 * Line diff for policy versions: Myers' O((N+M)·D) shortest edit script (E. W. Myers, "An O(ND) Difference
 * Algorithm and Its Variations", Algorithmica 1986), rendered as a unified diff with 3 lines of context (the
 * `diff -u` format). The edit distance is capped (`maxD`): past it the diff degrades to "remove all, add all",
 * so a hostile 1 MiB policy cannot make the diff quadratic.
 */

/** One edit-script line: ' ' kept, '-' removed from `a`, '+' added from `b`. */
interface Op {
  t: ' ' | '-' | '+';
  line: string;
}

function editScript(a: readonly string[], b: readonly string[], maxD: number): Op[] {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxD);
  const off = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    const nv = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) (x++, y++);
      nv[off + k] = x;
      if (x >= n && y >= m) {
        trace.push(nv);
        return backtrack(trace, a, b, off, d);
      }
    }
    v = nv;
  }
  return [...a.map((line) => ({ t: '-' as const, line })), ...b.map((line) => ({ t: '+' as const, line }))];
}

function backtrack(trace: Int32Array[], a: readonly string[], b: readonly string[], off: number, dEnd: number): Op[] {
  const ops: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = dEnd; d >= 0; d--) {
    const v = trace[d]!; // state before step d
    const k = x - y;
    let prevK: number;
    if (d === 0) prevK = 0;
    else prevK = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : v[off + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      ops.push({ t: ' ', line: a[x]! });
    }
    if (d > 0) {
      if (x === prevX) ops.push({ t: '+', line: b[--y]! });
      else ops.push({ t: '-', line: a[--x]! });
    }
  }
  return ops.reverse();
}

/** Result of {@link lineDiff}. */
export interface LineDiff {
  /** Unified diff text (empty when equal). */
  text: string;
  added: number;
  removed: number;
}

/**
 * Unified line diff of two texts.
 * @param maxD - edit distance cap (default 1,000 changed lines; memory O(maxD²) ints ≤ 8 MB).
 */
export function lineDiff(before: string, after: string, labels: [string, string] = ['a', 'b'], maxD = 1000): LineDiff {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  const ops = editScript(a, b, maxD);
  let added = 0;
  let removed = 0;
  for (const o of ops) {
    if (o.t === '+') added++;
    else if (o.t === '-') removed++;
  }
  if (added === 0 && removed === 0) return { text: '', added, removed };
  const ctx = 3;
  const out: string[] = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  let i = 0;
  // Positions in a/b before each op, to print hunk headers.
  const posA: number[] = [];
  const posB: number[] = [];
  let pa = 0;
  let pb = 0;
  for (const o of ops) {
    posA.push(pa);
    posB.push(pb);
    if (o.t !== '+') pa++;
    if (o.t !== '-') pb++;
  }
  while (i < ops.length) {
    if (ops[i]!.t === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - ctx);
    let end = i;
    // Extend the hunk while changes are within 2·ctx kept lines of each other.
    for (;;) {
      while (end < ops.length && ops[end]!.t !== ' ') end++;
      let k = end;
      while (k < ops.length && ops[k]!.t === ' ' && k - end < 2 * ctx) k++;
      if (k < ops.length && ops[k]!.t !== ' ') end = k;
      else break;
    }
    const stop = Math.min(ops.length, end + ctx);
    let la = 0;
    let lb = 0;
    for (let j = start; j < stop; j++) {
      if (ops[j]!.t !== '+') la++;
      if (ops[j]!.t !== '-') lb++;
    }
    out.push(`@@ -${posA[start]! + (la ? 1 : 0)},${la} +${posB[start]! + (lb ? 1 : 0)},${lb} @@`);
    for (let j = start; j < stop; j++) out.push(ops[j]!.t + ops[j]!.line);
    i = stop;
  }
  return { text: out.join('\n') + '\n', added, removed };
}

/**
 * A topological order of nodes given each node's dependencies (indices of nodes it must follow).
 * The given order when it already is one (the common case, checked in one pass); otherwise
 * Kahn's algorithm taking the lowest ready index first, so the result is deterministic and
 * stays close to the given order. On a cycle, `onCycle(node, dependency)` names a node on it.
 */
export function orderNodes(deps: readonly number[][], onCycle: (node: number, dep: number) => never): number[] {
  const n = deps.length;
  const identity = (): number[] => Array.from({ length: n }, (_, i) => i);
  if (deps.every((ds, i) => ds.every((d) => d < i))) return identity();

  const indeg = new Int32Array(n);
  const users: number[][] = Array.from({ length: n }, () => []);
  deps.forEach((ds, i) => {
    for (const d of new Set(ds)) {
      indeg[i]!++;
      users[d]!.push(i);
    }
  });
  const heap = new MinHeap();
  for (let i = 0; i < n; i++) if (indeg[i] === 0) heap.push(i);
  const out: number[] = [];
  while (heap.size) {
    const i = heap.pop();
    out.push(i);
    for (const u of users[i]!) if (--indeg[u]! === 0) heap.push(u);
  }
  if (out.length < n) {
    const stuck = indeg.findIndex((c) => c > 0);
    const dep = deps[stuck]!.find((d) => indeg[d]! > 0) ?? stuck;
    onCycle(stuck, dep);
  }
  return out;
}

class MinHeap {
  private a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

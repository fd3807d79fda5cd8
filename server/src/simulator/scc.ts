// Strongly connected components by Tarjan's algorithm, iterative (a state graph has some
// 10^5 states: no recursion): the CFG's loops (loops.ts) and the liveness search's fair
// cycles (liveness.ts).

/** Nodes 0..n-1; node v's edges go to edge(v, 0) .. edge(v, degree(v) - 1). */
export interface Digraph {
	n: number;
	degree(v: number): number;
	edge(v: number, i: number): number;
	/** Nodes left out, and the edges into them (default: none). */
	excluded?(v: number): boolean;
}

/** Each node's component (-1 for excluded nodes), numbered in the order Tarjan closes them, and their count. */
export function stronglyConnected(g: Digraph): { comp: Int32Array; count: number } {
	const { n } = g;
	const out = (v: number) => g.excluded?.(v) ?? false;
	const index = new Int32Array(n).fill(-1);
	const low = new Int32Array(n);
	const comp = new Int32Array(n).fill(-1);
	const onStack = new Uint8Array(n);
	const stack: number[] = [];
	let next = 0;
	let count = 0;
	for (let root = 0; root < n; root++) {
		if (index[root] >= 0 || out(root)) continue;
		const work: { v: number; e: number }[] = [{ v: root, e: 0 }];
		index[root] = low[root] = next++;
		stack.push(root);
		onStack[root] = 1;
		while (work.length) {
			const top = work[work.length - 1];
			const v = top.v;
			if (top.e < g.degree(v)) {
				const w = g.edge(v, top.e++);
				if (out(w)) continue;
				if (index[w] < 0) {
					index[w] = low[w] = next++;
					stack.push(w);
					onStack[w] = 1;
					work.push({ v: w, e: 0 });
				} else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
				continue;
			}
			work.pop();
			if (work.length) {
				const u = work[work.length - 1].v;
				low[u] = Math.min(low[u], low[v]);
			}
			if (low[v] === index[v]) {
				for (;;) {
					const w = stack.pop()!;
					onStack[w] = 0;
					comp[w] = count;
					if (w === v) break;
				}
				count++;
			}
		}
	}
	return { comp, count };
}

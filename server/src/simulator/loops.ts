// The loops of a function's CFG, for the thread extraction (fromSource.ts): which nodes
// share a loop (a round is counted per loop) and which edges go back round one.
import type { Cfg } from '../analysis/cfg';

/** Strongly connected components of the CFG that hold a cycle (loops), by Tarjan; -1 elsewhere. */
export function loopComponents(cfg: Cfg): Int32Array {
	const n = cfg.nodes.length;
	const index = new Int32Array(n).fill(-1);
	const low = new Int32Array(n);
	const comp = new Int32Array(n).fill(-1);
	const onStack = new Uint8Array(n);
	const stack: number[] = [];
	let next = 0;
	let count = 0;
	for (let root = 0; root < n; root++) {
		if (index[root] >= 0) continue;
		const work: { v: number; e: number }[] = [{ v: root, e: 0 }];
		index[root] = low[root] = next++;
		stack.push(root);
		onStack[root] = 1;
		while (work.length) {
			const top = work[work.length - 1];
			const succ = cfg.nodes[top.v].succ;
			if (top.e < succ.length) {
				const w = succ[top.e++];
				if (index[w] < 0) {
					index[w] = low[w] = next++;
					stack.push(w);
					onStack[w] = 1;
					work.push({ v: w, e: 0 });
				} else if (onStack[w]) low[top.v] = Math.min(low[top.v], index[w]);
				continue;
			}
			work.pop();
			if (work.length) low[work[work.length - 1].v] = Math.min(low[work[work.length - 1].v], low[top.v]);
			if (low[top.v] === index[top.v]) {
				const members: number[] = [];
				for (;;) {
					const w = stack.pop()!;
					onStack[w] = 0;
					members.push(w);
					if (w === top.v) break;
				}
				const cyclic = members.length > 1 || cfg.nodes[top.v].succ.includes(top.v);
				if (cyclic) {
					for (const m of members) comp[m] = count;
					count++;
				}
			}
		}
	}
	return comp;
}

/** Back edges of a depth-first walk from the entry: `${from}>${to}`. */
export function backEdges(cfg: Cfg): Set<string> {
	const out = new Set<string>();
	const state = new Uint8Array(cfg.nodes.length);
	const work: { v: number; e: number }[] = [{ v: cfg.entry, e: 0 }];
	state[cfg.entry] = 1;
	while (work.length) {
		const top = work[work.length - 1];
		const succ = cfg.nodes[top.v].succ;
		if (top.e < succ.length) {
			const w = succ[top.e++];
			if (state[w] === 1) out.add(`${top.v}>${w}`);
			else if (state[w] === 0) {
				state[w] = 1;
				work.push({ v: w, e: 0 });
			}
			continue;
		}
		state[top.v] = 2;
		work.pop();
	}
	return out;
}

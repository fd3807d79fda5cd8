// The loops of a function's CFG, for the thread extraction (fromSource.ts): which nodes
// share a loop (a round is counted per loop) and which edges go back round one.
import type { Cfg } from '../analysis/cfg';
import { stronglyConnected } from './scc';

/** Strongly connected components of the CFG that hold a cycle (loops), numbered in Tarjan's order; -1 elsewhere. */
export function loopComponents(cfg: Cfg): Int32Array {
	const { comp, count } = stronglyConnected({ n: cfg.nodes.length, degree: (v) => cfg.nodes[v].succ.length, edge: (v, i) => cfg.nodes[v].succ[i] });
	const size = new Int32Array(count);
	const cyclic = new Uint8Array(count);
	comp.forEach((c, v) => {
		size[c]++;
		if (cfg.nodes[v].succ.includes(v)) cyclic[c] = 1;
	});
	const loop = new Int32Array(count).fill(-1);
	let loops = 0;
	for (let c = 0; c < count; c++) if (size[c] > 1 || cyclic[c]) loop[c] = loops++;
	return comp.map((c) => loop[c]);
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

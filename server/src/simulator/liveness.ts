// Liveness under weak fairness: "every thread that is not an adversary
// finishes" (LTL <> done, as Spin checks it with -f). The explorer builds the
// whole state graph with the assertions switched off (a safety violation does
// not stop a thread here; safety is reported apart), then looks for a fair
// cycle among the states where some such thread has not finished.
//
// Weak fairness: a thread that stays enabled must eventually move. A strongly
// connected component C holds a fair cycle iff it has an edge and every thread
// either moves inside C or is disabled in some state of C; the cycle through
// every state and edge of C is then fair. (Exact for weak fairness: no
// recursive decomposition is needed, unlike strong fairness.) A state where no
// thread can move and such a thread has not finished violates it as well (a
// lasso with an empty cycle: the last state repeats, as Spin's stutter
// extension has it).
import type { BuiltModel } from './build';
import { Layout, ModelError, actionOf, compileThreads, enabledAt, keyOf, successors, viewer, type CThread } from './machine';
import type { Lasso, LivenessVerdict, Snapshot, Step } from './types';
import { stronglyConnected } from './scc';

export interface LivenessOptions {
	/** build the lasso (default true) */
	lasso?: boolean;
	maxStates?: number;
}

export interface LivenessResult {
	liveness: LivenessVerdict;
	states: number;
	lasso?: Lasso;
}

interface Graph {
	states: Int32Array[];
	parent: Int32Array | number[];
	via: number[];
	/** which branch of a nondeterministic step led to the state (-1: none) */
	viaChoice: number[];
	depth: number[];
	/** edges of state i: edgeThread/edgeTo[edgeStart[i] .. edgeStart[i+1]) */
	edgeStart: number[];
	edgeThread: number[];
	edgeTo: number[];
	/** bit t: thread t enabled */
	enabled: number[];
	/** some thread that must finish has not */
	pending: Uint8Array;
}

function exploreGraph(lay: Layout, threads: CThread[], mustFinish: number[], maxStates: number): Graph {
	const ndone = lay.globals.get('ndone')!.off;
	const K = lay.keyLength;
	const states: Int32Array[] = [lay.initial()];
	const parent: number[] = [-1];
	const via: number[] = [-1];
	const viaChoice: number[] = [-1];
	const depth: number[] = [0];
	const seen = new Map<string, number>([[keyOf(states[0], K), 0]]);
	const edgeStart: number[] = [];
	const edgeThread: number[] = [];
	const edgeTo: number[] = [];
	const enabled: number[] = [];
	for (let i = 0; i < states.length; i++) {
		const s = states[i];
		edgeStart.push(edgeThread.length);
		let mask = 0;
		for (let t = 0; t < threads.length; t++) {
			const th = threads[t];
			if (!enabledAt(th, s)) continue;
			mask |= 1 << t;
			for (const { ns, choice } of successors(th, s, ndone)) {
				const k = keyOf(ns, K);
				let j = seen.get(k);
				if (j === undefined) {
					if (states.length >= maxStates) throw new ModelError(`state bound ${maxStates} exceeded`);
					j = states.length;
					seen.set(k, j);
					states.push(ns);
					parent.push(i);
					via.push(t);
					viaChoice.push(choice ?? -1);
					depth.push(depth[i] + 1);
				}
				edgeThread.push(t);
				edgeTo.push(j);
			}
		}
		enabled.push(mask);
	}
	edgeStart.push(edgeThread.length);
	const pending = new Uint8Array(states.length);
	states.forEach((s, i) => (pending[i] = mustFinish.some((t) => s[threads[t].pcSlot] !== threads[t].end) ? 1 : 0));
	return { states, parent, via, viaChoice, depth, edgeStart, edgeThread, edgeTo, enabled, pending };
}

/** Strongly connected components of the states where `pending` holds. */
function sccs(gr: Graph): { comp: Int32Array; count: number } {
	return stronglyConnected({
		n: gr.states.length,
		degree: (v) => gr.edgeStart[v + 1] - gr.edgeStart[v],
		edge: (v, i) => gr.edgeTo[gr.edgeStart[v] + i],
		excluded: (v) => !gr.pending[v],
	});
}

interface Violation {
	entry: number;
	/** the states of the fair component (empty: a state where nothing can move) */
	members: number[];
	comp: number;
}

function findViolation(gr: Graph, nThreads: number): Violation | undefined {
	const all = (1 << nThreads) - 1;
	const { comp, count } = sccs(gr);
	const taken = new Int32Array(count);
	const disabled = new Int32Array(count);
	const hasEdge = new Uint8Array(count);
	const best = new Int32Array(count).fill(-1);
	let deadlock = -1;
	for (let i = 0; i < gr.states.length; i++) {
		if (!gr.pending[i]) continue;
		const c = comp[i];
		disabled[c] |= all & ~gr.enabled[i];
		if (gr.enabled[i] === 0 && (deadlock < 0 || gr.depth[i] < gr.depth[deadlock])) deadlock = i;
		if (best[c] < 0 || gr.depth[i] < gr.depth[best[c]]) best[c] = i;
		for (let e = gr.edgeStart[i]; e < gr.edgeStart[i + 1]; e++) {
			if (comp[gr.edgeTo[e]] !== c || !gr.pending[gr.edgeTo[e]]) continue;
			hasEdge[c] = 1;
			taken[c] |= 1 << gr.edgeThread[e];
		}
	}
	let found: Violation | undefined;
	const consider = (v: Violation) => {
		if (!found || gr.depth[v.entry] < gr.depth[found.entry]) found = v;
	};
	if (deadlock >= 0) consider({ entry: deadlock, members: [], comp: -1 });
	for (let c = 0; c < count; c++) {
		if (!hasEdge[c] || ((taken[c] | disabled[c]) & all) !== all) continue;
		consider({ entry: best[c], members: [], comp: c });
	}
	if (found && found.comp >= 0) {
		const c = found.comp;
		for (let i = 0; i < gr.states.length; i++) if (gr.pending[i] && comp[i] === c) found.members.push(i);
	}
	return found;
}

/** A fair cycle through `entry` inside the component: each thread either moves in it or is disabled somewhere on it. */
function fairCycle(gr: Graph, v: Violation, nThreads: number): { thread: number; to: number }[] {
	const inC = new Set(v.members);
	const all = (1 << nThreads) - 1;
	const internal = (i: number) => {
		const out: { thread: number; to: number }[] = [];
		for (let e = gr.edgeStart[i]; e < gr.edgeStart[i + 1]; e++) if (inC.has(gr.edgeTo[e])) out.push({ thread: gr.edgeThread[e], to: gr.edgeTo[e] });
		return out;
	};
	let satisfied = all & ~gr.enabled[v.entry];
	const cycle: { thread: number; to: number }[] = [];
	let at = v.entry;
	const walk = (path: { thread: number; to: number }[]) => {
		for (const e of path) {
			cycle.push(e);
			satisfied |= (1 << e.thread) | (all & ~gr.enabled[e.to]);
			at = e.to;
		}
	};
	/** Shortest path inside the component from `from` to the first state meeting `goal` (the goal may be `from` itself). */
	const bfs = (from: number, goal: (i: number) => boolean, allowEmpty: boolean) => {
		if (allowEmpty && goal(from)) return [];
		const prev = new Map<number, { from: number; thread: number }>();
		const queue = [from];
		const seen = new Set([from]);
		while (queue.length) {
			const i = queue.shift()!;
			for (const e of internal(i)) {
				if (seen.has(e.to) && !(e.to === from && goal(from))) continue;
				prev.set(e.to, { from: i, thread: e.thread });
				if (goal(e.to)) {
					const path: { thread: number; to: number }[] = [];
					for (let k = e.to; ; ) {
						const p = prev.get(k)!;
						path.unshift({ thread: p.thread, to: k });
						if (p.from === from) break;
						k = p.from;
					}
					return path;
				}
				seen.add(e.to);
				queue.push(e.to);
			}
		}
		throw new ModelError('fair cycle construction left its component');
	};
	while ((satisfied & all) !== all) {
		const missing = all & ~satisfied;
		// nearest state where a missing thread is disabled, or where it can take a step inside the component
		const path = bfs(at, (i) => (missing & ~gr.enabled[i]) !== 0 || internal(i).some((e) => (missing >> e.thread) & 1), true);
		walk(path);
		if ((missing & ~gr.enabled[at]) === 0) walk([internal(at).find((e) => (missing >> e.thread) & 1)!]);
	}
	// back to the entry (at least one step: a cycle is never empty)
	walk(bfs(at, (i) => i === v.entry, cycle.length > 0));
	return cycle;
}

export function checkLiveness(model: BuiltModel, opts: LivenessOptions = {}): LivenessResult {
	const lay = new Layout(model);
	const threads = compileThreads(lay, false);
	if (threads.length > 30) throw new ModelError('liveness: at most 30 threads');
	const mustFinish = threads.map((th, t) => (th.adversary ? -1 : t)).filter((t) => t >= 0);
	const gr = exploreGraph(lay, threads, mustFinish, opts.maxStates ?? 4_000_000);
	const v = findViolation(gr, threads.length);
	if (!v) return { liveness: 'holds', states: gr.states.length };
	const result: LivenessResult = { liveness: 'violated', states: gr.states.length };
	if (opts.lasso === false) return result;
	const snap = viewer(model, lay, threads);
	const step = (from: number, t: number, to: number): Step => {
		const pc = gr.states[from][threads[t].pcSlot];
		const ins = threads[t].instrs[pc];
		return { thread: threads[t].name, action: actionOf(ins, gr.viaChoice[to], gr.states[to][threads[t].pcSlot] === pc), location: { ...ins.src.loc }, state: snap(gr.states[to]) };
	};
	const stemIdx: number[] = [];
	for (let i = v.entry; i > 0; i = gr.parent[i]) stemIdx.push(i);
	stemIdx.reverse();
	const stem = stemIdx.map((i) => step(gr.parent[i], gr.via[i], i));
	// The cycle's states are computed again from the stem's end, so that history variables (the value of
	// mmu_invalidate_seq) keep counting round the cycle instead of showing the stored state's first value.
	const cycle: Step[] = [];
	if (v.members.length) {
		const ndone = lay.globals.get('ndone')!.off;
		let cur = gr.states[v.entry];
		const K = lay.keyLength;
		for (const e of fairCycle(gr, v, threads.length)) {
			const th = threads[e.thread];
			const pc = cur[th.pcSlot];
			const ins = th.instrs[pc];
			// the successor the cycle's edge leads to (a nondeterministic step has several)
			const want = keyOf(gr.states[e.to], K);
			const next = successors(th, cur, ndone).find((x) => keyOf(x.ns, K) === want)!;
			cur = next.ns;
			cycle.push({ thread: th.name, action: actionOf(ins, next.choice ?? -1, cur[th.pcSlot] === pc), location: { ...ins.src.loc }, state: snap(cur) });
		}
	}
	const entryState = gr.states[v.entry];
	const stuck = mustFinish.filter((t) => entryState[threads[t].pcSlot] !== threads[t].end).map((t) => threads[t].name);
	result.lasso = { property: 'refresh-terminates', message: describe(stuck, cycle, snap(entryState)), threads: stuck, stem, cycle };
	return result;
}

function describe(stuck: string[], cycle: Step[], at: Snapshot): string {
	const who = stuck.join(' and ');
	const verb = stuck.length > 1 ? 'never finish' : 'never finishes';
	if (!cycle.length) {
		const where = stuck.map((n) => `${n} at "${at.threads[n]?.at}"`).join('; ');
		return `${who} ${verb}: no thread can move any more (${where})`;
	}
	const retries = cycle.filter((s) => stuck.includes(s.thread) && /mmu_notifier_retry_cache|mmu_notifier_retry_hva/.test(s.action)).length;
	const what = retries ? `${stuck.length > 1 ? 'they retry' : 'it retries'} hva_to_pfn_retry() forever while invalidations keep arriving` : 'the cycle below repeats forever';
	return `${who} ${verb} under a fair schedule: ${what} (a ${cycle.length}-step cycle)`;
}

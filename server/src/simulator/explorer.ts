// Exhaustive breadth-first exploration of all interleavings of a model, with
// state hashing. Breadth-first order makes the first counterexample a shortest
// one (fewest atomic steps).
import type { BuiltModel } from './build';
import { checkLiveness } from './liveness';
import { actionOf, compileExpr, compileThreads, enabledAt, keyOf, Layout, ModelError, stepThread, successors, viewer, type CThread } from './machine';
import type { Location, RunResult, Snapshot, Step, Violation } from './types';

export interface ExploreOptions {
	/** partial-order reduction of purely local steps in the safety search (default true) */
	reduce?: boolean;
	maxStates?: number;
	/** build the counterexample trace (default true) */
	trace?: boolean;
	/** report the steps no interleaving executes (dead code in the model) */
	coverage?: boolean;
	/** also check liveness under weak fairness (default true) */
	liveness?: boolean;
	/** report deadlocks (default true); without, only assertion and end-of-run violations count */
	deadlocks?: boolean;
	/** check the assertions (default true); without, only deadlocks and end-of-run violations count */
	asserts?: boolean;
}

interface Found {
	len: number;
	state: number;
	kind: 'step' | 'deadlock' | 'end';
	thread: number;
	instr: number;
	violation: Violation;
}

export function explore(model: BuiltModel, opts: ExploreOptions = {}): RunResult {
	const t0 = performance.now();
	const maxStates = opts.maxStates ?? 4_000_000;
	const reduce = opts.reduce !== false;
	const lay = new Layout(model);
	const threads = compileThreads(lay, opts.asserts !== false);
	const ndone = lay.globals.get('ndone')!.off;
	const K = lay.keyLength;
	const endChecks = model.endChecks.map((c) => ({ f: compileExpr(c.assert, lay, 0), v: { property: c.prop, message: c.msg } as Violation }));

	const snap = viewer(model, lay, threads);
	const snapshotOf = snap;
	const states: Int32Array[] = [lay.initial()];
	const parent: number[] = [-1];
	const viaThread: number[] = [-1];
	const viaInstr: number[] = [-1];
	const viaChoice: number[] = [-1];
	const depth: number[] = [0];
	const seen = new Map<string, number>([[keyOf(states[0], K), 0]]);
	let transitions = 0;
	let found: Found | null = null;
	const hit = opts.coverage ? threads.map((th) => new Uint8Array(th.instrs.length)) : null;

	for (let i = 0; i < states.length; i++) {
		const s = states[i];
		const d = depth[i];
		if (found && d >= found.len) break;
		let enabled = false;
		// A thread whose next step is local goes alone: every interleaving of it with the others reaches the same states.
		let only = -1;
		if (reduce) for (let t = 0; t < threads.length && only < 0; t++) if (s[threads[t].pcSlot] !== threads[t].end && threads[t].instrs[s[threads[t].pcSlot]].local) only = t;
		for (let t = 0; t < threads.length; t++) {
			if (only >= 0 && t !== only) continue;
			const th = threads[t];
			const pc = s[th.pcSlot];
			if (pc === th.end) continue;
			const ins = th.instrs[pc];
			if (ins.guard && !ins.guard(s)) continue;
			enabled = true;
			transitions++;
			if (hit) hit[t][pc] = 1;
			for (const { ns, v, choice } of successors(th, s, ndone)) {
				if (v) {
					if (!found || d + 1 < found.len) found = { len: d + 1, state: i, kind: 'step', thread: t, instr: pc, violation: v };
					continue;
				}
				const k = keyOf(ns, K);
				if (seen.has(k)) continue;
				if (states.length >= maxStates) throw new ModelError(`state bound ${maxStates} exceeded`);
				seen.set(k, states.length);
				states.push(ns);
				parent.push(i);
				viaThread.push(t);
				viaInstr.push(pc);
				viaChoice.push(choice ?? -1);
				depth.push(d + 1);
			}
		}
		if (enabled) continue;
		const blocked = threads.findIndex((th) => s[th.pcSlot] !== th.end);
		if (blocked >= 0 && opts.deadlocks === false) continue;
		if (blocked >= 0) {
			const names = threads.filter((th) => s[th.pcSlot] !== th.end).map((th) => `${th.name} (${th.instrs[s[th.pcSlot]].src.action})`);
			const held = holdings(snapshotOf(s));
			const v: Violation = { property: 'deadlock', message: `no thread can move: ${names.join('; ')} blocked forever${held ? `; held: ${held}` : ''}` };
			if (!found || d < found.len) found = { len: d, state: i, kind: 'deadlock', thread: blocked, instr: s[threads[blocked].pcSlot], violation: v };
			continue;
		}
		for (const c of endChecks) {
			if (c.f(s)) continue;
			if (!found || d < found.len) found = { len: d, state: i, kind: 'end', thread: -1, instr: -1, violation: c.v };
			break;
		}
	}

	const result: RunResult = {
		scenario: model.scenario,
		variant: model.variant,
		verdict: found ? 'violation' : 'safe',
		states: states.length,
		transitions,
		ms: 0,
		threads: model.threads.map((th) => th.name),
		initial: snap(states[0]),
	};
	if (found) {
		result.property = found.violation.property;
		result.message = found.violation.message;
		if (opts.trace !== false) result.trace = buildTrace(found, states, parent, viaThread, viaInstr, viaChoice, threads, snap);
	}
	if (hit) result.unreached = threads.flatMap((th, t) => th.instrs.filter((_, i) => !hit[t][i]).map((ins) => `${th.name}: ${ins.src.action}`));
	if (opts.liveness !== false) {
		const live = checkLiveness(model, { lasso: opts.trace !== false, maxStates });
		result.liveness = live.liveness;
		result.livenessStates = live.states;
		if (live.lasso) result.lasso = live.lasso;
	}
	result.ms = Math.round(performance.now() - t0);
	return result;
}

/** Who holds or waits for which lock in a state, for a deadlock's message: the cycle in words. */
export function holdings(st: Snapshot): string {
	const out: string[] = [];
	if (st.vm.rqLock) out.push(`rq->__lock by ${st.vm.rqLock}`);
	if (st.vm.piLock) out.push(`p->pi_lock by ${st.vm.piLock}`);
	for (const c of st.caches) {
		const l = c.lock;
		const who = [...(l.writer ? [`written by ${l.writer}`] : []), ...(l.readers.length ? [`read by ${l.readers.join(', ')}`] : []), ...(l.queued ? [`${l.queued} queued as the waiting writer`] : [])];
		if (who.length) out.push(`${c.name}->lock ${who.join(', ')}`);
	}
	if (st.vm.gpcListLock) out.push(`kvm->gpc_lock by ${st.vm.gpcListLock}`);
	return out.join('; ');
}

function buildTrace(found: Found, states: Int32Array[], parent: number[], viaThread: number[], viaInstr: number[], viaChoice: number[], threads: CThread[], snap: (s: Int32Array) => Snapshot): Step[] {
	const path: number[] = [];
	for (let i = found.state; i > 0; i = parent[i]) path.push(i);
	path.reverse();
	const steps: Step[] = path.map((i) => {
		const th = threads[viaThread[i]];
		const ins = th.instrs[viaInstr[i]];
		return { thread: th.name, action: actionOf(ins, viaChoice[i], states[i][th.pcSlot] === viaInstr[i]), location: { ...ins.src.loc }, state: snap(states[i]) };
	});
	const last = states[found.state];
	if (found.kind === 'step') {
		const ins = threads[found.thread].instrs[found.instr];
		const partial = last.slice();
		ins.body(partial);
		steps.push({ thread: threads[found.thread].name, action: ins.src.action, location: { ...ins.src.loc }, state: snap(partial), violation: true, note: found.violation.message });
	} else if (found.kind === 'deadlock') {
		const ins = threads[found.thread].instrs[found.instr].src;
		steps.push({ thread: threads[found.thread].name, action: `blocked: ${ins.action}`, location: { ...ins.loc }, state: snap(last), violation: true, note: found.violation.message });
	} else {
		const where: Location = { file: 'virt/kvm/pfncache.c', function: 'gpc_unmap', hint: 'static void gpc_unmap(kvm_pfn_t pfn, void *khva)' };
		steps.push({ thread: 'end', action: 'all threads finished', location: where, state: snap(last), violation: true, note: found.violation.message });
	}
	return steps;
}

/**
 * Runs `schedule` (thread names, one per step) on the model: a named thread
 * that cannot move there (blocked, finished, or a thread the model lacks) is
 * skipped. The run stops at the first violation, or when the schedule ends.
 */
export function replay(model: BuiltModel, schedule: string[]): RunResult {
	const t0 = performance.now();
	const lay = new Layout(model);
	const threads = compileThreads(lay);
	const ndone = lay.globals.get('ndone')!.off;
	const snap = viewer(model, lay, threads);
	let s = lay.initial();
	const trace: Step[] = [];
	let skipped = 0;
	let violation: Violation | null = null;
	for (const name of schedule) {
		const t = threads.findIndex((th) => th.name === name);
		if (t < 0 || !enabledAt(threads[t], s)) {
			skipped++;
			continue;
		}
		const pc = s[threads[t].pcSlot];
		const ins = threads[t].instrs[pc];
		const { ns, v } = stepThread(threads[t], s, ndone);
		const step: Step = { thread: name, action: actionOf(ins, -1, !v && ns[threads[t].pcSlot] === pc), location: { ...ins.src.loc }, state: snap(ns) };
		if (v) {
			violation = v;
			trace.push({ ...step, violation: true, note: v.message });
			break;
		}
		trace.push(step);
		s = ns;
	}
	const result: RunResult = {
		scenario: model.scenario,
		variant: model.variant,
		verdict: violation ? 'violation' : 'safe',
		states: trace.length + 1,
		transitions: trace.length,
		ms: 0,
		threads: model.threads.map((th) => th.name),
		initial: snap(lay.initial()),
		trace,
		replayed: { steps: schedule.length, skipped },
	};
	if (violation) {
		result.property = violation.property;
		result.message = violation.message;
	}
	result.ms = Math.round(performance.now() - t0);
	return result;
}

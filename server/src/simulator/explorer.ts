// Exhaustive breadth-first exploration of all interleavings of a model, with
// state hashing. Breadth-first order makes the first counterexample a shortest
// one (fewest atomic steps).
import type { BuiltModel } from './build';
import { END, type Expr, type Instr, type Stmt, type VarRef } from './ir';
import { checkLiveness } from './liveness';
import { snapshot, type StateView } from './model';
import type { Location, RunResult, Snapshot, Step, Violation } from './types';

type F = (s: Int32Array) => number;
type Exec = (s: Int32Array) => Violation | null;

export interface CInstr {
	src: Instr;
	guard: F | null;
	body: Exec;
	/** the next pc; for a nondeterministic branch, every pc it may go to (with the branch's label) */
	next: F;
	choices?: { k: number; label: string }[];
	/**
	 * The step reads and writes only its own thread's locals, has no guard and
	 * never jumps back: it commutes with every other thread's step, so the
	 * safety search takes it alone where it is next (a partial-order reduction).
	 */
	local: boolean;
}

export interface CThread {
	name: string;
	adversary: boolean;
	pcSlot: number;
	brSlot: number;
	end: number;
	instrs: CInstr[];
	locals: string[];
}

export class ModelError extends Error {}

/**
 * Flat Int32Array layout: globals, then per thread its pc and locals, then the
 * ghost globals, which states are not compared by (keyLength excludes them).
 */
export class Layout {
	readonly globals = new Map<string, { off: number; size: number }>();
	readonly threadBase: number[] = [];
	readonly size: number;
	readonly keyLength: number;
	constructor(readonly model: BuiltModel) {
		let off = 0;
		const place = (d: BuiltModel['globals'][number]) => {
			this.globals.set(d.name, { off, size: d.size ?? 0 });
			off += d.size ?? 1;
		};
		for (const d of model.globals) if (!d.ghost) place(d);
		for (const t of model.threads) {
			this.threadBase.push(off);
			off += 1 + t.locals.length;
		}
		this.keyLength = off;
		for (const d of model.globals) if (d.ghost) place(d);
		this.size = off;
	}
	initial(): Int32Array {
		const s = new Int32Array(this.size);
		for (const d of this.model.globals) {
			const { off } = this.globals.get(d.name)!;
			const n = d.size ?? 1;
			for (let i = 0; i < n; i++) s[off + i] = Array.isArray(d.init) ? d.init[i] : d.init;
		}
		return s;
	}
	localSlot(t: number, name: string): number {
		const i = this.model.threads[t].locals.indexOf(name);
		return i < 0 ? -1 : this.threadBase[t] + 1 + i;
	}
}

function compileExpr(e: Expr, lay: Layout, t: number): F {
	if (typeof e === 'number') return () => e;
	if ('v' in e) return compileRef(e, lay, t).get;
	switch (e.op) {
		case '!': {
			const a = compileExpr(e.a, lay, t);
			return (s) => (a(s) ? 0 : 1);
		}
		case '?': {
			const c = compileExpr(e.c, lay, t);
			const a = compileExpr(e.a, lay, t);
			const b = compileExpr(e.b, lay, t);
			return (s) => (c(s) ? a(s) : b(s));
		}
	}
	const a = compileExpr(e.a, lay, t);
	const b = compileExpr(e.b, lay, t);
	switch (e.op) {
		case '+': return (s) => a(s) + b(s);
		case '-': return (s) => a(s) - b(s);
		case '==': return (s) => (a(s) === b(s) ? 1 : 0);
		case '!=': return (s) => (a(s) !== b(s) ? 1 : 0);
		case '<': return (s) => (a(s) < b(s) ? 1 : 0);
		case '<=': return (s) => (a(s) <= b(s) ? 1 : 0);
		case '>': return (s) => (a(s) > b(s) ? 1 : 0);
		case '>=': return (s) => (a(s) >= b(s) ? 1 : 0);
		case '&&': return (s) => (a(s) && b(s) ? 1 : 0);
		case '||': return (s) => (a(s) || b(s) ? 1 : 0);
	}
}

function compileRef(r: VarRef, lay: Layout, t: number): { get: F; put: (s: Int32Array, v: number) => void } {
	if (r.local) {
		const slot = lay.localSlot(t, r.v);
		if (slot < 0) throw new ModelError(`thread ${lay.model.threads[t].name}: no local ${r.v}`);
		return { get: (s) => s[slot], put: (s, v) => void (s[slot] = v) };
	}
	const gd = lay.globals.get(r.v);
	if (!gd) throw new ModelError(`no global ${r.v}`);
	const { off, size } = gd;
	if (r.i === undefined) {
		if (size) throw new ModelError(`global ${r.v} is an array`);
		return { get: (s) => s[off], put: (s, v) => void (s[off] = v) };
	}
	const idx = compileExpr(r.i, lay, t);
	const at = (s: Int32Array) => {
		const k = idx(s);
		if (k < 0 || k >= size) throw new ModelError(`index ${k} out of bounds of ${r.v}[${size}]`);
		return off + k;
	};
	return { get: (s) => s[at(s)], put: (s, v) => void (s[at(s)] = v) };
}

function compileStmts(list: Stmt[], lay: Layout, t: number, asserts: boolean): Exec {
	const parts: Exec[] = list.map((st): Exec => {
		if ('set' in st) {
			const ref = compileRef(st.set, lay, t);
			const v = compileExpr(st.to, lay, t);
			return (s) => (ref.put(s, v(s)), null);
		}
		if ('assert' in st) {
			if (!asserts) return () => null;
			const c = compileExpr(st.assert, lay, t);
			const viol: Violation = { property: st.prop, message: st.msg };
			return (s) => (c(s) ? null : viol);
		}
		const c = compileExpr(st.if, lay, t);
		const a = compileStmts(st.then, lay, t, asserts);
		const b = compileStmts(st.else ?? [], lay, t, asserts);
		return (s) => (c(s) ? a(s) : b(s));
	});
	return (s) => {
		for (const p of parts) {
			const v = p(s);
			if (v) return v;
		}
		return null;
	};
}

/** The threads as closures; without `asserts`, a failing assertion does not stop the step (liveness). */
export function compileThreads(lay: Layout, asserts = true): CThread[] {
	return lay.model.threads.map((th, t) => {
		const index = new Map(th.instrs.map((ins, i) => [ins.label, i]));
		const end = th.instrs.length;
		const target = (label: string) => (label === END ? end : index.get(label)!);
		const instrs = th.instrs.map((ins): CInstr => {
			let next: F;
			let choices: CInstr['choices'];
			if (typeof ins.next !== 'string' && 'choice' in ins.next) {
				choices = ins.next.choice.map((c) => ({ k: target(c.goto), label: c.label }));
				const first = choices[0].k;
				next = () => first;
			} else if (typeof ins.next === 'string') {
				const k = target(ins.next);
				next = () => k;
			} else {
				const cases = ins.next.cases.map((c) => ({ when: compileExpr(c.when, lay, t), k: target(c.goto) }));
				const otherwise = target(ins.next.else);
				next = (s) => {
					for (const c of cases) if (c.when(s)) return c.k;
					return otherwise;
				};
			}
			const here = index.get(ins.label)!;
			const forward = typeof ins.next === 'string' ? [ins.next] : 'choice' in ins.next ? ins.next.choice.map((c) => c.goto) : [...ins.next.cases.map((c) => c.goto), ins.next.else];
			const local = ins.guard === undefined && onlyLocals(ins) && forward.every((l) => target(l) > here);
			return { src: ins, guard: ins.guard === undefined ? null : compileExpr(ins.guard, lay, t), body: compileStmts(ins.body, lay, t, asserts), next, local, ...(choices ? { choices } : {}) };
		});
		return { name: th.name, adversary: th.adversary, pcSlot: lay.threadBase[t], brSlot: lay.localSlot(t, 'br'), end, instrs, locals: th.locals };
	});
}

/** Whether a step touches nothing but its own thread's locals (its body and its branch conditions). */
function onlyLocals(ins: Instr): boolean {
	const expr = (e: Expr): boolean => typeof e === 'number' || ('v' in e ? !!e.local && (e.i === undefined || expr(e.i)) : e.op === '!' ? expr(e.a) : e.op === '?' ? expr(e.c) && expr(e.a) && expr(e.b) : expr(e.a) && expr(e.b));
	const stmts = (list: Stmt[]): boolean =>
		list.every((st) => ('set' in st ? expr(st.set) && expr(st.to) : 'assert' in st ? expr(st.assert) : expr(st.if) && stmts(st.then) && stmts(st.else ?? [])));
	const n = ins.next;
	const conds = typeof n === 'string' || 'choice' in n ? [] : n.cases.map((c) => c.when);
	return stmts(ins.body) && conds.every(expr);
}

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

export const keyOf = (s: Int32Array, n: number): string => {
	let k = '';
	for (let i = 0; i < n; i++) k += String.fromCharCode(s[i] + 4096);
	return k;
};

/** Runs one step of thread `th` on a copy of `s`: the successor state (the first branch of a nondeterministic one), or the violation its body raised. */
export function stepThread(th: CThread, s: Int32Array, ndone: number): { ns: Int32Array; v: Violation | null } {
	return successors(th, s, ndone)[0];
}

/** Every successor of one step of thread `th` (one per branch of a nondeterministic step), or the violation its body raised. */
export function successors(th: CThread, s: Int32Array, ndone: number): { ns: Int32Array; v: Violation | null; choice?: number }[] {
	const ins = th.instrs[s[th.pcSlot]];
	const ns = s.slice();
	const v = ins.body(ns);
	if (v) return [{ ns, v }];
	// The branch outcome (br) decides the next pc; then it is cleared.
	const np = ins.next(ns);
	if (th.brSlot >= 0) ns[th.brSlot] = 0;
	const place = (to: Int32Array, pc: number) => {
		to[th.pcSlot] = pc;
		if (pc === th.end) to[ndone]++;
		return to;
	};
	if (ins.choices) return ins.choices.map((c, i) => ({ ns: place(i === ins.choices!.length - 1 ? ns : ns.slice(), c.k), v: null, choice: i }));
	return [{ ns: place(ns, np), v: null }];
}

export const enabledAt = (th: CThread, s: Int32Array): boolean => {
	const pc = s[th.pcSlot];
	if (pc === th.end) return false;
	const ins = th.instrs[pc];
	return !ins.guard || ins.guard(s) !== 0;
};

/** Snapshots of states of a compiled model. */
export function viewer(model: BuiltModel, lay: Layout, threads: CThread[]): (s: Int32Array) => Snapshot {
	const view = (s: Int32Array): StateView => ({
		g: (name, i) => s[lay.globals.get(name)!.off + (i ?? 0)],
		local: (t, name) => {
			const slot = lay.localSlot(t, name);
			return slot < 0 ? 0 : s[slot];
		},
		at: (t) => {
			const pc = s[threads[t].pcSlot];
			return pc === threads[t].end ? 'done' : threads[t].instrs[pc].src.action;
		},
		done: (t) => s[threads[t].pcSlot] === threads[t].end,
	});
	const threadInfo = model.threads.map((th) => ({ name: th.name, locals: th.locals }));
	return (s) => snapshot(model.world, threadInfo, view(s));
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

/** A step's action, with the way a nondeterministic branch went, or what a step that came back to itself did. */
export function actionOf(ins: CInstr, choice: number, selfLoop = false): string {
	if (selfLoop && ins.src.requeue) return ins.src.requeue;
	return ins.choices && choice >= 0 ? `${ins.src.action} → ${ins.choices[choice].label}` : ins.src.action;
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

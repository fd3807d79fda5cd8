// The model compiled for exploration: every thread's instructions as closures
// over one flat Int32Array state (globals, each thread's pc and locals, then the
// ghost globals). The safety explorer (explorer.ts) and the liveness check
// (liveness.ts) both step this machine.
import type { BuiltModel } from './build';
import { END, type Expr, type Instr, type Stmt, type VarRef } from './ir';
import { snapshot, type StateView } from './model';
import type { Snapshot, Violation } from './types';

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

export function compileExpr(e: Expr, lay: Layout, t: number): F {
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

/** A step's action, with the way a nondeterministic branch went, or what a step that came back to itself did. */
export function actionOf(ins: CInstr, choice: number, selfLoop = false): string {
	if (selfLoop && ins.src.requeue) return ins.src.requeue;
	return ins.choices && choice >= 0 ? `${ins.src.action} → ${ins.choices[choice].label}` : ins.src.action;
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

// A tiny guarded-command language. The gpc model is written once in it; the
// explorer interprets it and promela.ts prints it for Spin, so the two checkers
// verify the same transition system by construction.
import type { Location, PropertyId } from './types';

export type BinOp = '+' | '-' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||';

export interface VarRef {
	/** global name, or local name when local is set */
	v: string;
	i?: Expr;
	local?: boolean;
}

export type Expr =
	| number
	| VarRef
	| { op: BinOp; a: Expr; b: Expr }
	| { op: '!'; a: Expr }
	| { op: '?'; c: Expr; a: Expr; b: Expr };

export type Stmt =
	| { set: VarRef; to: Expr }
	| { assert: Expr; prop: PropertyId; msg: string }
	| { if: Expr; then: Stmt[]; else?: Stmt[] };

export const END = 'END';

/** One way a nondeterministic branch can go: a condition of the C the model does not decide. */
export interface Choice {
	goto: string;
	/** what the branch means, shown on the step that took it ("true", "false") */
	label: string;
}

export type Next = string | { cases: { when: Expr; goto: string }[]; else: string } | { choice: Choice[] };

/** What builders write: a missing else falls through to the next step. */
export type NextSpec = string | { cases: { when: Expr; goto: string }[]; else?: string } | { choice: Choice[] };

/** One atomic action of one thread. */
export interface Instr {
	label: string;
	action: string;
	loc: Location;
	/** The step blocks until this holds (a spinning or sleeping wait). */
	guard?: Expr;
	body: Stmt[];
	next: Next;
	/** what the step means when it comes back to itself (a writer that queued on a contended lock) */
	requeue?: string;
}

export interface ThreadProgram {
	name: string;
	/** Adversaries (invalidations, memslot updates, the VMM) need not finish; liveness asks every other thread to. */
	adversary: boolean;
	locals: string[];
	instrs: Instr[];
}

export interface GlobalDecl {
	name: string;
	/** array length; scalar when absent */
	size?: number;
	init: number | number[];
	/**
	 * A history variable kept for the state pictures only (e.g. the value of
	 * mmu_invalidate_seq): the model never reads it, so both checkers leave it
	 * out of the state they compare, and Spin does not see it at all.
	 */
	ghost?: boolean;
}

export interface EndCheck {
	assert: Expr;
	prop: PropertyId;
	msg: string;
}

export interface Model {
	globals: GlobalDecl[];
	threads: ThreadProgram[];
	/** checked once every thread has finished */
	endChecks: EndCheck[];
}

// Expression helpers: short on purpose, the programs read like the C they model.
export const g = (v: string, i?: Expr): VarRef => (i === undefined ? { v } : { v, i });
export const l = (v: string): VarRef => ({ v, local: true });
const bin = (op: BinOp) => (a: Expr, b: Expr): Expr => ({ op, a, b });
export const add = bin('+');
export const sub = bin('-');
export const eq = bin('==');
export const ne = bin('!=');
export const lt = bin('<');
export const le = bin('<=');
export const gt = bin('>');
export const ge = bin('>=');
export const not = (a: Expr): Expr => ({ op: '!', a });
export const ite = (c: Expr, a: Expr, b: Expr): Expr => ({ op: '?', c, a, b });
export function and(...xs: Expr[]): Expr {
	return xs.reduce((a, b) => ({ op: '&&', a, b }));
}
export function or(...xs: Expr[]): Expr {
	return xs.reduce((a, b) => ({ op: '||', a, b }));
}
export const set = (v: VarRef, to: Expr): Stmt => ({ set: v, to });
export const inc = (v: VarRef): Stmt => ({ set: v, to: add(v, 1) });
export const dec = (v: VarRef): Stmt => ({ set: v, to: sub(v, 1) });
export const when = (c: Expr, then: Stmt[], otherwise?: Stmt[]): Stmt => (otherwise ? { if: c, then, else: otherwise } : { if: c, then });
export const check = (c: Expr, prop: PropertyId, msg: string): Stmt => ({ assert: c, prop, msg });

export interface StepSpec {
	guard?: Expr;
	body?: Stmt[];
	/** default: the next step emitted, or END after the last */
	next?: NextSpec;
	requeue?: string;
}

const FALLTHROUGH = '\0next';

type Item = { step: Omit<Instr, 'next'> & { next: NextSpec } } | { label: string } | { goto: string };

/** Builds one thread's program; labels are local to the thread. */
export class ThreadBuilder {
	private readonly items: Item[] = [];
	private readonly localSet = new Set<string>();
	private seq = 0;
	/** Why the thread can never sleep (its calling context), if it cannot. */
	atomic?: string;
	/** The thread runs in interrupt context (in_interrupt()): the queued rwlock lets its readers past a waiting writer. */
	inInterrupt = false;

	constructor(
		readonly name: string,
		/** 1-based thread id, the value lock owner fields hold */
		readonly me: number,
		readonly adversary: boolean,
	) {}

	local(name: string): VarRef {
		this.localSet.add(name);
		return l(name);
	}

	fresh(prefix: string): string {
		return `${prefix}${++this.seq}`;
	}

	/** Names the position of the next step (END if none follows). */
	mark(label: string): void {
		this.items.push({ label });
	}

	/** Control flow without a step. */
	goto(target: string): void {
		this.items.push({ goto: target });
	}

	step(action: string, loc: Location, spec: StepSpec = {}): void {
		const label = this.fresh('s');
		this.items.push({ step: { label, action, loc, guard: spec.guard, body: spec.body ?? [], next: spec.next ?? FALLTHROUGH, ...(spec.requeue ? { requeue: spec.requeue } : {}) } });
	}

	finish(): ThreadProgram {
		const labelPos = new Map<string, number>();
		this.items.forEach((it, i) => {
			if ('label' in it) {
				if (labelPos.has(it.label)) throw new Error(`${this.name}: duplicate label ${it.label}`);
				labelPos.set(it.label, i);
			}
		});
		const atPos = (pos: number, seen: Set<string>): string => {
			for (let i = pos; i < this.items.length; i++) {
				const it = this.items[i];
				if ('step' in it) return it.step.label;
				if ('goto' in it) return atLabel(it.goto, seen);
			}
			return END;
		};
		const atLabel = (name: string, seen: Set<string>): string => {
			if (name === END) return END;
			const pos = labelPos.get(name);
			if (pos === undefined) throw new Error(`${this.name}: unknown label ${name}`);
			if (seen.has(name)) throw new Error(`${this.name}: empty loop at ${name}`);
			seen.add(name);
			return atPos(pos + 1, seen);
		};
		const instrs: Instr[] = [];
		this.items.forEach((it, i) => {
			if (!('step' in it)) return;
			const fix = (t: string) => (t === FALLTHROUGH ? atPos(i + 1, new Set()) : atLabel(t, new Set()));
			const n = it.step.next;
			const next: Next =
				typeof n === 'string' ? fix(n) : 'choice' in n ? { choice: n.choice.map((c) => ({ goto: fix(c.goto), label: c.label })) } : { cases: n.cases.map((c) => ({ when: c.when, goto: fix(c.goto) })), else: fix(n.else ?? FALLTHROUGH) };
			instrs.push({ ...it.step, next });
		});
		// Drop steps no path reaches (code after an unconditional jump).
		const byLabel = new Map(instrs.map((x) => [x.label, x]));
		const live = new Set<string>();
		const work = instrs.length ? [instrs[0].label] : [];
		while (work.length) {
			const lab = work.pop()!;
			if (lab === END || live.has(lab)) continue;
			live.add(lab);
			work.push(...targets(byLabel.get(lab)!.next));
		}
		return { name: this.name, adversary: this.adversary, locals: [...this.localSet], instrs: instrs.filter((x) => live.has(x.label)) };
	}
}

/** Every label a step may continue at. */
export function targets(n: Next): string[] {
	if (typeof n === 'string') return [n];
	if ('choice' in n) return n.choice.map((c) => c.goto);
	return [...n.cases.map((c) => c.goto), n.else];
}

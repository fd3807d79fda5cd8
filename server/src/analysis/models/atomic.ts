// Atomic context: why a path cannot sleep — another spinning lock held, interrupts off,
// a caller's atomic context or a trylock that says the path may be atomic — unless a
// runtime guard proved it sleepable. The sleep and context rules read it.
import type { SyntaxNode } from '../../parse/parser';
import type { NodeSpan } from '../../parse/positions';
import { ALLOCATORS, SLEEPING_GFP, SLEEPING_PRIMITIVES } from '../api';
import type { CallingContext } from '../contexts';
import type { AtomicContext } from '../observations';
import type { World } from '../state';
import { deleteEntry, setEntry } from './records';
import { joinTri, pick, type Model, type Tri } from './types';

export interface AtomicWorld {
	irqOff: Tri;
	irqFlags?: string;
	irqSite?: SyntaxNode;
	/** Other spinning locks held (atomic context). */
	spins: Record<string, SyntaxNode>;
	/** Why this path is atomic, beyond locks and IRQs (read_trylock, a caller's context, and then which). */
	atomicReason?: { why: string; site?: NodeSpan; context?: CallingContext };
	/** A runtime guard (`in_atomic()`, `!task_is_running()`) proved the path sleepable. */
	sleepable: boolean;
}

/** A spinning lock (or an atomic guard's scope) other than a gpc's is taken at `site`. */
export function spinAcquire(w: World, lock: string, site: SyntaxNode): void {
	setEntry(w, 'spins', lock, site);
}

export function spinRelease(w: World, lock: string): void {
	deleteEntry(w, 'spins', lock);
}

/** local_irq_save(flags) and friends. */
export function irqDisable(w: World, site: SyntaxNode, flags: string | undefined, saves: boolean): void {
	w.irqOff = 'yes';
	w.irqSite = site;
	if (saves) w.irqFlags = flags;
}

export function irqEnable(w: World): void {
	w.irqOff = 'no';
	w.irqFlags = undefined;
}

/** A condition on the context (`in_atomic()`, `task_is_running()`) has `value` here; undefined for another call. */
export function refineRuntimeGuard(callee: string, value: boolean, w: World): boolean | undefined {
	if (callee === 'in_atomic' || callee === 'irqs_disabled' || callee === 'in_interrupt' || callee === 'in_task') {
		const atomicWhenTrue = callee !== 'in_task';
		if (value !== atomicWhenTrue) w.sleepable = true;
		return true;
	}
	if (callee === 'task_is_running' || callee === 'preemptible') {
		if (value) w.sleepable = w.sleepable || callee === 'preemptible';
		return true;
	}
	return undefined;
}

/** Why the current path cannot sleep, if it cannot; `atomicParams` are the function's `bool atomic` parameters. */
export function atomicContext(w: World, atomicParams: Iterable<string>): AtomicContext | undefined {
	const spin = Object.entries(w.spins)[0];
	if (spin) return { why: `${spin[0]} is held`, site: spin[1] };
	if (w.irqOff === 'yes') return { why: 'interrupts are disabled', site: w.irqSite };
	for (const p of atomicParams) {
		if (w.known[p] !== false) return { why: `\`${p}\` may be true here (the caller's context may be atomic)` };
	}
	if (w.sleepable) return undefined;
	return w.atomicReason;
}

/** Why a call may sleep: a sleeping primitive, a sleeping allocation, or a chain through the tree (`maySleep`). */
export function sleepReason(callee: string, args: SyntaxNode[], maySleep: (name: string) => string | undefined): string | undefined {
	if (SLEEPING_PRIMITIVES.has(callee)) return `${callee}() may sleep`;
	if (ALLOCATORS.test(callee) && args.some((a) => SLEEPING_GFP.test(a.text))) {
		return `${callee}() with ${args.find((a) => SLEEPING_GFP.test(a.text))!.text.trim()} may sleep in reclaim`;
	}
	const chain = maySleep(callee);
	return chain === undefined ? undefined : chain ? `${callee}() may sleep: ${chain}` : `${callee}() may sleep`;
}

/** Both paths atomic: still atomic, but of one calling context only if both came from it. */
function joinAtomicReason(a: World['atomicReason'], b: World['atomicReason']): World['atomicReason'] {
	if (!a || !b) return undefined;
	return a.context === b.context ? a : { why: a.why, site: a.site };
}

export const atomic: Model<AtomicWorld> = {
	name: 'atomic',
	world: {
		empty: () => ({ irqOff: 'no', spins: {}, sleepable: false }),
		join: (a, b) => ({
			irqOff: joinTri(a.irqOff, b.irqOff),
			irqFlags: a.irqFlags === b.irqFlags ? a.irqFlags : undefined,
			irqSite: a.irqSite === b.irqSite ? a.irqSite : undefined,
			spins: pick(a.spins, b.spins, () => true),
			atomicReason: joinAtomicReason(a.atomicReason, b.atomicReason),
			sleepable: a.sleepable && b.sleepable,
		}),
		key: (w, keys) => `${keys.record('spins', w.spins, (k) => k)};${w.irqOff}/${w.irqFlags ?? ''};${w.sleepable};${w.atomicReason?.why ?? ''}`,
	},
};

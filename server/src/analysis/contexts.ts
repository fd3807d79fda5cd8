// Calling contexts, followed from the entry points the kernel runs in atomic
// context, down the call graph of the indexed files, with the constants
// callers pass: 6.1's kvm_sched_out() → kvm_arch_vcpu_put() →
// kvm_xen_runstate_set_preempted() → kvm_xen_update_runstate_guest(vcpu,
// RUNSTATE_runnable) reaches the runstate update in the sched-out preempt
// notifier *with* state == RUNSTATE_runnable, which is what its `if (state ==
// RUNSTATE_runnable) return;` guard tests before the refresh.
//
// A context says what kind it is (the sched-out notifier with the runqueue
// lock held, hard-IRQ context, or otherwise atomic), the chain of calls from the
// entry point with each call site, and the constants bound at each step: the
// rules read the kind, the simulator can replay the chain.
import { GPC_API_NAME } from '../vocabulary';
import { bind, decodeCall } from './calls';
import { hardIrqEntries, type HardIrqEntry } from './entries';
import type { FileFacts, FunctionFacts } from './facts';

/**
 * - `sched-out`: the sched-out preempt notifier, inside the context switch with the
 *   runqueue lock (`rq->__lock`) held: a blocking lock there can deadlock against a waker.
 * - `hardirq`: hard-IRQ context even on PREEMPT_RT (a *_HARD hrtimer, a non-threaded handler).
 * - `atomic`: any other context that must not sleep (preemption disabled, a soft timer).
 */
export type ContextKind = 'sched-out' | 'hardirq' | 'atomic';

/** One function of a context's chain. */
export interface ContextLink {
	fn: string;
	/** Where it is defined (root-relative file, 0-based row). */
	file: string;
	line: number;
	/** The row, in the previous link's file, of its call of this function; absent for the entry point. */
	callLine?: number;
	/** Constants the context binds this function's parameters to (`state: RUNSTATE_runnable`). */
	bound: Record<string, string>;
}

export interface CallingContext {
	kind: ContextKind;
	/** Why the entry point runs in this context. */
	entry: string;
	/** From the entry point down to the function the context is for. */
	chain: ContextLink[];
	/** The function's own bindings (the last link's `bound`). */
	values: Record<string, string>;
	/** One sentence: the entry's reason and the chain, for messages. */
	why: string;
}

/** Functions the kernel always calls in atomic context, and why. */
export const ATOMIC_ENTRY_POINTS: Record<string, string> = {
	kvm_arch_vcpu_put: 'kvm_arch_vcpu_put() runs with preemption disabled (vcpu_put(), the kvm_sched_out() preempt notifier)',
	kvm_arch_vcpu_load: 'kvm_arch_vcpu_load() runs with preemption disabled (vcpu_load(), the kvm_sched_in() preempt notifier)',
	kvm_sched_in: 'kvm_sched_in() is a preempt notifier: it runs with preemption disabled',
};

/** The sched-out preempt notifier, and what it always calls (when the notifier itself is not indexed). */
const SCHED_OUT = 'kvm_sched_out';
const SCHED_OUT_WHY = 'kvm_sched_out() is the sched-out preempt notifier: it runs in the context switch with the runqueue lock (rq->__lock) held';
const SCHED_OUT_CALLEE = 'kvm_arch_vcpu_put';
const SCHED_OUT_CALLEE_WHY = 'kvm_arch_vcpu_put() is called by the sched-out preempt notifier kvm_sched_out() (virt/kvm/kvm_main.c, not indexed) with the runqueue lock (rq->__lock) held';

const MAX_DEPTH = 6;
const MAX_CONTEXTS_PER_FUNCTION = 3;

interface Seed {
	kind: ContextKind;
	why: string;
}

function seedOf(fn: FunctionFacts, hard: Map<string, HardIrqEntry>, schedOutIndexed: boolean): Seed | undefined {
	if (fn.name === SCHED_OUT) return { kind: 'sched-out', why: SCHED_OUT_WHY };
	if (fn.name === SCHED_OUT_CALLEE && !schedOutIndexed) return { kind: 'sched-out', why: SCHED_OUT_CALLEE_WHY };
	if (ATOMIC_ENTRY_POINTS[fn.name]) return { kind: 'atomic', why: ATOMIC_ENTRY_POINTS[fn.name] };
	const h = hard.get(fn.name);
	if (h) return { kind: 'hardirq', why: h.why };
	if (/\bhrtimer_restart\b/.test(fn.returnType)) return { kind: 'atomic', why: `${fn.name}() is an hrtimer callback (hard interrupt context)` };
	if (/\birqreturn_t\b/.test(fn.returnType)) return { kind: 'atomic', why: `${fn.name}() is an interrupt handler` };
	return undefined;
}

/** "a() → b() → c()", and the bindings of the last step. */
export function chainText(chain: readonly ContextLink[]): string {
	const last = chain[chain.length - 1];
	const bindings = Object.entries(last?.bound ?? {}).map(([k, v]) => `${k} = ${v}`).join(', ');
	return `${chain.map((l) => `${l.fn}()`).join(' → ')}${bindings ? ` with ${bindings}` : ''}`;
}

/**
 * The calling contexts of the functions `wanted` selects: breadth first from every entry
 * point, each function reached once per kind and bindings, at most
 * MAX_CONTEXTS_PER_FUNCTION per kind. Calls into the gpc API are not followed: the
 * implementation (virt/kvm/pfncache.c) is checked against the writer protocol.
 */
export function callingContexts(facts: readonly FileFacts[], wanted: (name: string) => boolean): Map<string, CallingContext[]> {
	const byName = new Map<string, FunctionFacts>();
	for (const f of facts) for (const fn of f.functions) if (!byName.has(fn.name)) byName.set(fn.name, fn);
	const hard = hardIrqEntries(facts.map((f) => ({ file: f.file, entries: f.irqEntries })));
	const schedOutIndexed = byName.has(SCHED_OUT);
	const out = new Map<string, CallingContext[]>();
	const seen = new Set<string>();
	const queue: { fn: FunctionFacts; seed: Seed; chain: ContextLink[] }[] = [];
	for (const fn of byName.values()) {
		const seed = seedOf(fn, hard, schedOutIndexed);
		if (!seed) continue;
		const chain = [{ fn: fn.name, file: fn.file, line: fn.line, bound: {} }];
		queue.push({ fn, seed, chain });
		// The entry point itself runs in the context (an hrtimer callback that takes the lock).
		if (wanted(fn.name)) out.set(fn.name, [...(out.get(fn.name) ?? []), { kind: seed.kind, entry: seed.why, chain, values: {}, why: seed.why }]);
	}
	while (queue.length) {
		const { fn, seed, chain } = queue.shift()!;
		if (chain.length > MAX_DEPTH) continue;
		const values = chain[chain.length - 1].bound;
		fn.calls.forEach((encoded, i) => {
			const call = decodeCall(encoded);
			const callee = byName.get(call.callee);
			if (!callee || GPC_API_NAME.test(callee.name) || chain.some((l) => l.fn === callee.name)) return;
			const bound: Record<string, string> = {};
			callee.params.forEach((p, j) => {
				const v = call.args[j] !== undefined ? bind(call.args[j], values) : undefined;
				if (p && v !== undefined) bound[p] = v;
			});
			const key = `${seed.kind}|${callee.name}|${JSON.stringify(bound)}`;
			if (seen.has(key)) return;
			seen.add(key);
			const next: ContextLink[] = [...chain, { fn: callee.name, file: callee.file, line: callee.line, callLine: fn.callLines?.[i], bound }];
			if (wanted(callee.name)) {
				const list = out.get(callee.name) ?? [];
				if (list.filter((c) => c.kind === seed.kind).length < MAX_CONTEXTS_PER_FUNCTION) {
					list.push({ kind: seed.kind, entry: seed.why, chain: next, values: bound, why: `${seed.why}; it reaches this through ${chainText(next)}` });
				}
				out.set(callee.name, list);
			}
			queue.push({ fn: callee, seed, chain: next });
		});
	}
	return out;
}

/** How a context reads in a message or hover: "sched-out context (rq lock held)". */
export function contextLabel(kind: ContextKind): string {
	switch (kind) {
		case 'sched-out':
			return 'sched-out context (rq lock held)';
		case 'hardirq':
			return 'hard-IRQ context';
		default:
			return 'atomic context';
	}
}

// Atomic calling contexts, followed from the entry points the kernel runs in
// atomic context, down the call graph of the indexed files, with the
// constants callers pass: 6.1's kvm_arch_vcpu_put() →
// kvm_xen_runstate_set_preempted() → kvm_xen_update_runstate_guest(vcpu,
// RUNSTATE_runnable) reaches the runstate update atomic *with* state ==
// RUNSTATE_runnable, which is what its `if (state == RUNSTATE_runnable)
// return;` guard tests before the refresh.
import type { FileFacts, FunctionFacts } from './facts';
import { bind, decodeCall } from './calls';
import type { EntryContext } from './flow';

/** Functions the kernel always calls in atomic context, and why. */
export const ATOMIC_ENTRY_POINTS: Record<string, string> = {
	kvm_arch_vcpu_put: 'kvm_arch_vcpu_put() runs with preemption disabled (vcpu_put(), the kvm_sched_out() preempt notifier)',
	kvm_arch_vcpu_load: 'kvm_arch_vcpu_load() runs with preemption disabled (vcpu_load(), the kvm_sched_in() preempt notifier)',
	kvm_sched_out: 'kvm_sched_out() is a preempt notifier: it runs with the runqueue lock held',
	kvm_sched_in: 'kvm_sched_in() is a preempt notifier: it runs with preemption disabled',
};

const MAX_DEPTH = 6;
const MAX_CONTEXTS_PER_FUNCTION = 3;

function seedReason(fn: FunctionFacts): string | undefined {
	if (ATOMIC_ENTRY_POINTS[fn.name]) return ATOMIC_ENTRY_POINTS[fn.name];
	if (/\bhrtimer_restart\b/.test(fn.returnType)) return `${fn.name}() is an hrtimer callback (hard interrupt context)`;
	if (/\birqreturn_t\b/.test(fn.returnType)) return `${fn.name}() is an interrupt handler`;
	return undefined;
}

export function atomicContexts(facts: readonly FileFacts[], wanted: (name: string) => boolean): Map<string, EntryContext[]> {
	const byName = new Map<string, FunctionFacts>();
	for (const f of facts) for (const fn of f.functions) if (!byName.has(fn.name)) byName.set(fn.name, fn);
	const out = new Map<string, EntryContext[]>();
	const seen = new Set<string>();
	const queue: { fn: FunctionFacts; values: Record<string, string>; chain: string[]; why: string; depth: number }[] = [];
	for (const fn of byName.values()) {
		const why = seedReason(fn);
		if (why) queue.push({ fn, values: {}, chain: [fn.name], why, depth: 0 });
	}
	while (queue.length) {
		const { fn, values, chain, why, depth } = queue.shift()!;
		if (depth >= MAX_DEPTH) continue;
		for (const call of fn.calls.map(decodeCall)) {
			const callee = byName.get(call.callee);
			if (!callee || chain.includes(callee.name)) continue;
			const bound: Record<string, string> = {};
			callee.params.forEach((p, i) => {
				const v = call.args[i] !== undefined ? bind(call.args[i], values) : undefined;
				if (p && v !== undefined) bound[p] = v;
			});
			const key = `${callee.name}|${JSON.stringify(bound)}`;
			if (seen.has(key)) continue;
			seen.add(key);
			const next = [...chain, callee.name];
			const bindings = Object.entries(bound).map(([k, v]) => `${k} = ${v}`).join(', ');
			const context: EntryContext = { why: `${why}; it reaches this through ${next.map((n) => `${n}()`).join(' → ')}${bindings ? ` with ${bindings}` : ''}`, values: bound };
			if (wanted(callee.name)) {
				const list = out.get(callee.name) ?? [];
				if (list.length < MAX_CONTEXTS_PER_FUNCTION) list.push(context);
				out.set(callee.name, list);
			}
			queue.push({ fn: callee, values: bound, chain: next, why, depth: depth + 1 });
		}
	}
	return out;
}

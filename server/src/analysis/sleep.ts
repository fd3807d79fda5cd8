// May-sleep summaries: bottom-up over the call graph of the indexed files, with
// the chain that explains each. Calls resolve as the linker would: to the
// calling file's own `static` function of that name when a .c file has one,
// otherwise to the tree's other definitions (static inline functions in
// headers are everyone's). A name with several such definitions (one per
// architecture or config, or a tool's userspace copy) may sleep only if every
// definition may: a whole kernel tree has thousands of same-named functions,
// and one that sleeps must not make all the others look as if they did. Calls
// of functions made for atomic context (put_page(), kfree()) are not followed.
// KVM's guest-memory helpers sleep by the tree's own definitions where it has
// them, by the table (SLEEPING_UNLESS_DEFINED) where it does not. A call
// through a vendor ops table may sleep if any implementation it names may (ops.ts).
import { ATOMIC_SAFE, SLEEPING_UNLESS_DEFINED } from './api';
import { isDispatched, OpsTables } from './ops';
import type { FileFacts, FunctionFacts } from './facts';

export interface SleepSummaries {
	/**
	 * Why a call of `name` from `file` may sleep (file undefined: a call from outside every
	 * file-local scope); '' for a helper of the table the tree does not define (no chain to tell).
	 */
	from(file: string | undefined, name: string): string | undefined;
}

interface Definition {
	fn: FunctionFacts;
	/** The file whose calls alone reach it (a `static` function of a .c file). */
	localTo?: string;
	chain?: string;
}

export function sleepSummaries(facts: readonly FileFacts[], ops = new OpsTables(facts)): SleepSummaries {
	const definitions: Definition[] = [];
	const locals = new Map<string, Definition>();
	const localNames = new Set<string>();
	const externals = new Map<string, Definition[]>();
	for (const f of facts) {
		for (const fn of f.functions) {
			// Entered with the caller's gpc lock held and dropping it (hva_to_pfn_retry): its sleeps
			// come after the drop, so calling it under that lock is its contract.
			if (fn.dropsCallerLock) continue;
			const localTo = fn.isStatic && fn.file.endsWith('.c') ? fn.file : undefined;
			const d: Definition = { fn, localTo, chain: fn.sleeps && `it calls ${fn.sleeps}` };
			if (localTo) {
				const key = `${localTo}\0${fn.name}`;
				if (locals.has(key)) continue;
				locals.set(key, d);
				localNames.add(fn.name);
			} else {
				const list = externals.get(fn.name);
				if (list) list.push(d);
				else externals.set(fn.name, [d]);
			}
			definitions.push(d);
		}
	}
	const resolve = (file: string | undefined, name: string): Definition[] | undefined => {
		if (ATOMIC_SAFE.has(name)) return undefined;
		if (file !== undefined && localNames.has(name)) {
			const own = locals.get(`${file}\0${name}`);
			if (own) return [own];
		}
		return externals.get(name);
	};
	const chainOf = (targets: Definition[] | undefined) => (targets?.every((t) => t.chain !== undefined) ? targets[0].chain : undefined);
	/** The chain of a call, or '' for an undefined helper of the table. */
	const callChain = (file: string | undefined, name: string): string | undefined => {
		if (isDispatched(name)) return dispatchChain(name);
		const targets = resolve(file, name);
		if (!targets && SLEEPING_UNLESS_DEFINED.has(name) && !definedAnywhere(name)) return '';
		return chainOf(targets);
	};
	const definedAnywhere = (name: string) => externals.has(name) || localNames.has(name);
	/** A call through an ops table runs one of its implementations, whichever the loaded vendor module's table names. */
	const dispatchChain = (name: string): string | undefined => {
		for (const t of ops.of(name)) {
			const chain = callChain(t.file, t.impl);
			if (chain !== undefined) return `it is ${t.impl}() (${t.table})${chain ? `, which ${chain.replace(/^it /, '')}` : ''}`;
		}
		return undefined;
	};

	for (let changed = true; changed; ) {
		changed = false;
		for (const d of definitions) {
			if (d.chain !== undefined) continue;
			for (const callee of d.fn.callees) {
				const chain = callChain(d.fn.file, callee);
				if (chain !== undefined) {
					d.chain = chain ? `it calls ${callee}(), ${chain.replace(/^it /, 'which ')}` : `it calls ${callee}()`;
					changed = true;
					break;
				}
			}
		}
	}
	return { from: callChain };
}

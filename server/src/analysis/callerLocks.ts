// gpc locks a function is entered with: those every call of it holds. A helper
// that checks a cache its callers locked (two calls deep: the caller locks,
// passes the cache on, and the callee's callee checks it) is checked under
// that lock. Learnt between the engine's rounds, like the atomic contexts: a
// round's calls, with the held instances and argument paths at each, say what
// the next round's functions start with.
//
// Sound only if every call is known. So a function is entered locked only when
//   - every function of the tree that calls it (pass 1) was analysed (pass 2)
//     and had the call in view (not inside an ERROR region),
//   - its file names it only in calls (no ops table or callback may reach it),
//   - each of those calls holds the lock, on every path that reaches it, and
//     passes the cache (or its owner) through one of the function's parameters.
// A function some caller calls unlocked keeps today's `maybe`.
import type { FileFacts, FunctionFacts } from './facts';
import type { FunctionSummary } from './memo';

export interface AnalysedFunction {
	file: string;
	analysis: Pick<FunctionSummary, 'name' | 'calls'>;
}

export class CallerLocks {
	/** A file's own `static` functions, by `file\0name`. */
	private readonly locals = new Map<string, FunctionFacts>();
	/** Every other definition, by name (a name defined twice resolves to neither). */
	private readonly externals = new Map<string, FunctionFacts[]>();
	private held = new Map<string, string[]>();

	constructor(private readonly facts: readonly FileFacts[]) {
		for (const f of facts) {
			for (const fn of f.functions) {
				if (fn.isStatic && fn.file.endsWith('.c')) {
					const key = `${fn.file}\0${fn.name}`;
					if (!this.locals.has(key)) this.locals.set(key, fn);
				} else {
					const list = this.externals.get(fn.name) ?? [];
					list.push(fn);
					this.externals.set(fn.name, list);
				}
			}
		}
	}

	/** Instances (in the function's own terms: `gpc`, `vcpu.arch.pv_time`) every call of it holds. */
	of(file: string | undefined, name: string): string[] {
		const key = this.key(file, name);
		return (key && this.held.get(key)) || [];
	}

	/** Learns from one round's analysed functions; true when some function's entry locks changed. */
	learn(analysed: readonly AnalysedFunction[]): boolean {
		const seenCallers = new Map<string, Set<string>>();
		const common = new Map<string, Set<string>>();
		// Only a function some call makes with a gpc lock held can be entered locked: the calls
		// of every other function need no look.
		const lockedCallees = new Set<string>();
		for (const { analysis } of analysed) for (const call of analysis.calls) if (call.heldGpc.length) lockedCallees.add(call.callee);
		for (const { file, analysis } of analysed) {
			for (const call of analysis.calls) {
				if (!lockedCallees.has(call.callee)) continue;
				const key = this.key(file, call.callee);
				const def = key && this.definition(key);
				if (!key || !def) continue;
				const callers = seenCallers.get(key) ?? new Set();
				callers.add(`${file}\0${analysis.name}`);
				seenCallers.set(key, callers);
				const mapped = new Set(call.heldGpc.flatMap((h) => inCalleeTerms(h, call.argPaths, def.params)));
				const before = common.get(key);
				common.set(key, before ? new Set([...before].filter((h) => mapped.has(h))) : mapped);
			}
		}
		const candidates = new Map([...common].filter(([key, held]) => held.size && !this.definition(key)?.addressTaken));
		const { callers, hidden } = this.pass1Callers(new Set(candidates.keys()));
		const next = new Map<string, string[]>();
		for (const [key, held] of candidates) {
			const seen = seenCallers.get(key)!;
			if (hidden.has(key) || ![...callers.get(key) ?? []].every((c) => seen.has(c))) continue;
			next.set(key, [...held].sort());
		}
		const changed = next.size !== this.held.size || [...next].some(([k, v]) => this.held.get(k)?.join() !== v.join());
		this.held = next;
		return changed;
	}

	/**
	 * For these definitions only (the few some analysed call makes with a gpc lock held): the
	 * functions whose pass-1 facts call them, and those called from inside an ERROR region.
	 */
	private pass1Callers(keys: ReadonlySet<string>): { callers: Map<string, Set<string>>; hidden: Set<string> } {
		const callers = new Map<string, Set<string>>();
		const hidden = new Set<string>();
		if (!keys.size) return { callers, hidden };
		const names = new Set([...keys].map((k) => k.slice(k.indexOf('\0') + 1)));
		for (const f of this.facts) {
			const index = callIndexOf(f);
			for (const name of names) {
				for (const { file, caller } of index.calls.get(name) ?? []) {
					const key = this.key(file, name);
					if (!key || !keys.has(key)) continue;
					const set = callers.get(key) ?? new Set();
					set.add(caller);
					callers.set(key, set);
				}
				for (const file of index.hidden.get(name) ?? []) {
					const key = this.key(file, name);
					if (key && keys.has(key)) hidden.add(key);
				}
			}
		}
		return { callers, hidden };
	}

	/** The definition a call of `name` from `file` reaches, as the linker would pick it. */
	private key(file: string | undefined, name: string): string | undefined {
		if (file !== undefined && this.locals.has(`${file}\0${name}`)) return `${file}\0${name}`;
		return this.externals.get(name)?.length === 1 ? name : undefined;
	}

	private definition(key: string): FunctionFacts | undefined {
		return this.locals.get(key) ?? this.externals.get(key)?.[0];
	}
}

/** One file's calls by callee name (its pass-1 facts), and the callees called from inside its ERROR regions. */
interface CallIndex {
	calls: Map<string, { file: string; caller: string }[]>;
	hidden: Map<string, string[]>;
}

/** Kept per facts object: an edit re-indexes its file, not the tree. */
const callIndexes = new WeakMap<FileFacts, CallIndex>();

function callIndexOf(facts: FileFacts): CallIndex {
	let index = callIndexes.get(facts);
	if (index) return index;
	index = { calls: new Map(), hidden: new Map() };
	for (const fn of facts.functions) {
		const caller = `${fn.file}\0${fn.name}`;
		for (const callee of fn.callees) {
			const list = index.calls.get(callee) ?? [];
			list.push({ file: fn.file, caller });
			index.calls.set(callee, list);
		}
		for (const callee of fn.unparsedCalls ?? []) {
			for (const c of callee === '*' ? fn.callees : [callee]) {
				const list = index.hidden.get(c) ?? [];
				list.push(fn.file);
				index.hidden.set(c, list);
			}
		}
	}
	callIndexes.set(facts, index);
	return index;
}

/** A held path of the caller, through the argument that carries it, as the callee names it. */
function inCalleeTerms(held: string, argPaths: readonly (string | undefined)[], params: readonly string[]): string[] {
	const out: string[] = [];
	argPaths.forEach((arg, i) => {
		const param = params[i];
		if (!arg || !param) return;
		if (held === arg) out.push(param);
		else if (held.startsWith(`${arg}.`) || held.startsWith(`${arg}[`)) out.push(param + held.slice(arg.length));
	});
	return out;
}

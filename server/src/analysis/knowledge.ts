// What the analysis knows about the tree besides each function's own text: from
// the pass-1 facts (check wrappers, relevant functions, instance identities, the
// mark-dirty helper) and, round after round, from what callers pass their callees.
import type { GpcFunction } from './api';
import type { FileFacts } from './facts';
import type { FilePass } from './filePass';
import type { AtomicContext } from './observations';
import type { OpsTables } from './ops';
import { baseIdentifier, lastSegment } from './paths';

export function hasMarkDirtyHelper(api: Map<string, unknown>, facts: FileFacts[]): boolean {
	if (!api.has('kvm_gpc_mark_dirty_in_slot')) return false;
	const declares = facts.some((f) => f.declarations.length > 0);
	return !declares || facts.some((f) => f.declarations.some((d) => d.name === 'kvm_gpc_mark_dirty_in_slot'));
}

/** Functions that return a check of one of their parameters, and which parameter. */
export function checkWrappers(facts: FileFacts[], api: Map<string, GpcFunction>): (name: string) => number | undefined {
	const wrappers = new Map<string, number>();
	for (const f of facts) {
		for (const fn of f.functions) {
			const check = fn.returnsCheck && api.get(fn.returnsCheck.callee);
			const index = check ? fn.params.indexOf(fn.returnsCheck!.args[check.gpc]?.replace(/^&/, '') ?? '') : -1;
			if (index >= 0) wrappers.set(fn.name, index);
		}
	}
	return (name) => wrappers.get(name);
}

/** gpc users, and their callers (whose call sites carry the context the users run in). */
export function relevantFunctions(facts: FileFacts[]): Set<string> {
	const users = new Set(facts.flatMap((f) => f.functions.filter((fn) => fn.usesGpc).map((fn) => fn.name)));
	const relevant = new Set(users);
	for (const f of facts) for (const fn of f.functions) if (fn.callees.some((c) => users.has(c))) relevant.add(fn.name);
	return relevant;
}

/**
 * An instance is its owner struct and field: "kvm_vcpu_xen.runstate_cache" from the
 * struct that declares the field, or the base variable's type plus the path.
 */
export function instanceIdentity(facts: FileFacts[]): (path: string, types: Map<string, string>) => string | undefined {
	const declaringStruct = new Map<string, string | undefined>();
	for (const g of facts.flatMap((f) => f.gpcFields)) {
		// A field name two structs declare cannot name an instance on its own.
		declaringStruct.set(g.field, declaringStruct.has(g.field) && declaringStruct.get(g.field) !== g.struct ? undefined : g.struct);
	}
	return (path, types) => {
		const field = lastSegment(path);
		const struct = declaringStruct.get(field);
		return struct && path.includes('.') ? `${struct}.${field}` : ownerKey(path, types);
	};
}

/** "v.arch.xen.runstate_cache" with v: kvm_vcpu → "kvm_vcpu.arch.xen.runstate_cache". */
export function ownerKey(path: string, types: Map<string, string>): string | undefined {
	const base = baseIdentifier(path);
	const type = types.get(base);
	if (!type || type === 'gfn_to_pfn_cache') return undefined;
	return `${type}${path.slice(base.length)}`.replace(/^kvm_vcpu\.kvm\./, 'kvm.');
}

/** Updates what callees learn from their callers; true when something new was learnt. */
export function learnFromCalls(passes: FilePass[], atomicEntry: Map<string, AtomicContext>, callerHolds: Map<string, 'none' | 'some'>, ops: OpsTables): boolean {
	let changed = false;
	for (const pass of passes) {
		for (const { analysis, file } of pass.analyses) {
			for (const call of analysis.calls) {
				// A call through an ops table is a call of each implementation it names.
				for (const callee of ops.expand(call.callee)) {
					const held = call.heldGpc.length > 0;
					const before = callerHolds.get(callee);
					const after = held || before === 'some' ? 'some' : 'none';
					if (before !== after) {
						callerHolds.set(callee, after);
						changed = true;
					}
					const ctx = call.atomic ?? (held ? { why: `called with ${call.heldGpc[0]}.lock held`, site: call.node } : undefined);
					if (ctx && !atomicEntry.has(callee)) {
						atomicEntry.set(callee, { why: `${analysis.name}() calls it while ${ctx.why}`, site: call.node, file });
						changed = true;
					}
				}
			}
		}
	}
	return changed;
}

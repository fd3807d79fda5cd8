// Pointers into a gpc mapping that leave the function that validated them,
// learnt between the engine's rounds like the callers' contexts:
//
//   - a khva stored in a field (`vmx->nested.pi_desc = gpc->khva`, a posted
//     nested-VMX series). The field is named by its owner's type and path
//     ("vcpu_vmx.nested.pi_desc"), the cache relative to the same owner
//     (".nested.pi_desc_gpc"). In the storing function the field is followed
//     like a local pointer (stale once the lock is dropped). In every other
//     analysed function, a dereference of `x->nested.pi_desc` for an `x` of that
//     type is a use of a pointer from a hold that function never saw: reported
//     where the function provably does not hold `x->nested.pi_desc_gpc`'s lock
//     (gpc-use-after-unlock), silent where it holds it or may (callers' locks).
//   - a khva returned by a helper that returns with the lock held
//     (`vi = xen_vcpu_info_lock(v, &flags)`): the caller's `vi` is a pointer
//     taken under that hold, stale once the caller drops the lock.
import type { FunctionSummary } from './memo';
import type { KhvaHolder, LockedKhvaReturn } from './flow';
import { baseIdentifier, lastSegment } from './paths';

export interface AnalysedWithTypes {
	file: string;
	analysis: FunctionSummary;
	types: Map<string, string>;
}

export class Escapes {
	private holders = new Map<string, KhvaHolder>();
	private returns = new Map<string, LockedKhvaReturn>();
	private fields = new Set<string>();

	/** The cache a khva-holding field (by owner type and path) points into. */
	holder(field: string): KhvaHolder | undefined {
		return this.holders.get(field);
	}

	lockedReturn(name: string): LockedKhvaReturn | undefined {
		return this.returns.get(name);
	}

	/** Whether a function's text dereferences a khva-holding field (then it is worth analysing). */
	mentionsHolder(text: string): boolean {
		if (!this.fields.size) return false;
		for (const f of this.fields) if (text.includes(f) && new RegExp(`(->|\\.)\\s*${f}\\b`).test(text)) return true;
		return false;
	}

	/** Learns from one round's analysed functions; true when something changed. */
	learn(analysed: readonly AnalysedWithTypes[]): boolean {
		const holders = new Map<string, KhvaHolder>();
		const returns = new Map<string, LockedKhvaReturn | null>();
		for (const { file, analysis, types } of analysed) {
			for (const store of analysis.stores ?? []) {
				const base = baseIdentifier(store.path);
				const type = types.get(base);
				// Only a cache of the same owner can be found again from another function's owner.
				if (!type || baseIdentifier(store.instance) !== base) continue;
				const key = `${type}${store.path.slice(base.length)}`;
				if (!holders.has(key)) holders.set(key, { cache: store.instance.slice(base.length), site: store.node, file });
			}
			if (analysis.returnsLocked) {
				const before = returns.get(analysis.name);
				const same = before === undefined || (before && JSON.stringify(before) === JSON.stringify(analysis.returnsLocked));
				returns.set(analysis.name, same ? analysis.returnsLocked : null);
			}
		}
		const nextReturns = new Map([...returns].filter((e): e is [string, LockedKhvaReturn] => e[1] !== null));
		const key = (m: Map<string, unknown>) => JSON.stringify([...m].map(([k, v]) => [k, v && typeof v === 'object' && 'cache' in v ? (v as KhvaHolder).cache : v]).sort());
		const changed = key(holders) !== key(this.holders) || key(nextReturns) !== key(this.returns);
		this.holders = holders;
		this.returns = nextReturns;
		this.fields = new Set([...holders.keys()].map(lastSegment));
		return changed;
	}
}

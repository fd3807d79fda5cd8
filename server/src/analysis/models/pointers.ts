// Pointers: locals that alias a gpc's owner (`vx = &v->arch.xen`), and locals and fields
// that hold a pointer into a cache's mapping (`vi = gpc->khva`), with whether the hold it
// was taken under has ended. gpc-use-after-unlock reads the derived pointers; every model
// resolves access paths through the aliases.
import type { NodeSpan } from '../../parse/positions';
import type { World } from '../state';
import { setEntry } from './records';
import { joinTri, pick, type Model, type Tri } from './types';

export interface DerivedPointer {
	instance: string;
	/** yes once the hold it was taken under has been dropped (even if the lock is taken again). */
	stale: Tri;
	/** Where it was taken (detached when another function stored it: that function's tree is gone). */
	site: NodeSpan;
	/** The file of `site` when another function stored the pointer in a field. */
	file?: string;
	/** Stored in a field by another function: taken under a hold this function never saw. */
	escaped?: boolean;
}

export interface PointerWorld {
	/** Local pointer → canonical path it points at (`vx = &v->arch.xen`). */
	aliases: Record<string, string>;
	/** Locals holding a pointer into a gpc mapping (`vi = gpc->khva`). */
	derived: Record<string, DerivedPointer>;
}

/** The hold of `inst` ends: pointers taken under it go stale. */
function onRelease(w: World, inst: string): void {
	for (const [k, p] of Object.entries(w.derived)) if (p.instance === inst && p.stale === 'no') setEntry(w, 'derived', k, { ...p, stale: 'yes' });
}

function joinDerived(a: Record<string, DerivedPointer>, b: Record<string, DerivedPointer>): Record<string, DerivedPointer> {
	const out: Record<string, DerivedPointer> = {};
	for (const [k, p] of Object.entries(a)) {
		const q = b[k];
		if (q && q.instance === p.instance) out[k] = { ...p, stale: joinTri(p.stale, q.stale) };
	}
	return out;
}

export const pointers: Model<PointerWorld> = {
	name: 'pointers',
	world: {
		empty: () => ({ aliases: {}, derived: {} }),
		join: (a, b) => ({ aliases: pick(a.aliases, b.aliases, (p, q) => p === q), derived: joinDerived(a.derived, b.derived) }),
		key: (w, keys) =>
			`${keys.record('aliases', w.aliases, (k, path) => `${k}=${path}`)};${keys.record('derived', w.derived, (k, p) => `${k}=${p.instance}/${p.stale}`)}`,
		locals: ['aliases', 'derived'],
	},
	events: { released: (_s, _site, instance, w) => onRelease(w, instance) },
};

// What a hover shows at a gpc call, a lock call or a khva use, kept from the analysis
// that made it: the state on every path that reaches the node. A hover used to run the
// function's dataflow again (kvm_xen_update_runstate_guest(): 20 ms, more than a hover
// may take); now it reads these, and runs the dataflow only for a function the last
// analysis did not see with its current text.
//
// Stored relative to the function's start (like the memo's results), with no SyntaxNode:
// a site is detached (its first line) and moved to the function's origin.
import type { AtomicContext, Observation } from './observations';
import type { CallingContext } from './contexts';
import type { Origin } from './memo';
import type { Tri } from './models/types';
import { detach, movedSpan, type NodeSpan } from '../parse/positions';

export interface HoverFact {
	kind: 'gpcCall' | 'lock' | 'use';
	/** The observed node, relative to the function's start. */
	start: number;
	end: number;
	instance: string;
	held: Tri;
	valid: Tri;
	/** Sites in the function (first lines only, as detach() keeps them), relative to its start. */
	hold?: NodeSpan;
	checkSite?: NodeSpan;
	failedSite?: NodeSpan;
	/** A gpc call's atomic context: a caller's site (with its file) as the tree's answers put it, a local one relative. */
	atomic?: AtomicContext;
	/** A lock taken with a primitive that may wait. */
	blocking?: boolean;
	/** The calling context the lock is taken in. */
	context?: CallingContext;
}

/** The hover's view of an observation made in the function starting at `origin`; undefined for kinds a hover does not show. */
export function hoverFact(o: Observation, origin: Origin): HoverFact | undefined {
	if (o.kind !== 'gpcCall' && o.kind !== 'lock' && o.kind !== 'use') return undefined;
	const { state } = o;
	const site = (n: NodeSpan) => movedSpan(detach(n), -origin.row, -origin.index);
	const atomic = o.kind === 'gpcCall' && o.atomic ? detachedAtomic(o.atomic, origin) : undefined;
	return {
		kind: o.kind,
		start: o.node.startIndex - origin.index,
		end: o.node.endIndex - origin.index,
		instance: o.instance,
		held: state.held,
		valid: state.valid,
		...(state.hold ? { hold: site(state.hold.site) } : {}),
		...(state.checkSite ? { checkSite: site(state.checkSite) } : {}),
		...(state.failedSite ? { failedSite: site(state.failedSite) } : {}),
		...(atomic ? { atomic } : {}),
		...(o.kind === 'lock' ? { blocking: o.primitive.op === 'lock' } : {}),
		...(o.kind === 'lock' && o.world.atomicReason?.context ? { context: o.world.atomicReason.context } : {}),
	};
}

/** An atomic context without nodes: a local site relative to the function, a caller's as it is. */
function detachedAtomic(a: AtomicContext, origin: Origin): AtomicContext {
	if (!a.site) return a;
	return { ...a, site: a.file ? detach(a.site) : movedSpan(detach(a.site), -origin.row, -origin.index) };
}

/** `fact` in the file's coordinates, for a function that now starts at `origin`. */
export function placedFact(fact: HoverFact, origin: Origin): HoverFact {
	const place = (n: NodeSpan | undefined) => n && movedSpan(n, origin.row, origin.index);
	const atomic = fact.atomic?.site && !fact.atomic.file ? { ...fact.atomic, site: place(fact.atomic.site) } : fact.atomic;
	return { ...fact, hold: place(fact.hold), checkSite: place(fact.checkSite), failedSite: place(fact.failedSite), atomic };
}

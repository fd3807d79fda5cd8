// What a hover shows at a gpc call, a lock call or a khva use, kept from the analysis
// that made it: the state on every path that reaches the node. A hover used to run the
// function's dataflow again (kvm_xen_update_runstate_guest(): 20 ms, more than a hover
// may take); now it reads these, and runs the dataflow only for a function the last
// analysis did not see with its current text.
//
// Stored relative to the function's start (like the memo's results), with no SyntaxNode:
// a site keeps its row, offset and first line.
import type { AtomicContext, Observation } from './observations';
import type { CallingContext } from './contexts';
import type { Origin } from './memo';
import type { Tri } from './models/types';
import { detach, type NodeSpan } from '../parse/positions';

/** A node of the function, relative to its start. */
export interface SiteAt {
	row: number;
	index: number;
	text: string;
}

export interface HoverFact {
	kind: 'gpcCall' | 'lock' | 'use';
	/** The observed node, relative to the function's start. */
	start: number;
	end: number;
	instance: string;
	held: Tri;
	valid: Tri;
	hold?: SiteAt;
	checkSite?: SiteAt;
	failedSite?: SiteAt;
	/** A gpc call's atomic context: a caller's site (with its file) as the tree's answers put it, a local one relative. */
	atomic?: AtomicContext;
	/** A lock taken with a primitive that may wait. */
	blocking?: boolean;
	/** The calling context the lock is taken in. */
	context?: CallingContext;
}

/** A fact placed at the function's current origin: sites as nodes of the file. */
export interface PlacedFact extends Omit<HoverFact, 'hold' | 'checkSite' | 'failedSite'> {
	hold?: NodeSpan;
	checkSite?: NodeSpan;
	failedSite?: NodeSpan;
}

/** The hover's view of an observation made in the function starting at `origin`; undefined for kinds a hover does not show. */
export function hoverFact(o: Observation, origin: Origin): HoverFact | undefined {
	if (o.kind !== 'gpcCall' && o.kind !== 'lock' && o.kind !== 'use') return undefined;
	const { state } = o;
	const site = (n: NodeSpan | undefined): SiteAt | undefined => {
		if (!n) return undefined;
		const d = detach(n);
		return { row: d.startPosition.row - origin.row, index: d.startIndex - origin.index, text: d.text };
	};
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
	if (!a.site || a.file) return { ...a, ...(a.site ? { site: detach(a.site) } : {}) };
	const d = detach(a.site);
	return { ...a, site: moveSpan(d, -origin.row, -origin.index) };
}

/** `fact` in the file's coordinates, for a function that now starts at `origin`. */
export function placedFact(fact: HoverFact, origin: Origin): PlacedFact {
	const span = (s: SiteAt | undefined): NodeSpan | undefined =>
		s && { type: '', text: s.text, startIndex: s.index + origin.index, endIndex: s.index + origin.index + s.text.length, startPosition: { row: s.row + origin.row, column: 0 }, endPosition: { row: s.row + origin.row, column: 0 } };
	const atomic = fact.atomic?.site && !fact.atomic.file ? { ...fact.atomic, site: moveSpan(fact.atomic.site, origin.row, origin.index) } : fact.atomic;
	return { ...fact, hold: span(fact.hold), checkSite: span(fact.checkSite), failedSite: span(fact.failedSite), atomic };
}

function moveSpan(n: NodeSpan, rows: number, offset: number): NodeSpan {
	return {
		...n,
		startIndex: n.startIndex + offset,
		endIndex: n.endIndex + offset,
		startPosition: { row: n.startPosition.row + rows, column: n.startPosition.column },
		endPosition: { row: n.endPosition.row + rows, column: n.endPosition.column },
	};
}

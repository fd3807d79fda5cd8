// The abstract state the dataflow carries: a small set of "worlds", each a
// conjunction of facts about every gpc instance the function touches.
import type { SyntaxNode } from '../parse/parser';
import type { LockVariant } from './api';
import type { CallingContext } from './contexts';

/** yes / no are facts on every path the world stands for; maybe suppresses reports. */
export type Tri = 'yes' | 'no' | 'maybe';

export interface Hold {
	id: number;
	mode: 'read' | 'write';
	variant: LockVariant;
	flags?: string;
	/** Taken by read_trylock while local_irq_save(flags) had IRQs off: irqrestore releases both. */
	irqPairFlags?: string;
	trylock: boolean;
	site: SyntaxNode;
}

export interface InstanceState {
	held: Tri;
	/** Held because every caller holds it at the call; this function never took it. */
	byCaller?: boolean;
	hold?: Hold;
	valid: Tri;
	checkSite?: SyntaxNode;
	/** The check that failed under the current hold. */
	failedSite?: SyntaxNode;
	/** A check under the current hold whose result nobody looked at. */
	ignoredCheck?: SyntaxNode;
	/** The failed check a refresh answered; cleared by the next successful check (not by unlock). */
	refreshedAfter?: SyntaxNode;
	/** The last check that failed, kept across the unlock that precedes a refresh. */
	lastFailedCheck?: SyntaxNode;
	/** A check of another cache made while only this one's lock was held (the wrong cache?). */
	foreignCheck?: { instance: string; site: SyntaxNode };
	/** The hold that validated the cache was dropped here. */
	dropped?: { unlock: SyntaxNode; check?: SyntaxNode; lock?: SyntaxNode };
	/** A write through khva not yet marked dirty. */
	dirty?: { write: SyntaxNode; unlock?: SyntaxNode; lock?: SyntaxNode; markedAfterUnlock?: SyntaxNode };
	life: 'unknown' | 'active' | 'inactive';
	lifeSite?: SyntaxNode;
}

export interface DerivedPointer {
	instance: string;
	/** yes once the hold it was taken under has been dropped (even if the lock is taken again). */
	stale: Tri;
	site: SyntaxNode;
	/** The file of `site` when another function stored the pointer in a field. */
	file?: string;
	/** Stored in a field by another function: taken under a hold this function never saw. */
	escaped?: boolean;
}

export interface World {
	instances: Record<string, InstanceState>;
	/** Local pointer → canonical path it points at (`vx = &v->arch.xen`). */
	aliases: Record<string, string>;
	/** Locals holding a pointer into a gpc mapping (`vi = gpc->khva`). */
	derived: Record<string, DerivedPointer>;
	/** Truthiness of locals and parameters learnt from conditions and assignments. */
	known: Record<string, boolean>;
	/** Values of locals and parameters known equal to a constant (`state == RUNSTATE_runnable`). */
	values: Record<string, string>;
	/** `ret = kvm_gpc_check(...)`: the variable carries the check result. */
	checkVars: Record<string, { instance: string; site: SyntaxNode; locks?: { mode: 'read' | 'write'; variant: LockVariant } }>;
	irqOff: Tri;
	irqFlags?: string;
	irqSite?: SyntaxNode;
	/** Other spinning locks held (atomic context). */
	spins: Record<string, SyntaxNode>;
	/** Why this path is atomic, beyond locks and IRQs (read_trylock, a caller's context, and then which). */
	atomicReason?: { why: string; site?: SyntaxNode; context?: CallingContext };
	/** A runtime guard (`in_atomic()`, `!task_is_running()`) proved the path sleepable. */
	sleepable: boolean;
}

export function emptyWorld(): World {
	return { instances: {}, aliases: {}, derived: {}, known: {}, values: {}, checkVars: {}, irqOff: 'no', spins: {}, sleepable: false };
}

/**
 * A copy to transfer a statement on. It shares its records and instance states with `w` (a
 * world is never changed once made: copying every record per statement and world was most
 * of the dataflow's time), so writes go through setEntry/deleteEntry and the interpreter's
 * copy of an instance state.
 */
export function cloneWorld(w: World): World {
	return {
		instances: w.instances,
		aliases: w.aliases,
		derived: w.derived,
		known: w.known,
		values: w.values,
		checkVars: w.checkVars,
		irqOff: w.irqOff,
		irqFlags: w.irqFlags,
		irqSite: w.irqSite,
		spins: w.spins,
		atomicReason: w.atomicReason,
		sleepable: w.sleepable,
	};
}

type Records = Pick<World, 'instances' | 'aliases' | 'derived' | 'known' | 'values' | 'checkVars' | 'spins'>;

/** `w[record][key] = value` on a world that may share the record. */
export function setEntry<R extends keyof Records>(w: World, record: R, key: string, value: Records[R][string]): void {
	w[record] = { ...w[record], [key]: value };
}

/** `delete w[record][key]` on a world that may share the record. */
export function deleteEntry(w: World, record: keyof Records, key: string): void {
	if (!Object.hasOwn(w[record], key)) return;
	const copy = { ...w[record] };
	delete copy[key];
	w[record] = copy as never;
}

const siteKey = (n?: SyntaxNode) => (n ? n.startIndex : -1);

/**
 * Names equal worlds by equal small numbers, one analysis long. Each world, record and
 * instance state is named once: none changes once its world is made (a transfer writes
 * copies), and worlds share most records and states, so a new world costs one short lookup.
 */
export class WorldKeys {
	private readonly ids = new Map<string, number>();
	private readonly gpcIds = new Map<World, number>();
	private readonly fullIds = new Map<World, number>();
	private readonly stateIds = new Map<InstanceState, number>();
	/** One map per record kind: each formats its entries its own way. */
	private readonly recordIds = { instances: new Map(), aliases: new Map(), derived: new Map(), checkVars: new Map(), spins: new Map(), known: new Map(), values: new Map() } satisfies Record<keyof Records, Map<object, number>>;

	/** The gpc-relevant part of a world; worlds equal here merge by intersecting `known`. */
	gpcState(w: World): number {
		let id = this.gpcIds.get(w);
		if (id === undefined) {
			const records = [
				this.record('instances', w.instances, (k, s) => `${k}=${this.state(s)}`),
				this.record('aliases', w.aliases, (k, path) => `${k}=${path}`),
				this.record('derived', w.derived, (k, p) => `${k}=${p.instance}/${p.stale}`),
				this.record('checkVars', w.checkVars, (k, c) => `${k}=${c.instance}${c.locks ? '/locks' : ''}`),
				this.record('spins', w.spins, (k) => k),
			];
			id = this.id(`${records.join(';')};${w.irqOff}/${w.irqFlags ?? ''};${w.sleepable};${w.atomicReason?.why ?? ''}`);
			this.gpcIds.set(w, id);
		}
		return id;
	}

	/** The whole world: its gpc state and what it knows of plain variables. */
	full(w: World): number {
		let id = this.fullIds.get(w);
		if (id === undefined) {
			const known = this.record('known', w.known, (k, v) => `${k}:${v}`);
			const values = this.record('values', w.values, (k, v) => `${k}=${v}`);
			id = this.id(`${this.gpcState(w)};${known};${values}`);
			this.fullIds.set(w, id);
		}
		return id;
	}

	private state(s: InstanceState): number {
		let id = this.stateIds.get(s);
		if (id === undefined) {
			id = this.id([
				s.held, s.byCaller ? 'c' : '', s.hold?.id ?? '', s.hold?.variant ?? '', s.hold?.flags ?? '', s.hold?.irqPairFlags ?? '',
				s.valid, siteKey(s.checkSite), siteKey(s.failedSite), siteKey(s.ignoredCheck), siteKey(s.dropped?.unlock),
				siteKey(s.dirty?.write), siteKey(s.dirty?.unlock), siteKey(s.dirty?.markedAfterUnlock), s.life, siteKey(s.foreignCheck?.site), siteKey(s.refreshedAfter), siteKey(s.lastFailedCheck),
			].join(','));
			this.stateIds.set(s, id);
		}
		return id;
	}

	/** A record's entries in key order, each formatted by `entry`. */
	private record<R extends keyof Records>(kind: R, record: Records[R], entry: (key: string, value: Records[R][string]) => string): number {
		const ids: Map<object, number> = this.recordIds[kind];
		let id = ids.get(record);
		if (id === undefined) {
			id = this.id(`${kind}:${Object.keys(record).sort().map((k) => entry(k, record[k] as Records[R][string])).join(';')}`);
			ids.set(record, id);
		}
		return id;
	}

	private id(key: string): number {
		let id = this.ids.get(key);
		if (id === undefined) {
			id = this.ids.size;
			this.ids.set(key, id);
		}
		return id;
	}
}

function intersectKnown<T>(a: Record<string, T>, b: Record<string, T>): Record<string, T> {
	const out: Record<string, T> = {};
	for (const [k, v] of Object.entries(a)) if (b[k] === v) out[k] = v;
	return out;
}

/** Whether `w` knows all that `other` knows of plain variables (then `other` is their merge). */
function knowsAllOf(w: World, other: World): boolean {
	for (const k in other.known) if (w.known[k] !== other.known[k]) return false;
	for (const k in other.values) if (w.values[k] !== other.values[k]) return false;
	return true;
}

function joinDerived(a: Record<string, DerivedPointer>, b: Record<string, DerivedPointer>): Record<string, DerivedPointer> {
	const out: Record<string, DerivedPointer> = {};
	for (const [k, p] of Object.entries(a)) {
		const q = b[k];
		if (q && q.instance === p.instance) out[k] = { ...p, stale: joinTri(p.stale, q.stale) };
	}
	return out;
}

function joinTri(a: Tri, b: Tri): Tri {
	return a === b ? a : 'maybe';
}

function joinInstance(a: InstanceState | undefined, b: InstanceState | undefined, fallback: InstanceState): InstanceState {
	const x = a ?? fallback;
	const y = b ?? fallback;
	return {
		held: joinTri(x.held, y.held),
		...(x.byCaller && y.byCaller ? { byCaller: true } : {}),
		hold: joinHold(x.hold, y.hold),
		valid: joinTri(x.valid, y.valid),
		checkSite: x.checkSite === y.checkSite ? x.checkSite : undefined,
		failedSite: x.failedSite === y.failedSite ? x.failedSite : undefined,
		ignoredCheck: x.ignoredCheck === y.ignoredCheck ? x.ignoredCheck : undefined,
		foreignCheck: x.foreignCheck?.site === y.foreignCheck?.site ? x.foreignCheck : undefined,
		refreshedAfter: x.refreshedAfter === y.refreshedAfter ? x.refreshedAfter : undefined,
		lastFailedCheck: x.lastFailedCheck === y.lastFailedCheck ? x.lastFailedCheck : undefined,
		dropped: x.dropped && y.dropped ? x.dropped : undefined,
		dirty: x.dirty && y.dirty ? x.dirty : undefined,
		life: x.life === y.life ? x.life : 'unknown',
		lifeSite: x.lifeSite === y.lifeSite ? x.lifeSite : undefined,
	};
}

/** Holds taken at different sites (before a loop and inside it) join if they are the same kind. */
function joinHold(a: Hold | undefined, b: Hold | undefined): Hold | undefined {
	if (!a || !b) return undefined;
	if (a.id === b.id) return a;
	const same = a.mode === b.mode && a.variant === b.variant && a.flags === b.flags && a.irqPairFlags === b.irqPairFlags && a.trylock === b.trylock;
	return same ? a : undefined;
}

/** Lattice join of two worlds: disagreement becomes `maybe`, which reports nothing. */
export function joinWorlds(a: World, b: World, fallback: (instance: string) => InstanceState): World {
	const instances: Record<string, InstanceState> = {};
	for (const k of new Set([...Object.keys(a.instances), ...Object.keys(b.instances)])) {
		instances[k] = joinInstance(a.instances[k], b.instances[k], fallback(k));
	}
	const pick = <T>(x: Record<string, T>, y: Record<string, T>, eq: (p: T, q: T) => boolean) => {
		const out: Record<string, T> = {};
		for (const [k, v] of Object.entries(x)) if (k in y && eq(v, y[k])) out[k] = v;
		return out;
	};
	return {
		instances,
		aliases: pick(a.aliases, b.aliases, (p, q) => p === q),
		derived: joinDerived(a.derived, b.derived),
		known: intersectKnown(a.known, b.known),
		values: intersectKnown(a.values, b.values),
		checkVars: pick(a.checkVars, b.checkVars, (p, q) => p.instance === q.instance),
		irqOff: joinTri(a.irqOff, b.irqOff),
		irqFlags: a.irqFlags === b.irqFlags ? a.irqFlags : undefined,
		irqSite: a.irqSite === b.irqSite ? a.irqSite : undefined,
		spins: pick(a.spins, b.spins, () => true),
		atomicReason: joinAtomicReason(a.atomicReason, b.atomicReason),
		sleepable: a.sleepable && b.sleepable,
	};
}

/** Both paths atomic: still atomic, but of one calling context only if both came from it. */
function joinAtomicReason(a: World['atomicReason'], b: World['atomicReason']): World['atomicReason'] {
	if (!a || !b) return undefined;
	return a.context === b.context ? a : { why: a.why, site: a.site };
}

/**
 * Merges a list of worlds: equal gpc state merges exactly; beyond `limit`
 * distinct worlds, the most recent are folded together with the lattice join.
 */
export function mergeWorlds(worlds: World[], limit: number, fallback: (instance: string) => InstanceState, keys: WorldKeys): World[] {
	const byKey = new Map<number, World>();
	for (const w of worlds) {
		const key = keys.gpcState(w);
		const seen = byKey.get(key);
		if (!seen) byKey.set(key, w);
		else if (!knowsAllOf(w, seen)) byKey.set(key, { ...seen, known: intersectKnown(seen.known, w.known), values: intersectKnown(seen.values, w.values) });
	}
	const out = [...byKey.values()];
	while (out.length > limit) {
		const last = out.pop()!;
		out[out.length - 1] = joinWorlds(out[out.length - 1], last, fallback);
	}
	return out;
}

export function sameWorlds(a: World[], b: World[], keys: WorldKeys): boolean {
	if (a.length !== b.length) return false;
	const ids = new Set(a.map((w) => keys.full(w)));
	return b.every((w) => ids.has(keys.full(w)));
}

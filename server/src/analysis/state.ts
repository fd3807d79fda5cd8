// The abstract state the dataflow carries: a small set of "worlds", each a
// conjunction of facts about every gpc instance the function touches. A world is the
// union of the models' slices (models/): each model owns its fields, their join and their
// share of the key, and this file composes them.
import type { AtomicWorld } from './models/atomic';
import type { DirtyState } from './models/dirty';
import { INSTANCE_SLICES, LOCAL_RECORDS, WORLD_SLICES } from './models/index';
import type { LifeState } from './models/lifecycle';
import type { LockState } from './models/locks';
import type { PointerWorld } from './models/pointers';
import type { Records } from './models/records';
import type { ValidityState, ValidityWorld } from './models/validity';
import type { VariableWorld } from './models/variables';
import { deleteEntry } from './models/records';

export type { Tri } from './models/types';
export type { Hold } from './models/locks';
export type { DerivedPointer } from './models/pointers';
export { deleteEntry, setEntry } from './models/records';

/** One gpc instance's state on a path: each model's slice. */
export type InstanceState = LockState & ValidityState & DirtyState & LifeState;

export type World = { instances: Record<string, InstanceState> } & PointerWorld & ValidityWorld & AtomicWorld & VariableWorld;

const GPC_SLICES = WORLD_SLICES.filter((s) => !s.plain);
const PLAIN_SLICES = WORLD_SLICES.filter((s) => s.plain);

export function emptyWorld(): World {
	return Object.assign({ instances: {} }, ...WORLD_SLICES.map((s) => s.empty())) as World;
}

/**
 * A copy to transfer a statement on. It shares its records and instance states with `w` (a
 * world is never changed once made: copying every record per statement and world was most
 * of the dataflow's time), so writes go through setEntry/deleteEntry and the interpreter's
 * copy of an instance state.
 */
export function cloneWorld(w: World): World {
	return { ...w };
}

/** An assignment to the local `name`: what the world knew of its old value goes. */
export function forgetLocal(name: string, w: World): void {
	for (const record of LOCAL_RECORDS) deleteEntry(w, record, name);
}

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
	private readonly recordIds = new Map<keyof Records, Map<object, number>>();

	/** The gpc-relevant part of a world; worlds equal here merge by intersecting the plain models' knowledge. */
	gpcState(w: World): number {
		let id = this.gpcIds.get(w);
		if (id === undefined) {
			const instances = this.record('instances', w.instances, (k, s) => `${k}=${this.state(s)}`);
			id = this.id(`${instances}|${GPC_SLICES.map((s) => s.key(w, this)).join('|')}`);
			this.gpcIds.set(w, id);
		}
		return id;
	}

	/** The whole world: its gpc state and what it knows of plain variables. */
	full(w: World): number {
		let id = this.fullIds.get(w);
		if (id === undefined) {
			id = this.id(`${this.gpcState(w)}|${PLAIN_SLICES.map((s) => s.key(w, this)).join('|')}`);
			this.fullIds.set(w, id);
		}
		return id;
	}

	private state(s: InstanceState): number {
		let id = this.stateIds.get(s);
		if (id === undefined) {
			id = this.id(INSTANCE_SLICES.map((m) => m.key(s).join(',')).join(','));
			this.stateIds.set(s, id);
		}
		return id;
	}

	/** A record's entries in key order, each formatted by `entry`. */
	record<R extends keyof Records>(kind: R, record: Records[R], entry: (key: string, value: Records[R][string]) => string): number {
		let ids = this.recordIds.get(kind);
		if (!ids) this.recordIds.set(kind, (ids = new Map()));
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

function joinInstance(a: InstanceState | undefined, b: InstanceState | undefined, fallback: InstanceState): InstanceState {
	const x = a ?? fallback;
	const y = b ?? fallback;
	return Object.assign({}, ...INSTANCE_SLICES.map((m) => m.join(x, y))) as InstanceState;
}

/** Lattice join of two worlds: disagreement becomes `maybe`, which reports nothing. */
export function joinWorlds(a: World, b: World, fallback: (instance: string) => InstanceState): World {
	const instances: Record<string, InstanceState> = {};
	for (const k of new Set([...Object.keys(a.instances), ...Object.keys(b.instances)])) {
		instances[k] = joinInstance(a.instances[k], b.instances[k], fallback(k));
	}
	return Object.assign({ instances }, ...WORLD_SLICES.map((s) => s.join(a, b))) as World;
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
		else if (!PLAIN_SLICES.every((s) => s.plain!.knowsAllOf(w, seen))) byKey.set(key, Object.assign({ ...seen }, ...PLAIN_SLICES.map((s) => s.join(seen, w))) as World);
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

// The contract of a model: one concern of the dataflow's state (locks, validity, derived
// pointers, atomic context, dirty tracking, lifecycle, plain variables). Each owns its
// slice of a world or of an instance state, and says how two paths' slices join and which
// of its fields tell worlds apart; state.ts composes the models into the world the
// interpreter carries, so a new concern adds a model here instead of editing every list.
import type { SyntaxNode } from '../../parse/parser';
import type { GpcRole } from '../api';
import type { InstanceState, World, WorldKeys } from '../state';
import type { Records } from './records';

/** yes / no are facts on every path the world stands for; maybe suppresses reports. */
export type Tri = 'yes' | 'no' | 'maybe';

export function joinTri(a: Tri, b: Tri): Tri {
	return a === b ? a : 'maybe';
}

/** A model's part of every world. */
export interface WorldSlice<S extends Partial<World>> {
	/** Its fields in a world at the function's entry. */
	empty(): S;
	/** Its fields where two paths meet: what both agree on, the rest unknown. */
	join(a: World, b: World): S;
	/** Its fields' share of the world's key (equal keys, equal slices). */
	key(w: World, keys: WorldKeys): string;
	/** Records keyed by a local variable's name: assigning the variable forgets its entry. */
	locals?: readonly (keyof Records)[];
	/**
	 * Knowledge of plain variables rather than gpc state: left out of the key that merges
	 * worlds (worlds equal but for it merge by keeping what both know, `join`), kept in the
	 * key of the fixpoint test.
	 */
	plain?: { knowsAllOf(w: World, other: World): boolean };
}

/** A model's part of every gpc instance's state. */
export interface InstanceSlice<S extends Partial<InstanceState>> {
	/** Its fields where two paths meet. */
	join(x: InstanceState, y: InstanceState): S;
	/** Its fields that tell two instance states apart. */
	key(s: InstanceState): (string | number)[];
}

/**
 * What a model does at the gpc events the interpreter meets (effects.ts runs every model's,
 * in MODELS order, after the rules observed the event). `s` is the instance state this
 * transfer owns; `own` gives it that of another instance.
 */
export interface ModelEvents {
	/** The cache's lock was taken: a new hold. */
	acquired?(s: InstanceState): void;
	/** The hold ends at `site`; the lock's own state (locks) still says how it was held. */
	released?(s: InstanceState, site: SyntaxNode, instance: string, w: World): void;
	/** A gpc API call on the cache. */
	gpcCall?(s: InstanceState, role: GpcRole, site: SyntaxNode, instance: string, w: World, own: (instance: string) => InstanceState): void;
	/** A write through the mapping under the hold the cache was validated under. */
	wrote?(s: InstanceState, site: SyntaxNode): void;
}

export interface Model<W extends Partial<World> = Partial<World>, I extends Partial<InstanceState> = Partial<InstanceState>> {
	name: string;
	world?: WorldSlice<W>;
	instance?: InstanceSlice<I>;
	events?: ModelEvents;
}

/** A site's share of a key: its offset (sites of one function are told apart by it). */
export const siteKey = (n?: { startIndex: number }) => (n ? n.startIndex : -1);

/** The entries of `x` that `y` has too and that `eq` finds equal. */
export function pick<T>(x: Record<string, T>, y: Record<string, T>, eq: (p: T, q: T) => boolean): Record<string, T> {
	const out: Record<string, T> = {};
	for (const [k, v] of Object.entries(x)) if (k in y && eq(v, y[k])) out[k] = v;
	return out;
}

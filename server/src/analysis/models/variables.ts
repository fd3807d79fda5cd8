// Plain variables: the truth of locals and parameters learnt from conditions and
// assignments, and their values known equal to a named constant. They prune infeasible
// paths (and the calling contexts' bound parameters enter here); worlds that differ only
// in them merge, keeping what both know.
import type { World } from '../state';
import { setEntry } from './records';
import type { Model } from './types';

export interface VariableWorld {
	/** Truthiness of locals and parameters learnt from conditions and assignments. */
	known: Record<string, boolean>;
	/** Values of locals and parameters known equal to a constant (`state == RUNSTATE_runnable`). */
	values: Record<string, string>;
}

/** `name` is known `value` on this path; false when the path already knows otherwise (infeasible). */
export function learnTruth(name: string, value: boolean, w: World): boolean {
	if (w.known[name] !== undefined && w.known[name] !== value) return false;
	setEntry(w, 'known', name, value);
	return true;
}

/** `name == constant` is `equal` on this path; false when that contradicts what the path knows. */
export function learnEquality(name: string, constant: string, equal: boolean, w: World): boolean {
	const known = w.values[name];
	if (known !== undefined) return (known === constant) === equal;
	if (equal) setEntry(w, 'values', name, constant);
	return true;
}

function intersect<T>(a: Record<string, T>, b: Record<string, T>): Record<string, T> {
	const out: Record<string, T> = {};
	for (const [k, v] of Object.entries(a)) if (b[k] === v) out[k] = v;
	return out;
}

export const variables: Model<VariableWorld> = {
	name: 'variables',
	world: {
		empty: () => ({ known: {}, values: {} }),
		join: (a, b) => ({ known: intersect(a.known, b.known), values: intersect(a.values, b.values) }),
		key: (w, keys) => `${keys.record('known', w.known, (k, v) => `${k}:${v}`)};${keys.record('values', w.values, (k, v) => `${k}=${v}`)}`,
		locals: ['known', 'values'],
		plain: {
			knowsAllOf(w, other) {
				for (const k in other.known) if (w.known[k] !== other.known[k]) return false;
				for (const k in other.values) if (w.values[k] !== other.values[k]) return false;
				return true;
			},
		},
	},
};

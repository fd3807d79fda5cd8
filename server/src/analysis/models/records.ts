// Writing a world's records. A world is never changed once made (worlds share their
// records), so a transfer writes a record by replacing it with a copy.
import type { World } from '../state';

/** The world's records, by field: each maps a name (a local, an instance, a lock) to an entry. */
export type Records = Pick<World, 'instances' | 'aliases' | 'derived' | 'known' | 'values' | 'checkVars' | 'spins'>;

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

// Versions stated in the docs, checked against the data the tool reports and
// against upstream history: "KVM: Fix multiple races in gfn=>pfn cache refresh"
// (58cd407ca4c6) and "KVM: Fully serialize gfn=>pfn cache refresh via mutex"
// (93984f19e7bc) landed in 6.0-rc1; 5.19.0 still sets `valid = true` before the
// new mapping exists and has no refresh_lock.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listVariants } from '../../server/src/simulator';
import { REPO } from '../helpers';

/** The variant table of docs/SIMULATOR.md: id → the release column. */
function documentedReleases(): Map<string, string> {
	const lines = readFileSync(join(REPO, 'docs', 'SIMULATOR.md'), 'utf8').split('\n');
	const cellsOf = (l: string) => l.split('|').map((c) => c.trim());
	const start = lines.findIndex((l) => /^\| id \|.*\| release \|/.test(l));
	if (start < 0) throw new Error('docs/SIMULATOR.md has no variant table with a release column');
	const column = cellsOf(lines[start]).indexOf('release');
	// The table's rows: up to the first line that is not a table row.
	const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
	const rows = lines.slice(start + 2, end < 0 ? undefined : end);
	return new Map(rows.map((l) => [cellsOf(l)[1].replace(/`/g, ''), cellsOf(l)[column]]));
}

describe('release versions of the simulator variants', () => {
	it('dates the two 2022 refresh fixes to 6.0-rc1, not 5.19', () => {
		const release = (id: string) => listVariants().find((v) => v.id === id)?.release;
		expect(release('valid-before-map')).toBe('6.0-rc1');
		expect(release('no-refresh-mutex')).toBe('6.0-rc1');
		expect(documentedReleases().get('valid-before-map')).toBe('6.0-rc1');
		expect(documentedReleases().get('no-refresh-mutex')).toBe('6.0-rc1');
	});

	it('states in docs/SIMULATOR.md the release each variant reports', () => {
		const documented = documentedReleases();
		// '—' in the table and '-' in the data both say "no fix".
		const plain = (r: string | undefined) => r?.replace(/—/g, '-');
		for (const v of listVariants()) if (documented.has(v.id)) expect(plain(documented.get(v.id)), v.id).toBe(plain(v.release));
		expect(documented.size).toBeGreaterThanOrEqual(7);
	});
});

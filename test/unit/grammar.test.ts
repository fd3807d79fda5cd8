// The wasm grammar the build copied is the one provenance.json records.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers';

const provenance = JSON.parse(readFileSync(join(REPO, 'grammars/provenance.json'), 'utf8')) as Record<string, { package: string; version: string; source: string; sha256: string }>;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('grammar provenance', () => {
	for (const [target, record] of Object.entries(provenance)) {
		it(`${target} comes from ${record.package}@${record.version}`, () => {
			const pkg = JSON.parse(readFileSync(join(REPO, 'node_modules', record.package, 'package.json'), 'utf8'));
			expect(pkg.version).toBe(record.version);
			expect(sha256(join(REPO, record.source))).toBe(record.sha256);
			expect(sha256(join(REPO, 'grammars', target))).toBe(record.sha256);
		});
	}
});

// The extension bundle (dist/extension.js) holds the client and the protocol, no
// analysis code: what the client needs of the server is data (the rule catalogue,
// the gpc identifiers) re-exported by server/src/protocol.ts, or a request.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers';

const bundle = join(REPO, 'dist', 'extension.js');
/** The only server modules the client may bundle: the protocol and the data it re-exports. */
const SHARED = ['server/src/protocol.ts', 'server/src/catalogue.ts', 'server/src/vocabulary.ts'];

describe('dist/extension.js', () => {
	it('bundles, of server/src, only the protocol and its data', () => {
		const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[] };
		const server = map.sources.map((s) => s.replace(/^(\.\.\/)+/, '')).filter((s) => s.startsWith('server/'));
		expect(server.sort()).toEqual([...SHARED].sort());
	});

	it('holds no analysis code, parser or grammar', () => {
		const text = readFileSync(bundle, 'utf8');
		for (const marker of ['web-tree-sitter', 'tree-sitter-c.wasm', 'analyzeFunction', 'extractFacts', 'planUsageRemoval', 'returns with', 'WorkerPool']) {
			expect(text, marker).not.toContain(marker);
		}
		// The catalogue is there, as data.
		expect(text).toContain('gpc-dead-usage-flag');
	});

	it('stays small (818 KB in 2026-12, nearly all vscode-languageclient)', () => {
		expect(statSync(bundle).size).toBeLessThan(900 * 1024);
	});
});

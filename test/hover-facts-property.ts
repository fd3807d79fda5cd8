// Hovers with the facts the analysis kept (hoverFacts.ts) and with the dataflow run at
// hover time, for the unit and kernel tiers: they must say the same.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineResult } from '../server/src/analysis/engine';
import { hover } from '../server/src/features/hover';
import { engine } from './helpers';

const TARGETS = /\b(kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+|read_lock\w*|write_lock\w*|scoped_guard|guard)\s*\(|->\s*(khva|pfn)\b/g;

export function cFiles(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		return statSync(path).isDirectory() ? cFiles(path) : /\.[ch]$/.test(name) ? [path] : [];
	});
}

/** Each hover of `file` with the kept facts and with the facts withheld (the dataflow then runs). */
export async function hoversBothWays(root: string, result: EngineResult, file: string): Promise<{ kept: string[]; computed: string[]; fromFacts: number }> {
	const text = readFileSync(join(root, file), 'utf8');
	const tree = (await engine()).parser.parse(text)!;
	const withheld: EngineResult = { ...result, hoverFacts: () => undefined };
	let fromFacts = 0;
	const counting: EngineResult = { ...result, hoverFacts: (...args) => {
		const facts = result.hoverFacts(...args);
		if (facts) fromFacts++;
		return facts;
	} };
	const kept: string[] = [];
	const computed: string[] = [];
	try {
		const lines = text.split('\n');
		for (const [row, line] of lines.entries()) {
			for (const m of line.matchAll(TARGETS)) {
				const character = m[0].startsWith('->') ? m.index + m[0].length - 1 : m.index;
				const position = { line: row, character };
				const ask = (r: EngineResult) => JSON.stringify(hover({ tree, file, result: r, uriOf: (f) => `file:///tree/${f}` }, position));
				kept.push(ask(counting));
				computed.push(ask(withheld));
			}
		}
	} finally {
		tree.delete();
	}
	return { kept, computed, fromFacts };
}


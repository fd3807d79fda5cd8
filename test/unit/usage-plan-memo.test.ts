// The usage plan memo on the demo tree and on every gpc-dead-usage-flag fixture tree.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import { createCParser } from '../../server/src/parse/parser';
import { USAGE_TEXT } from '../../server/src/vocabulary';
import { FIXTURES } from '../helpers';
import { random } from '../memo-property';
import { expectUsageMemoMatchesFresh } from '../usage-memo-property';

function trees(): string[] {
	const root = join(FIXTURES, 'gpc-dead-usage-flag');
	const out = [join(FIXTURES, '..', '..', 'examples', 'demo-kernel')];
	for (const kind of ['bad', 'good']) for (const t of readdirSync(join(root, kind))) out.push(join(root, kind, t));
	for (const t of readdirSync(join(root, 'fix'))) out.push(join(root, 'fix', t, 'before'));
	return out;
}

let parser: Parser;
beforeAll(async () => {
	parser = await createCParser();
});

describe('usage plan memo', () => {
	it('equals a fresh plan after each random edit of the demo tree and of every fixture tree', () => {
		const rand = random(23);
		for (const dir of trees()) {
			const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.[ch]$/.test(f) && statSync(join(dir, f)).isFile()).sort();
			const originals = new Map(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
			const editable = files.filter((f) => USAGE_TEXT.test(originals.get(f)!) || /kvm_gpc_|gfn_to_pfn_cache/.test(originals.get(f)!));
			expectUsageMemoMatchesFresh(parser, originals, editable, { steps: 13, rand, era: dir.includes('6.1') ? '6.1' : '6.2-6.8', label: dir });
		}
	}, 180_000);
});

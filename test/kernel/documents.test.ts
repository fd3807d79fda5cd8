// Incremental reparsing of real kernel files (normalised before parsing, and broken by the
// edits below): after every edit the open document's tree equals a fresh parse of the same
// text; and pass-1 facts spliced after an edit inside one function equal the whole file's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import { DocumentTrees } from '../../server/src/parse/documents';
import { createCParser } from '../../server/src/parse/parser';
import { expectEditedFactsMatch } from '../facts-property';
import { treeShape } from '../helpers';
import { random } from '../memo-property';
import { kernelTree } from './trees';

let parser: Parser;
beforeAll(async () => {
	parser = await createCParser();
});
afterAll(() => parser.delete());

const INSERTS = ['\tint gpcscope_bench = 0;\n', '}\n', '{', '\tif (x)\n', ')', 'BUILD_BUG_ON(offsetof(struct shared_info, wc) != 8);\n', '#endif\n', ''];

describe.each(['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c'])('DocumentTrees on linux-6.12 %s', (file) => {
	it('equals a fresh parse after each of 80 random edits', () => {
		const rand = random(17);
		const docs = new DocumentTrees(parser);
		let text = readFileSync(join(kernelTree('6.12'), file), 'utf8');
		docs.open('file:///k.c', text);
		for (let step = 0; step < 80; step++) {
			const lines = text.split('\n');
			const line = Math.floor(rand() * lines.length);
			const deleteLine = rand() < 0.3;
			const range = { start: { line, character: 0 }, end: deleteLine ? { line: line + 1, character: 0 } : { line, character: 0 } };
			const insert = deleteLine ? '' : INSERTS[Math.floor(rand() * INSERTS.length)];
			text = [...lines.slice(0, line), ...(deleteLine ? lines.slice(line + 1) : [insert + lines[line], ...lines.slice(line + 1)])].join('\n');
			docs.change('file:///k.c', [{ range, text: insert }]);
			const fresh = parser.parse(text)!;
			try {
				expect(docs.get('file:///k.c')!.text).toBe(text);
				expect(treeShape(docs.get('file:///k.c')!.tree), `step ${step}`).toBe(treeShape(fresh));
			} finally {
				fresh.delete();
			}
		}
		docs.dispose();
	});
});

describe.each(['6.12', '6.1'] as const)('pass-1 facts of an edit inside one function, linux-%s', (version) => {
	it.each(['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c'])('equal extracting the whole of %s after each of 60 random edits', (file) => {
		const { spliced, declined, withErrors } = expectEditedFactsMatch(parser, file, readFileSync(join(kernelTree(version), file), 'utf8'), { steps: 60, seed: 23 });
		// Most edits of a body are spliced, some with a parse error inside the function; those
		// whose error reaches past it (or that touch no body) are not.
		expect(spliced).toBeGreaterThan(25);
		expect(withErrors).toBeGreaterThan(0);
		expect(declined).toBeGreaterThan(0);
	});
});

// Open documents keep one tree, edited incrementally: after any sequence of
// edits it must equal a fresh parse of the same text.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import { chunkChecks } from '../../server/src/parse/chunkParse';
import { changedRange, DocumentTrees } from '../../server/src/parse/documents';
import { offsetAt } from '../../server/src/parse/positions';
import { createCParser } from '../../server/src/parse/parser';
import { DEMO, treeShape } from '../helpers';

let parser: Parser;
beforeAll(async () => {
	parser = await createCParser();
});
afterAll(() => parser.delete());

const source = readFileSync(join(DEMO, 'arch/x86/kvm/xen.c'), 'utf8');

function positionOf(text: string, offset: number) {
	const before = text.slice(0, offset);
	const line = before.split('\n').length - 1;
	return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

/** Pieces the normalisation rewrites (parse/normalise.ts): an edit may switch one on or off far from itself. */
const KERNEL_PIECES = ['#ifdef CONFIG_X\n', '#else\n', '#endif\n', ' ||\n', '} else\n', 'list_for_each_entry(a, b, c)', ' __user ', 'case 1 ... 3:', 'container_of(a, struct b, c)'];

describe('DocumentTrees', () => {
	it('matches a fresh parse after random incremental edits', () => {
		fc.assert(
			fc.property(
				fc.array(fc.tuple(fc.nat(), fc.nat(40), fc.constantFrom('', ';', '{', '}', 'read_unlock(&gpc->lock);\n', '\n', 'x', '/*', 'if (a)\n', ...KERNEL_PIECES)), { minLength: 1, maxLength: 8 }),
				(edits) => {
					const docs = new DocumentTrees(parser);
					let text = source;
					docs.open('file:///t.c', text);
					for (const [at, length, insert] of edits) {
						const start = at % (text.length + 1);
						const end = Math.min(text.length, start + length);
						const range = { start: positionOf(text, start), end: positionOf(text, end) };
						expect(offsetAt(text, range.start)).toBe(start);
						text = text.slice(0, start) + insert + text.slice(end);
						docs.change('file:///t.c', [{ range, text: insert }]);
					}
					const fresh = parser.parse(text)!;
					expect(treeShape(docs.get('file:///t.c')!.tree)).toBe(treeShape(fresh));
					fresh.delete();
					docs.dispose();
					expect(docs.size).toBe(0);
				},
			),
			{ numRuns: 150, seed: 42 },
		);
	});
});

describe('DocumentTrees and the kernel normalisation', () => {
	it('re-parses what an edit switched on or off away from itself (an #ifdef group that became part of an expression)', () => {
		const docs = new DocumentTrees(parser);
		const lines = ['int f(void)', '{', '\tx = a(1);', '#ifdef CONFIG_X', '\tb(2);', '#else', '\tc(3);', '#endif', '\treturn x;', '}', ''];
		let text = lines.join('\n');
		docs.open('file:///g.c', text);
		// `x = a(1) +` and the #ifdef group is inside the expression: its directives are blanked and
		// its #else branch hidden, lines below the typed character; then `;` again, and back.
		for (const insert of [' +', ';', ' +', ';']) {
			const offset = text.indexOf('a(1)') + 4;
			const end = offset + (text[offset] === ';' ? 1 : 2);
			const range = { start: positionOf(text, offset), end: positionOf(text, end) };
			text = text.slice(0, offset) + insert + text.slice(end);
			const tree = docs.change('file:///g.c', [{ range, text: insert }])!;
			expect(tree.rootNode.hasError).toBe(false);
			const fresh = parser.parse(text)!;
			expect(tree.rootNode.toString()).toBe(fresh.rootNode.toString());
			fresh.delete();
		}
		docs.dispose();
	});
});

describe('DocumentTrees with a parse error in the edited chunk', () => {
	it('keeps the incremental tree when the chunk parses as it does alone, and parses afresh when the error reaches past it', () => {
		const docs = new DocumentTrees(parser);
		let text = source;
		docs.open('file:///e.c', text);
		const edit = (insert: string, where: string) => {
			const at = text.indexOf('\n', text.indexOf(where)) + 1;
			const range = { start: positionOf(text, at), end: positionOf(text, at) };
			text = text.slice(0, at) + insert + text.slice(at);
			const before = { ...chunkChecks };
			const tree = docs.change('file:///e.c', [{ range, text: insert }])!;
			const fresh = parser.parse(text)!;
			expect(tree.rootNode.hasError).toBe(true);
			expect(tree.rootNode.toString()).toBe(fresh.rootNode.toString());
			fresh.delete();
			return { kept: chunkChecks.kept - before.kept, reparsed: chunkChecks.reparsed - before.reparsed };
		};
		// A half-typed condition inside one function: the error stays in its chunk.
		expect(edit('\tif (x\n', 'kvm_xen_shared_info_init(')).toEqual({ kept: 1, reparsed: 0 });
		// An unclosed brace: everything below is inside it, a fresh parse decides.
		expect(edit('\tif (x) {\n', 'kvm_xen_destroy_vm(')).toEqual({ kept: 0, reparsed: 1 });
		docs.dispose();
	});
});

describe('changedRange', () => {
	it('covers the typed change and whatever the normalisation changed before or after it', () => {
		// Typed: [5, 6) → [5, 6); the normalisation also changed offsets 1 and 8.
		expect(changedRange('aXbbbYcVd', 'aZbbbWcUd', 5, 6, 6)).toEqual({ start: 1, oldEnd: 8, newEnd: 8 });
		expect(changedRange('abcdef', 'abXdef', 2, 3, 3)).toEqual({ start: 2, oldEnd: 3, newEnd: 3 });
		// An insertion of a repeated character: prefix and suffix must not overlap.
		expect(changedRange('aaaa', 'aaaaa', 4, 4, 5)).toEqual({ start: 4, oldEnd: 4, newEnd: 5 });
		expect(changedRange('aaaa', 'aaaaa', 0, 0, 1)).toEqual({ start: 0, oldEnd: 0, newEnd: 1 });
	});
});

describe('DocumentTrees size limit', () => {
	it('keeps only the text of a document over the limit, parses it once an edit or a raised limit lets it in', () => {
		let limit = source.length + 10;
		const docs = new DocumentTrees(parser, () => limit);
		const big = `${source}/* ${'x'.repeat(100)} */\n`;
		expect(docs.open('file:///big.c', big)).toBeUndefined();
		expect(docs.get('file:///big.c')).toBeUndefined();
		expect(docs.oversized('file:///big.c')).toBe(Buffer.byteLength(big));
		// An edit back under the limit: parsed, equal to a fresh parse.
		const end = positionOf(big, big.length);
		const start = positionOf(big, source.length);
		const tree = docs.change('file:///big.c', [{ range: { start, end }, text: '' }]);
		const fresh = parser.parse(source)!;
		expect(tree?.rootNode.toString()).toBe(fresh.rootNode.toString());
		fresh.delete();
		expect(docs.oversized('file:///big.c')).toBeUndefined();
		// Lowering the limit drops the tree; raising it again parses the text.
		limit = 100;
		docs.refit('file:///big.c');
		expect(docs.get('file:///big.c')).toBeUndefined();
		limit = Infinity;
		docs.refit('file:///big.c');
		expect(docs.get('file:///big.c')?.text).toBe(source);
		docs.dispose();
	});
});

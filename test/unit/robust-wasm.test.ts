// The wasm boundary: tree-sitter's parent/sibling lookups of zero-width nodes recurse on the
// wasm stack and, in a deep tree, silently corrupt the heap. parse/parser.ts routes them
// through a tree cursor; this checks the result equals tree-sitter's own where that is safe,
// and that deep lookups leave the heap intact (a reference parse stays identical).
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import { createCParser, parentByCursor, type SyntaxNode, type Tree } from '../../server/src/parse/parser';
import { DEMO } from '../helpers';
import { mutate, mutationArb, repoSeeds } from '../reliability/harness';

let parser: Parser;
beforeAll(async () => {
	parser = await createCParser();
});
afterAll(() => parser.delete());

function* nodes(tree: Tree): Generator<SyntaxNode> {
	const cursor = tree.walk();
	try {
		for (;;) {
			yield cursor.currentNode;
			if (cursor.gotoFirstChild()) continue;
			while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) return;
		}
	} finally {
		cursor.delete();
	}
}

const REFERENCE = readFileSync(join(DEMO, 'arch/x86/kvm/xen.c'), 'utf8');
function referenceParse(): string {
	const t = parser.parse(REFERENCE)!;
	try {
		return t.rootNode.toString();
	} finally {
		t.delete();
	}
}

describe('zero-width node navigation', () => {
	it('finds the same parents and siblings as tree-sitter on mutated fixtures', () => {
		const seeds = repoSeeds().filter((s) => /^test\/fixtures\/gpc-[a-z-]+\/(bad|good)\/[^/]+\.c$/.test(s.name));
		let zeroWidth = 0;
		let checked = 0;
		fc.assert(
			fc.property(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (pick, ms) => {
				const { text } = mutate(seeds[pick % seeds.length].text, ms.filter((m) => m.kind !== 'nest'));
				const tree = parser.parse(text)!;
				try {
					for (const n of nodes(tree)) {
						checked++;
						const viaCursor = parentByCursor(n);
						if (n.startIndex !== n.endIndex) expect(viaCursor?.id).toBe(n.parent?.id);
						else {
							zeroWidth++;
							const kids = viaCursor ? viaCursor.children.map((k) => k!.id) : [];
							if (viaCursor) expect(kids).toContain(n.id);
							const i = kids.indexOf(n.id);
							expect(n.nextSibling?.id).toBe(kids[i + 1]);
							expect(n.previousSibling?.id).toBe(i > 0 ? kids[i - 1] : undefined);
						}
					}
				} finally {
					tree.delete();
				}
			}),
			{ numRuns: 150, seed: 3 },
		);
		expect(zeroWidth).toBeGreaterThan(0);
		console.log(`robust-wasm: ${checked} nodes, ${zeroWidth} zero-width`);
	}, 60_000);

	it('deep zero-width lookups leave the wasm heap intact', () => {
		const before = referenceParse();
		for (const depth of [250, 400, 1000, 3000]) {
			const tree = parser.parse('void f(void)\n{\n' + '{'.repeat(depth) + 'x = g(1;' + '}'.repeat(depth) + '\n}\n')!;
			try {
				const missing = [...nodes(tree)].find((n) => n.isMissing)!;
				expect(missing).toBeDefined();
				let levels = 0;
				for (let p = missing.parent; p; p = p.parent) levels++;
				expect(levels).toBeGreaterThan(depth);
				void missing.nextSibling;
				void missing.previousNamedSibling;
			} finally {
				tree.delete();
			}
			expect(referenceParse(), `after depth ${depth}`).toBe(before);
		}
	}, 60_000);
});

// The usage plan's shortcuts to whole-tree walks (text search then node
// lookup, nodes of a type found from the matches in the text, ERROR regions
// from the subtrees with an error) must find exactly what the plain walks
// find, on the fixture trees and on random edits of them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import { createCParser, type SyntaxNode } from '../../server/src/parse/parser';
import { nodesMatching, ParsedFiles, wordsPattern } from '../../server/src/usage/files';
import { gpcStructFields } from '../../server/src/usage/struct';
import { calleeIdentifier } from '../../server/src/parse/nodes';
import { callsOf, identifiersNamed } from '../../server/src/usage/syntax';
import { FIXTURES } from '../helpers';
import { random } from '../memo-property';

/** The bodies' pattern: enum members, a removed field read through `->` / `.`. */
const MENTIONS = /\b(?:KVM_GUEST_USES_PFN|KVM_HOST_USES_PFN)\b|(?:->|\.)\s*(?:usage|vcpu)\b/g;
const NAMES = ['kvm_gpc_init', 'kvm_gpc_activate', 'kvm_gfn_to_pfn_cache_init', 'kvm_gpc_refresh', 'usage', 'vcpu'];
/** Lines that put the names where a text search finds them but the walk must not, and where both must. */
const INSERTS = [
	'\tkvm_gpc_init(gpc, kvm, NULL, KVM_HOST_USES_PFN);',
	'/* kvm_gpc_init(gpc) in a comment */',
	'\tconst char *s = "kvm_gpc_activate(";',
	'#define WRAP(x) kvm_gpc_init(x)',
	'\t(kvm_gpc_init)(gpc);',
	'\tx.kvm_gpc_refresh(gpc, 8);',
	'\tfn = &kvm_gfn_to_pfn_cache_init;',
	'\tkvm_gpc_initx(gpc); xkvm_gpc_init(gpc); kvm_gpc_init(kvm_gpc_init(a), usage);',
	'\t{',
	'\t}',
	'enum pfn_cache_usage { KVM_GUEST_USES_PFN = 1 };',
	'struct gfn_to_pfn_cache { int usage; struct kvm_vcpu *vcpu; };',
];

function sources(dir: string): string[] {
	return readdirSync(dir, { recursive: true, encoding: 'utf8' })
		.filter((f) => /\.[ch]$/.test(f))
		.map((f) => readFileSync(join(dir, f), 'utf8'));
}

const starts = (nodes: (SyntaxNode | null)[]) => nodes.map((n) => `${n!.type}@${n!.startIndex}-${n!.endIndex}`);

let parser: Parser;
beforeAll(async () => {
	parser = await createCParser();
});

describe('usage walks', () => {
	it('equal the plain tree walks on every fixture file and on random edits of them', () => {
		const texts = [...sources(join(FIXTURES, 'gpc-dead-usage-flag')), ...sources(join(FIXTURES, '..', '..', 'examples', 'demo-kernel'))];
		expect(texts.length).toBeGreaterThan(20);
		const rand = random(11);
		let checked = 0;
		for (const original of texts) {
			let text = original;
			for (let round = 0; round < 6; round++) {
				const files = new ParsedFiles(parser);
				const f = files.add({ file: 'a.c', read: () => text });
				const root = f.tree.rootNode;
				expect(f.errors).toEqual(root.descendantsOfType('ERROR').map((e) => [e!.startIndex, e!.endIndex]));
				const names = NAMES.filter(() => rand() < 0.7);
				expect(starts(identifiersNamed(f, names))).toEqual(starts(root.descendantsOfType('identifier').filter((n) => names.includes(n!.text))));
				expect(starts(callsOf(f, names))).toEqual(
					starts(root.descendantsOfType('call_expression').filter((c) => names.includes(calleeIdentifier(c!) ?? ''))),
				);
				for (const pattern of [wordsPattern(names), wordsPattern(['pfn_cache_usage', 'gfn_to_pfn_cache']), /pfn_cache_usage/g, MENTIONS]) {
					const matches = (n: SyntaxNode | null) => new RegExp(pattern.source).test(n!.text);
					for (const types of [['declaration', 'function_definition'], ['function_definition'], ['enum_specifier'], ['field_declaration'], ['struct_specifier']]) {
						expect(starts(nodesMatching(f, pattern, ...types))).toEqual(starts(root.descendantsOfType(types).filter(matches)));
					}
				}
				const inGpcStruct = (d: SyntaxNode | null) =>
					d!.parent?.parent?.type === 'struct_specifier' && d!.parent.parent.childForFieldName('name')?.text === 'gfn_to_pfn_cache';
				expect(starts(gpcStructFields(f))).toEqual(starts(root.descendantsOfType('field_declaration').filter(inGpcStruct)));
				files.dispose();
				checked++;
				const lines = text.split('\n');
				const at = Math.floor(rand() * lines.length);
				if (rand() < 0.8) lines.splice(at, 0, INSERTS[Math.floor(rand() * INSERTS.length)]);
				else lines.splice(at, 1);
				text = lines.join('\n');
			}
		}
		expect(checked).toBe(texts.length * 6);
	});
});

// An edit that leaves (or removes) a parse error in a document would need a fresh parse of
// the whole file: tree-sitter's error recovery after an incremental parse can differ from a
// fresh parse of the same text, and results must not depend on the edit history. A fresh
// parse of x86.c costs ~120 ms. Instead, the chunk the edit touched (normalise.ts: the text
// between two top-level closing braces) is re-read whole by the incremental parse and checked
// against a parse of that chunk alone: when the two agree node for node, the error stayed
// inside the chunk and the chunk parsed as it would from scratch, so the incremental tree is
// kept; otherwise the caller parses the file afresh. Property-tested against fresh parses
// (test/unit/documents.test.ts, test/kernel/documents.test.ts).
import type { Parser } from 'web-tree-sitter';
import type { NormalisedText } from './normalise';
import { parseNormalised, type SyntaxNode, type Tree } from './parser';
import { pointAt } from './positions';

/** Edits with an error in their chunk: how often the incremental tree was kept, and how often the file was parsed afresh (tests, benchmarks). */
export const chunkChecks = { kept: 0, reparsed: 0 };

/** The chunks holding [start, end): from the chunk start at or before `start` to the first at or after `end`. */
export function chunkSpan(chunks: readonly number[], start: number, end: number): { start: number; end: number } {
	let lo = 0;
	while (lo + 1 < chunks.length - 1 && chunks[lo + 1] <= start) lo++;
	let hi = lo + 1;
	while (hi < chunks.length - 1 && chunks[hi] < end) hi++;
	return { start: chunks[lo], end: chunks[hi] };
}

/**
 * Whether `tree`'s nodes within [start, end) are those of a parse of that chunk alone (the
 * same top-level nodes with the same S-expressions and ranges, and the same ERROR and MISSING
 * nodes), with none reaching across its ends, and the parse alone ends cleanly (no error or
 * missing token at its last line, where the rest of the file could have made a difference).
 */
export function agreesWithChunkAlone(parser: Parser, tree: Tree, text: string, normalised: NormalisedText, start: number, end: number): boolean {
	const alone = parseNormalised(parser, text, normalised, null, {
		includedRanges: [{ startIndex: start, endIndex: end, startPosition: pointAt(normalised.text, start), endPosition: pointAt(normalised.text, end) }],
	});
	if (!alone) return false;
	try {
		const root = alone.rootNode;
		const last = root.lastChild;
		const body = normalised.text.slice(start, end).trimEnd();
		if (last && (last.type === 'ERROR' || endsMissing(last) || last.endIndex !== start + body.length)) return false;
		const mine = chunkShape(tree.rootNode, start, end);
		const theirs = chunkShape(root, start, end);
		return mine !== undefined && mine === theirs;
	} finally {
		alone.delete();
	}
}

/** The last leaf of `node` is a MISSING token (tree-sitter reached the end of the chunk unfinished). */
function endsMissing(node: SyntaxNode): boolean {
	for (let n: SyntaxNode | null = node; n; n = n.lastChild) if (n.isMissing) return true;
	return false;
}

/**
 * The nodes of [start, end) as one string: each top-level node's type, range and S-expression,
 * and the range of every ERROR and MISSING node (the structure that error recovery decides;
 * S-expressions are made by tree-sitter in one call, and only subtrees with an error are
 * walked). Undefined when a node overlaps an end: the tree's structure crosses the chunk.
 */
function chunkShape(root: SyntaxNode, start: number, end: number): string | undefined {
	// The innermost node holding the whole chunk (the file, or an #ifdef around functions).
	let container = root;
	for (;;) {
		const inner = container.firstChildForIndex(start);
		if (!inner || inner.startIndex > start || inner.endIndex < end || (inner.startIndex === start && inner.endIndex === end)) break;
		container = inner;
	}
	const out: string[] = [];
	const problems = (n: SyntaxNode): void => {
		if (n.type === 'ERROR' || n.isMissing) out.push(`!${n.startIndex}-${n.endIndex}`);
		for (const c of n.children) if (c?.hasError) problems(c);
	};
	for (let n: SyntaxNode | null = container.firstChildForIndex(start); n && n.startIndex < end; n = n.nextSibling) {
		if (n.endIndex <= start) continue;
		if (n.startIndex < start || n.endIndex > end) return undefined;
		out.push(`${n.type}@${n.startIndex}-${n.endIndex} ${n.toString()}`);
		if (n.hasError) problems(n);
	}
	return out.join('\n');
}

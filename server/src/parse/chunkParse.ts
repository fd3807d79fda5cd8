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
 * Whether `tree`'s nodes within [start, end) are those of a parse of that chunk alone, with
 * none reaching across its ends, and the parse alone ends cleanly (no error or missing
 * token at its last line, where the rest of the file could have made a difference).
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
		const mine = nodesWithin(tree.rootNode, start, end);
		const theirs = nodesWithin(root, start, end);
		return !!mine && !!theirs && mine.length === theirs.length && mine.every((n, i) => n === theirs[i]);
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
 * Every node lying wholly within [start, end), in document order, as type and range; undefined
 * when a node overlaps an end (the tree's structure crosses the chunk's bounds).
 */
function nodesWithin(root: SyntaxNode, start: number, end: number): string[] | undefined {
	const out: string[] = [];
	const cursor = root.walk();
	try {
		// The root is the container, whatever its extent.
		if (!cursor.gotoFirstChild()) return out;
		for (;;) {
			const s = cursor.startIndex;
			const e = cursor.endIndex;
			let descend = false;
			if (e <= start || s >= end) {
				// Outside; a zero-width node exactly at an end belongs to neither side.
			} else if (s >= start && e <= end) {
				const node = cursor.currentNode;
				out.push(`${node.type}${node.isMissing ? '!' : ''}@${s}-${e}`);
				descend = true;
			} else if (s < start && e > end) {
				descend = true;
			} else return undefined;
			if (descend && cursor.gotoFirstChild()) continue;
			while (!cursor.gotoNextSibling()) {
				if (!cursor.gotoParent() || cursor.nodeId === root.id) return out;
			}
		}
	} finally {
		cursor.delete();
	}
}

function pointAt(text: string, offset: number): { row: number; column: number } {
	let row = 0;
	let lineStart = 0;
	for (let nl = text.indexOf('\n'); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
		row++;
		lineStart = nl + 1;
	}
	return { row, column: offset - lineStart };
}

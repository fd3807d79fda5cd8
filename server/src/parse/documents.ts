// Trees for open documents, kept up to date incrementally: each change is
// applied with tree.edit() and the old tree is reused by the next parse.
// Closing a document deletes its tree; no other tree outlives its use.
import { Edit, type Parser } from 'web-tree-sitter';
import type { Point, Tree } from './parser';

export interface TextChange {
	/** Absent for a full-text replacement. */
	range?: { start: { line: number; character: number }; end: { line: number; character: number } };
	text: string;
}

export class DocumentTrees {
	private readonly trees = new Map<string, { tree: Tree; text: string }>();

	constructor(private readonly parser: Parser) {}

	open(uri: string, text: string): Tree {
		this.close(uri);
		const tree = this.parse(text);
		this.trees.set(uri, { tree, text });
		return tree;
	}

	/** Applies LSP content changes in order; returns the reparsed tree. */
	change(uri: string, changes: readonly TextChange[]): Tree | undefined {
		const entry = this.trees.get(uri);
		if (!entry) return undefined;
		let { text, tree } = entry;
		for (const change of changes) {
			if (!change.range) {
				tree.delete();
				text = change.text;
				tree = this.parse(text);
				continue;
			}
			const startIndex = offsetAt(text, change.range.start);
			const oldEndIndex = offsetAt(text, change.range.end);
			const newText = text.slice(0, startIndex) + change.text + text.slice(oldEndIndex);
			// web-tree-sitter indexes strings in UTF-16 code units, as LSP positions do.
			const edit = new Edit({
				startIndex: startIndex,
				oldEndIndex: oldEndIndex,
				newEndIndex: startIndex + change.text.length,
				startPosition: pointAt(text, startIndex),
				oldEndPosition: pointAt(text, oldEndIndex),
				newEndPosition: pointAt(newText, startIndex + change.text.length),
			});
			const editedError = declarationHasError(tree, startIndex, oldEndIndex);
			tree.edit(edit);
			let next = this.parse(newText, tree);
			// Error recovery may differ between an incremental and a fresh parse of the same
			// text; results must not depend on the edit history, so a tree whose edited or
			// reparsed declarations have (or had) errors is redone. Errors elsewhere (real kernel
			// files have some) do not depend on this edit: the incremental tree is kept.
			const reparsed = [{ startIndex, endIndex: startIndex + change.text.length }, ...tree.getChangedRanges(next)];
			tree.delete();
			if (editedError || reparsed.some((r) => declarationHasError(next, r.startIndex, r.endIndex))) {
				next.delete();
				next = this.parse(newText);
			}
			tree = next;
			text = newText;
		}
		this.trees.set(uri, { tree, text });
		return tree;
	}

	get(uri: string): { tree: Tree; text: string } | undefined {
		return this.trees.get(uri);
	}

	close(uri: string): void {
		this.trees.get(uri)?.tree.delete();
		this.trees.delete(uri);
	}

	dispose(): void {
		for (const uri of [...this.trees.keys()]) this.close(uri);
	}

	get size(): number {
		return this.trees.size;
	}

	private parse(text: string, old?: Tree): Tree {
		const tree = this.parser.parse(text, old ?? null);
		if (!tree) throw new Error('gpcscope: tree-sitter returned no tree');
		return tree;
	}
}

/**
 * Whether the top-level declaration around [start, end) has an error (ERROR or MISSING
 * node); a range that is not inside one declaration counts as the whole file.
 */
function declarationHasError(tree: Tree, start: number, end: number): boolean {
	const root = tree.rootNode;
	let node = root.descendantForIndex(start, Math.max(start, end - 1));
	for (let parent = node?.parent; node && parent && parent.id !== root.id; parent = node.parent) node = parent;
	return !node || node.hasError;
}

export function offsetAt(text: string, pos: { line: number; character: number }): number {
	let offset = 0;
	for (let line = 0; line < pos.line; line++) {
		const nl = text.indexOf('\n', offset);
		if (nl < 0) return text.length;
		offset = nl + 1;
	}
	const lineEnd = text.indexOf('\n', offset);
	const max = lineEnd < 0 ? text.length : lineEnd;
	return Math.min(offset + pos.character, max);
}

function pointAt(text: string, offset: number): Point {
	let row = 0;
	let lineStart = 0;
	for (let nl = text.indexOf('\n'); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
		row++;
		lineStart = nl + 1;
	}
	return { row, column: offset - lineStart };
}

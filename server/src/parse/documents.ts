// Trees for open documents, kept up to date incrementally: each change is
// applied with tree.edit() and the old tree is reused by the next parse.
// Closing a document deletes its tree; no other tree outlives its use.
// A document over the size limit (a generated header) keeps only its text:
// it is not parsed until an edit brings it under the limit.
import { Edit, type Parser } from 'web-tree-sitter';
import type { Tree } from './parser';
import { offsetAt, pointAt } from './positions';

export interface TextChange {
	/** Absent for a full-text replacement. */
	range?: { start: { line: number; character: number }; end: { line: number; character: number } };
	text: string;
}

export class DocumentTrees {
	private readonly trees = new Map<string, { tree?: Tree; text: string }>();

	/** `maxBytes`: documents larger than this (in UTF-8) are not parsed. */
	constructor(private readonly parser: Parser, private readonly maxBytes: () => number = () => Infinity) {}

	/** The document's tree, or undefined when it is over the size limit. */
	open(uri: string, text: string): Tree | undefined {
		this.close(uri);
		const tree = this.fits(text) ? this.parse(text) : undefined;
		this.trees.set(uri, { tree, text });
		return tree;
	}

	/** Applies LSP content changes in order; returns the reparsed tree (undefined when not open, or over the limit). */
	change(uri: string, changes: readonly TextChange[]): Tree | undefined {
		const entry = this.trees.get(uri);
		if (!entry) return undefined;
		let { text, tree } = entry;
		for (const change of changes) {
			const startIndex = change.range ? offsetAt(text, change.range.start) : 0;
			const oldEndIndex = change.range ? offsetAt(text, change.range.end) : text.length;
			const newText = change.range ? text.slice(0, startIndex) + change.text + text.slice(oldEndIndex) : change.text;
			const fits = this.fits(newText);
			if (!tree || !change.range || !fits) {
				tree?.delete();
				text = newText;
				tree = fits ? this.parse(text) : undefined;
				continue;
			}
			// Error recovery may differ between an incremental and a fresh parse of the same
			// text; results must not depend on the edit history, so a tree whose edited or
			// reparsed declarations have (or had) errors is redone. Errors elsewhere (real kernel
			// files have some) do not depend on this edit: the incremental tree is kept.
			if (declarationHasError(tree, startIndex, oldEndIndex)) {
				// Known before parsing: only the fresh parse is needed.
				tree.delete();
				tree = this.parse(newText);
				text = newText;
				continue;
			}
			// web-tree-sitter indexes strings in UTF-16 code units, as LSP positions do.
			const edit = new Edit({
				startIndex: startIndex,
				oldEndIndex: oldEndIndex,
				newEndIndex: startIndex + change.text.length,
				startPosition: pointAt(text, startIndex),
				oldEndPosition: pointAt(text, oldEndIndex),
				newEndPosition: pointAt(newText, startIndex + change.text.length),
			});
			tree.edit(edit);
			let next = this.parse(newText, tree);
			const reparsed = [{ startIndex, endIndex: startIndex + change.text.length }, ...tree.getChangedRanges(next)];
			tree.delete();
			if (reparsed.some((r) => declarationHasError(next, r.startIndex, r.endIndex))) {
				next.delete();
				next = this.parse(newText);
			}
			tree = next;
			text = newText;
		}
		this.trees.set(uri, { tree, text });
		return tree;
	}

	/** Parses or drops the document's tree after the limit changed. */
	refit(uri: string): void {
		const entry = this.trees.get(uri);
		if (!entry || !!entry.tree === this.fits(entry.text)) return;
		entry.tree?.delete();
		entry.tree = entry.tree ? undefined : this.parse(entry.text);
	}

	/** An open document under the size limit. */
	get(uri: string): { tree: Tree; text: string } | undefined {
		const entry = this.trees.get(uri);
		return entry?.tree ? { tree: entry.tree, text: entry.text } : undefined;
	}

	/** The size of an open document over the limit, in bytes; undefined for others. */
	oversized(uri: string): number | undefined {
		const entry = this.trees.get(uri);
		return entry && !entry.tree ? Buffer.byteLength(entry.text) : undefined;
	}

	close(uri: string): void {
		this.trees.get(uri)?.tree?.delete();
		this.trees.delete(uri);
	}

	dispose(): void {
		for (const uri of [...this.trees.keys()]) this.close(uri);
	}

	get size(): number {
		return this.trees.size;
	}

	/** Within the limit: UTF-8 takes 1 to 3 bytes per UTF-16 unit, so most texts need no count. */
	private fits(text: string): boolean {
		const max = this.maxBytes();
		if (text.length * 3 <= max) return true;
		return text.length <= max && Buffer.byteLength(text) <= max;
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

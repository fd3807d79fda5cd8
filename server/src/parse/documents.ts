// Trees for open documents, kept up to date incrementally: each change is
// applied with tree.edit() and the old tree is reused by the next parse.
// Closing a document deletes its tree; no other tree outlives its use.
// A document over the size limit (a generated header) keeps only its text:
// it is not parsed until an edit brings it under the limit.
// Trees are parsed from the kernel-normalised text (normalise.ts), so an edit is described to
// tree-sitter as the range where the normalised texts differ: that covers the typed change and
// any normalisation it switched on or off elsewhere (an `#endif` typed far below an `#ifdef`).
import { Edit, type Parser } from 'web-tree-sitter';
import { agreesWithChunkAlone, chunkChecks, chunkSpan } from './chunkParse';
import { normaliseEdited, type NormalisedText } from './normalise';
import { normalisedText, parseNormalised, type Tree } from './parser';
import { offsetAt, pointAt } from './positions';

export interface TextChange {
	/** Absent for a full-text replacement. */
	range?: { start: { line: number; character: number }; end: { line: number; character: number } };
	text: string;
}

export class DocumentTrees {
	private readonly trees = new Map<string, { tree?: Tree; text: string; normalised?: NormalisedText }>();

	/** `maxBytes`: documents larger than this (in UTF-8) are not parsed. */
	constructor(private readonly parser: Parser, private readonly maxBytes: () => number = () => Infinity) {}

	/** The document's tree, or undefined when it is over the size limit. */
	open(uri: string, text: string): Tree | undefined {
		this.close(uri);
		const tree = this.fits(text) ? this.parse(text) : undefined;
		this.trees.set(uri, { tree, text, normalised: tree ? normalisedText(text) : undefined });
		return tree;
	}

	/** Applies LSP content changes in order; returns the reparsed tree (undefined when not open, or over the limit). */
	change(uri: string, changes: readonly TextChange[]): Tree | undefined {
		const entry = this.trees.get(uri);
		if (!entry) return undefined;
		let { text, tree, normalised } = entry;
		for (const change of changes) {
			const startIndex = change.range ? offsetAt(text, change.range.start) : 0;
			const oldEndIndex = change.range ? offsetAt(text, change.range.end) : text.length;
			const newText = change.range ? text.slice(0, startIndex) + change.text + text.slice(oldEndIndex) : change.text;
			const fits = this.fits(newText);
			if (!tree || !normalised || !change.range || !fits) {
				tree?.delete();
				text = newText;
				tree = fits ? this.parse(text) : undefined;
				normalised = tree ? normalisedText(text) : undefined;
				continue;
			}
			// Only the chunks the edit touched are normalised again.
			const next = normaliseEdited(normalised, newText, startIndex, oldEndIndex, startIndex + change.text.length);
			const changed = changedRange(normalised.text, next.text, startIndex, oldEndIndex, startIndex + change.text.length);
			// The chunks the change touched: as far as its error recovery could reach.
			const span = chunkSpan(next.chunks, changed.start, changed.newEnd);
			const delta = changed.newEnd - changed.oldEnd;
			// Error recovery may differ between an incremental and a fresh parse of the same
			// text, and results must not depend on the edit history. Without an error in the
			// edited declarations, before or after, tree-sitter's incremental parse is the fresh
			// parse's tree (property-tested), and only the changed text is read again. With one,
			// the tree is kept only if the chunk parsed as it does alone (chunkParse.ts); failing
			// that, the chunk is read again whole (no node of its reused) and checked the same
			// way; failing that too, the file is parsed afresh. Errors elsewhere (real kernel
			// files have some) do not depend on this edit.
			const hadError = declarationHasError(tree, span.start, span.end - delta);
			// web-tree-sitter indexes strings in UTF-16 code units, as LSP positions do.
			const before = normalised.text;
			const editOf = (start: number, oldEnd: number, newEnd: number) => new Edit({
				startIndex: start,
				oldEndIndex: oldEnd,
				newEndIndex: newEnd,
				startPosition: pointAt(before, start),
				oldEndPosition: pointAt(before, oldEnd),
				newEndPosition: pointAt(next.text, newEnd),
			});
			const unedited = tree.copy();
			let reparsed = this.incremental(tree, editOf(changed.start, changed.oldEnd, changed.newEnd), newText, next, span, hadError);
			if (reparsed) unedited.delete();
			else reparsed = this.incremental(unedited, editOf(span.start, span.end - delta, span.end), newText, next, span, hadError);
			if (!reparsed) {
				chunkChecks.reparsed++;
				reparsed = this.parse(newText, undefined, next);
			}
			tree = reparsed;
			text = newText;
			normalised = next;
		}
		this.trees.set(uri, { tree, text, normalised });
		return tree;
	}

	/** Parses or drops the document's tree after the limit changed. */
	refit(uri: string): void {
		const entry = this.trees.get(uri);
		if (!entry || !!entry.tree === this.fits(entry.text)) return;
		entry.tree?.delete();
		entry.tree = entry.tree ? undefined : this.parse(entry.text);
		entry.normalised = entry.tree ? normalisedText(entry.text) : undefined;
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

	/**
	 * `old` (consumed) with `edit`, parsed again: the new tree, or undefined when the edited
	 * declarations have an error that the chunk [span) parsed alone does not show as well.
	 */
	private incremental(old: Tree, edit: Edit, text: string, next: NormalisedText, span: { start: number; end: number }, hadError: boolean): Tree | undefined {
		old.edit(edit);
		const tree = this.parse(text, old, next);
		const ranges = old.getChangedRanges(tree);
		old.delete();
		const hasError = hadError || [{ startIndex: span.start, endIndex: span.end }, ...ranges].some((r) => declarationHasError(tree, r.startIndex, r.endIndex));
		if (!hasError) return tree;
		const confined = ranges.every((r) => r.startIndex >= span.start && r.endIndex <= span.end);
		if (confined && agreesWithChunkAlone(this.parser, tree, text, next, span.start, span.end)) {
			chunkChecks.kept++;
			return tree;
		}
		tree.delete();
		return undefined;
	}

	private parse(text: string, old?: Tree, normalised: NormalisedText = normalisedText(text)): Tree {
		const tree = parseNormalised(this.parser, text, normalised, old ?? null);
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

/**
 * Where two normalised texts differ, as one edit: [start, oldEnd) of `before` became [start,
 * newEnd) of `after`. The typed change [from, oldTo) → [from, newTo) is the usual answer; the
 * texts are compared outside it, whole strings first (a fast compare), character by character
 * only where they differ.
 */
export function changedRange(before: string, after: string, from: number, oldTo: number, newTo: number): { start: number; oldEnd: number; newEnd: number } {
	let start = from;
	if (before.slice(0, from) !== after.slice(0, from)) {
		start = 0;
		while (before.charCodeAt(start) === after.charCodeAt(start)) start++;
	}
	let tail = before.length - oldTo;
	if (before.slice(oldTo) !== after.slice(newTo)) {
		tail = 0;
		const max = Math.min(before.length, after.length) - Math.min(start, from);
		while (tail < max && before.charCodeAt(before.length - 1 - tail) === after.charCodeAt(after.length - 1 - tail)) tail++;
	}
	// Overlapping prefix and suffix (a repeated character): the suffix gives way.
	tail = Math.min(tail, before.length - start, after.length - start);
	return { start: Math.min(start, from), oldEnd: before.length - tail, newEnd: after.length - tail };
}


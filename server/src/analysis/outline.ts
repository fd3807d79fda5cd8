// Where a file's functions and ERROR regions are, kept per file while its text
// stays the same: an analysis whose functions all come from the memo then needs
// neither the tree nor a walk over it (x86.c has thousands of nodes per function).
import { functionDefinitions } from '../parse/definitions';
import { errorRegions, parseProblems, type SyntaxNode, type Tree } from '../parse/parser';
import { changedSpan } from '../parse/spans';

export interface FunctionOutline {
	startIndex: number;
	endIndex: number;
	startRow: number;
	endRow: number;
}

export interface FileOutline {
	lines: string[];
	errors: [number, number][];
	/** Every function definition (not a statement tree-sitter misread as one), in document order. */
	functions: (FunctionOutline & { name: string | undefined; bodyIndex: number })[];
}

export class Outlines {
	private readonly byFile = new Map<string, { text: string; outline: FileOutline }>();

	/** The outline of `text`, from `tree` when the file's text changed since the last call. */
	get(file: string, text: string, tree: () => Tree, functionName: (fn: SyntaxNode) => string | undefined): FileOutline {
		const known = this.byFile.get(file);
		if (known?.text === text) return known.outline;
		const outline = (known && movedOutline(known.text, known.outline, text, tree())) ?? fullOutline(text, tree(), functionName);
		this.byFile.set(file, { text, outline });
		return outline;
	}

	/** Forgets files no longer analysed. */
	retain(files: ReadonlySet<string>): void {
		for (const file of this.byFile.keys()) if (!files.has(file)) this.byFile.delete(file);
	}
}

export function fullOutline(text: string, tree: Tree, functionName: (fn: SyntaxNode) => string | undefined): FileOutline {
	const root = tree.rootNode;
	return {
		lines: text.split('\n'),
		errors: errorRegions(root),
		functions: functionDefinitions(root).map((fn) => ({
			name: functionName(fn), bodyIndex: fn.childForFieldName('body')?.startIndex ?? fn.startIndex, startIndex: fn.startIndex, endIndex: fn.endIndex, startRow: fn.startPosition.row, endRow: fn.endPosition.row,
		})),
	};
}

/**
 * The outline after an edit inside one function's body, from the one before: that function
 * grows or shrinks, those below it move (the same as a full outline, property-tested; a walk
 * of x86.c's tree costs ~18 ms). Undefined when the edit is anywhere else, or the file has an
 * unparsed region outside the function (error recovery may have reached past it).
 */
export function movedOutline(oldText: string, old: FileOutline, text: string, tree: Tree): FileOutline | undefined {
	const { start, oldEnd, newEnd } = changedSpan(oldText, text);
	const delta = newEnd - oldEnd;
	const at = old.functions.findIndex((f) => f.startIndex < start && oldEnd < f.endIndex);
	if (at < 0) return undefined;
	const before = old.functions[at];
	// Nested definitions (a macro misparsed) are not moved one by one.
	if (old.functions[at + 1] && old.functions[at + 1].startIndex < before.endIndex) return undefined;
	let fn: SyntaxNode | null = tree.rootNode.descendantForIndex(start, Math.max(start, newEnd - 1));
	while (fn && fn.type !== 'function_definition') fn = fn.parent;
	const body = fn?.childForFieldName('body');
	if (!fn || !body || fn.startIndex !== before.startIndex || fn.endIndex !== before.endIndex + delta || start <= body.startIndex || newEnd >= body.endIndex) return undefined;
	for (let p = fn.parent; p; p = p.parent) if (p.type === 'function_definition') return undefined;
	if (fn.descendantsOfType('function_definition').length !== 1) return undefined;
	// Parse problems only inside the function, before and after: error recovery did not reach
	// past it, so the rest of the file parsed as it did. (The outline keeps ERROR regions; a
	// MISSING token outside the function would also be in the new tree, and is looked for there.)
	if (!parseProblems(tree.rootNode).every(([s, e]) => s >= fn!.startIndex && e <= fn!.endIndex)) return undefined;
	if (!old.errors.every(([s, e]) => s >= before.startIndex && e <= before.endIndex)) return undefined;
	const errors = errorRegions(tree.rootNode);

	// Lines: those of the edited rows from the new text, the others kept.
	const firstRow = rowOf(old.lines, start);
	const lastOldRow = rowOf(old.lines, oldEnd);
	const from = text.lastIndexOf('\n', start - 1) + 1;
	const lineEnd = text.indexOf('\n', newEnd);
	// Copied: a line split from `text` is a slice that would keep the whole text alive, and the
	// outline keeps lines across many edits (one text per edit, ~15 MB over 400 edits of x86.c).
	const middle = (JSON.parse(JSON.stringify(text.slice(from, lineEnd < 0 ? text.length : lineEnd))) as string).split('\n');
	const lines = [...old.lines.slice(0, firstRow), ...middle, ...old.lines.slice(lastOldRow + 1)];
	const rowDelta = lines.length - old.lines.length;
	const functions = old.functions.map((f, i) => {
		if (i < at) return f;
		if (i === at) return { ...f, endIndex: fn!.endIndex, endRow: fn!.endPosition.row };
		return { ...f, bodyIndex: f.bodyIndex + delta, startIndex: f.startIndex + delta, endIndex: f.endIndex + delta, startRow: f.startRow + rowDelta, endRow: f.endRow + rowDelta };
	});
	return { lines, errors, functions };
}

/** The row of `offset` in the text whose lines these are. */
function rowOf(lines: readonly string[], offset: number): number {
	let at = 0;
	for (let row = 0; row < lines.length; row++) {
		at += lines[row].length + 1;
		if (offset < at) return row;
	}
	return lines.length - 1;
}

/** The function_definition node an outline entry stands for. */
export function functionNode(tree: Tree, fn: FunctionOutline): SyntaxNode {
	for (let node = tree.rootNode.descendantForIndex(fn.startIndex); node; node = node.parent) {
		if (node.type === 'function_definition' && node.startIndex === fn.startIndex && node.endIndex === fn.endIndex) return node;
	}
	throw new Error(`gpcscope: no function_definition at ${fn.startIndex}-${fn.endIndex}`);
}

// Where a file's functions and ERROR regions are, kept per file while its text
// stays the same: an analysis whose functions all come from the memo then needs
// neither the tree nor a walk over it (x86.c has thousands of nodes per function).
import { functionDefinitions } from '../parse/definitions';
import { errorRegions, type SyntaxNode, type Tree } from '../parse/parser';

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
		const root = tree().rootNode;
		const outline: FileOutline = {
			lines: text.split('\n'),
			errors: errorRegions(root),
			functions: functionDefinitions(root).map((fn) => ({
				name: functionName(fn), bodyIndex: fn.childForFieldName('body')?.startIndex ?? fn.startIndex, startIndex: fn.startIndex, endIndex: fn.endIndex, startRow: fn.startPosition.row, endRow: fn.endPosition.row,
			})),
		};
		this.byFile.set(file, { text, outline });
		return outline;
	}

	/** Forgets files no longer analysed. */
	retain(files: ReadonlySet<string>): void {
		for (const file of this.byFile.keys()) if (!files.has(file)) this.byFile.delete(file);
	}
}

/** The function_definition node an outline entry stands for. */
export function functionNode(tree: Tree, fn: FunctionOutline): SyntaxNode {
	for (let node = tree.rootNode.descendantForIndex(fn.startIndex); node; node = node.parent) {
		if (node.type === 'function_definition' && node.startIndex === fn.startIndex && node.endIndex === fn.endIndex) return node;
	}
	throw new Error(`gpcscope: no function_definition at ${fn.startIndex}-${fn.endIndex}`);
}

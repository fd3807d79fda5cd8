// Loads web-tree-sitter and the C grammar once per process.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../packageRoot';
import { Language, Node, Parser, type Tree } from 'web-tree-sitter';
import { normaliseText, type Normalised, type NormalisedText } from './normalise';

export type { Node as SyntaxNode, Tree, Point, Edit } from 'web-tree-sitter';

let loading: Promise<Language> | undefined;

export function grammarsDir(): string {
	return join(packageRoot(), 'grammars');
}

export function loadC(): Promise<Language> {
	loading ??= (async () => {
		const grammars = grammarsDir();
		const runtime = join(grammars, 'web-tree-sitter.wasm');
		const language = join(grammars, 'tree-sitter-c.wasm');
		for (const file of [runtime, language]) {
			if (!existsSync(file)) throw new Error(`gpcscope: ${file} is missing; run \`npm run build\``);
		}
		await Parser.init({ locateFile: () => runtime });
		guardZeroWidthNavigation();
		return Language.load(language);
	})();
	return loading;
}

/**
 * A parser for the C grammar; callers own it and should reuse it. Its `parse(text)` parses the
 * kernel-normalised text (normalise.ts) and gives the tree the original: positions and node
 * texts are the file's own. `raw: true` parses the text as it is (for measuring).
 */
export async function createCParser(options: { raw?: boolean } = {}): Promise<Parser> {
	const language = await loadC();
	const parser = new Parser();
	parser.setLanguage(language);
	if (!options.raw) {
		const parseText = parser.parse.bind(parser);
		rawParse.set(parser, parseText);
		parser.parse = (input, oldTree, parseOptions) =>
			typeof input === 'string' ? parseNormalised(parser, input, normalisedText(input), oldTree, parseOptions) : parseText(input, oldTree, parseOptions);
	}
	return parser;
}

/** The parse of the grammar itself, under the normalising one. */
const rawParse = new WeakMap<Parser, Parser['parse']>();

/** Branches the normalisation blanked, per tree (errorRegions() reports them). */
const hiddenCode = new WeakMap<Tree, [number, number][]>();

/** Parses `text`, whose normalisation is `normalised` (documents.ts keeps one up to date across edits). */
export function parseNormalised(parser: Parser, text: string, normalised: Normalised, oldTree?: Tree | null, options?: Parameters<Parser['parse']>[2]): Tree | null {
	const parseText = rawParse.get(parser) ?? parser.parse.bind(parser);
	const tree = parseText(normalised.text, oldTree, options);
	if (tree && normalised.text !== text) {
		// node.text reads through the tree's text callback: the original, byte for byte.
		(tree as unknown as { textCallback: (index: number) => string }).textCallback = (index) => text.slice(index);
	}
	if (tree && normalised.hidden.length) hiddenCode.set(tree, normalised.hidden);
	return tree;
}

/** The last text normalised: the engine parses a file's text more than once in an analysis. */
let lastNormalised: NormalisedText | undefined;

export function normalisedText(text: string): NormalisedText {
	if (lastNormalised?.original === text) return lastNormalised;
	lastNormalised = normaliseText(text);
	return lastNormalised;
}

/** Parses text and hands the tree to `use`, deleting it afterwards. */
export function withTree<T>(parser: Parser, text: string, use: (tree: Tree) => T): T {
	const tree = parser.parse(text);
	if (!tree) throw new Error('gpcscope: tree-sitter returned no tree');
	try {
		return use(tree);
	} finally {
		tree.delete();
	}
}

/**
 * tree-sitter finds the parent (and the siblings) of a zero-width node, such as a MISSING `)`,
 * by a recursion as deep as the tree, on the wasm module's small stack: past ~250 levels it
 * overflows without a trap and corrupts the wasm heap, and every later parse fails ("memory
 * access out of bounds"; found by the fuzzer through the usage-flag rule's `.parent` walks).
 * For zero-width nodes these getters use a tree cursor instead (an explicit stack).
 */
function guardZeroWidthNavigation(): void {
	const proto = Node.prototype as unknown as Record<string, unknown>;
	if (proto.gpcscopeGuarded) return;
	proto.gpcscopeGuarded = true;
	const siblings = (named: boolean, step: 1 | -1) => (node: Node): Node | null => {
		const kids = parentByCursor(node)?.children.filter((k): k is Node => !!k) ?? [];
		for (let i = kids.findIndex((k) => k.id === node.id) + step; i >= 0 && i < kids.length; i += step) if (!named || kids[i].isNamed) return kids[i];
		return null;
	};
	const guarded: Record<string, (node: Node) => Node | null> = {
		parent: parentByCursor,
		nextSibling: siblings(false, 1),
		previousSibling: siblings(false, -1),
		nextNamedSibling: siblings(true, 1),
		previousNamedSibling: siblings(true, -1),
	};
	for (const [name, safe] of Object.entries(guarded)) {
		const original = Object.getOwnPropertyDescriptor(Node.prototype, name)?.get;
		if (!original) continue;
		Object.defineProperty(Node.prototype, name, {
			configurable: true,
			get(this: Node) {
				return this.startIndex === this.endIndex ? safe(this) : original.call(this);
			},
		});
	}
}

/** The parent of `node`, found from the root down through the nodes that contain its position. */
export function parentByCursor(node: Node): Node | null {
	const cursor = node.tree.walk();
	try {
		if (cursor.nodeId === node.id || !cursor.gotoFirstChild()) return null;
		const at = node.startIndex;
		for (let depth = 0; ; ) {
			if (cursor.nodeId === node.id) {
				cursor.gotoParent();
				return cursor.currentNode;
			}
			if (cursor.startIndex <= at && at <= cursor.endIndex && cursor.gotoFirstChild()) {
				depth++;
				continue;
			}
			while (!cursor.gotoNextSibling()) {
				if (depth === 0) return null;
				cursor.gotoParent();
				depth--;
			}
		}
	} finally {
		cursor.delete();
	}
}

/**
 * Where the parse went wrong: ERROR nodes, MISSING tokens (zero-width: [at, at]) and the code
 * the normalisation hid, in document order. An edit's effects stay within a declaration only if
 * all of these lie inside it (index/incremental.ts, analysis/outline.ts).
 */
export function parseProblems(root: Node): [number, number][] {
	const out: [number, number][] = [];
	const visit = (n: Node): void => {
		if (n.type === 'ERROR' || n.isMissing) out.push([n.startIndex, n.endIndex]);
		for (const c of n.children) if (c?.hasError) visit(c);
	};
	if (root.hasError) visit(root);
	return [...out, ...(hiddenCode.get(root.tree) ?? [])];
}

/**
 * ERROR nodes in document order, visiting only subtrees that hold an error (most of a file has
 * none), and the code the normalisation hid (the other branches of an `#if` inside an expression):
 * nothing is reported from either and no rewrite touches them.
 */
export function errorRegions(root: Node): [number, number][] {
	const out: [number, number][] = [];
	const visit = (n: Node): void => {
		if (n.type === 'ERROR') out.push([n.startIndex, n.endIndex]);
		for (const c of n.children) if (c?.hasError) visit(c);
	};
	if (root.hasError) visit(root);
	const hidden = hiddenCode.get(root.tree);
	if (!hidden?.length) return out;
	return [...out, ...hidden].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

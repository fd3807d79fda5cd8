// Loads web-tree-sitter and the C grammar once per process.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../packageRoot';
import { Language, Node, Parser, type Tree } from 'web-tree-sitter';

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

/** A parser for the C grammar; callers own it and should reuse it. */
export async function createCParser(): Promise<Parser> {
	const language = await loadC();
	const parser = new Parser();
	parser.setLanguage(language);
	return parser;
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

/** ERROR nodes in document order, visiting only subtrees that hold an error (most of a file has none). */
export function errorRegions(root: Node): [number, number][] {
	const out: [number, number][] = [];
	const visit = (n: Node): void => {
		if (n.type === 'ERROR') out.push([n.startIndex, n.endIndex]);
		for (const c of n.children) if (c?.hasError) visit(c);
	};
	if (root.hasError) visit(root);
	return out;
}

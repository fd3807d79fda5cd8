// Loads web-tree-sitter and the C grammar once per process.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../packageRoot';
import { Language, Parser, type Tree } from 'web-tree-sitter';

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

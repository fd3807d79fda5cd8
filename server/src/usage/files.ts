// The files the usage analysis reads: parsed on demand, once, and freed together.
// Open documents lend their own up-to-date trees, which are never deleted here.
import type { Parser } from 'web-tree-sitter';
import type { SyntaxNode, Tree } from '../parse/parser';

export interface UsageFile {
	/** Root-relative, forward slashes. */
	file: string;
	text: string;
	tree: Tree;
	/** ERROR regions [start, end) (tree-sitter could not parse them). */
	errors: [number, number][];
}

export interface FileSource {
	file: string;
	read(): string;
	tree?(): Tree | undefined;
}

export class ParsedFiles {
	private readonly parsed = new Map<string, UsageFile>();
	private readonly owned: Tree[] = [];

	constructor(private readonly parser: Parser) {}

	/** Parses `source` unless it already was (the first text read wins). */
	add(source: FileSource): UsageFile {
		const known = this.parsed.get(source.file);
		if (known) return known;
		const text = source.read();
		let tree = source.tree?.();
		if (!tree) {
			tree = this.parser.parse(text) ?? undefined;
			if (!tree) throw new Error(`gpcscope: tree-sitter returned no tree for ${source.file}`);
			this.owned.push(tree);
		}
		const errors = tree.rootNode.descendantsOfType('ERROR')
			.filter((e): e is SyntaxNode => !!e)
			.map((e) => [e.startIndex, e.endIndex] as [number, number]);
		const file: UsageFile = { file: source.file, text, tree, errors };
		this.parsed.set(source.file, file);
		return file;
	}

	get(file: string): UsageFile | undefined {
		return this.parsed.get(file);
	}

	all(): UsageFile[] {
		return [...this.parsed.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
	}

	dispose(): void {
		for (const t of this.owned) t.delete();
		this.owned.length = 0;
		this.parsed.clear();
	}
}

/** The ERROR region holding or overlapping [start, end), if any. */
export function errorAt(file: UsageFile, start: number, end: number): [number, number] | undefined {
	return file.errors.find(([s, e]) => s < Math.max(end, start + 1) && e > start);
}

// The files the usage analysis reads: parsed on demand (at most once), and freed together.
// Open documents lend their own up-to-date trees, which are never deleted here.
import type { Parser } from 'web-tree-sitter';
import { errorRegions, type SyntaxNode, type Tree } from '../parse/parser';

export interface UsageFile {
	/** Root-relative, forward slashes. */
	readonly file: string;
	readonly text: string;
	/** Parsed (or borrowed) on first use: a file whose plan is remembered is never parsed. */
	readonly tree: Tree;
	/** ERROR regions [start, end) (tree-sitter could not parse them). */
	readonly errors: [number, number][];
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

	/** Reads `source` unless it already was (the first text read wins); parses it when its tree is asked for. */
	add(source: FileSource): UsageFile {
		const known = this.parsed.get(source.file);
		if (known) return known;
		const file = new LazyFile(source.file, source.read(), () => {
			const lent = source.tree?.();
			if (lent) return lent;
			const tree = this.parser.parse(file.text);
			if (!tree) throw new Error(`gpcscope: tree-sitter returned no tree for ${source.file}`);
			this.owned.push(tree);
			return tree;
		});
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

class LazyFile implements UsageFile {
	private parsed?: Tree;
	private regions?: [number, number][];

	constructor(readonly file: string, readonly text: string, private readonly parse: () => Tree) {}

	get tree(): Tree {
		return (this.parsed ??= this.parse());
	}

	get errors(): [number, number][] {
		return (this.regions ??= errorRegions(this.tree.rootNode));
	}
}

/** The ERROR region holding or overlapping [start, end), if any. */
export function errorAt(file: Pick<UsageFile, 'errors'>, start: number, end: number): [number, number] | undefined {
	return file.errors.find(([s, e]) => s < Math.max(end, start + 1) && e > start);
}

/**
 * The file's nodes of these types whose text has a match of `pattern` (global), in
 * document order: found from the matches in the text and their ancestors, not by
 * walking the whole tree (a large file has hundreds of thousands of nodes).
 */
export function nodesMatching(file: UsageFile, pattern: RegExp, ...types: string[]): SyntaxNode[] {
	const found: SyntaxNode[] = [];
	const visited = new Set<number>();
	for (const m of file.text.matchAll(pattern)) {
		const end = m.index + m[0].length;
		for (let n = file.tree.rootNode.descendantForIndex(m.index, end); n; n = n.parent) {
			// Wider nodes than the smallest one holding the match hold it too; each is looked at once.
			if (n.startIndex > m.index || n.endIndex < end) continue;
			if (visited.has(n.id)) break;
			visited.add(n.id);
			if (types.includes(n.type)) found.push(n);
		}
	}
	return found.sort((a, b) => a.startIndex - b.startIndex || b.endIndex - a.endIndex);
}

/** `\b(?:a|b)\b`, global: the pattern of a list of identifiers for `nodesMatching`. */
export function wordsPattern(words: Iterable<string>): RegExp {
	return new RegExp(`\\b(?:${[...words].join('|') || '(?!)'})\\b`, 'g');
}

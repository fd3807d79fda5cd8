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

/** The node types the usage analysis looks for by walking a whole file. */
const WALKED = ['declaration', 'function_definition', 'enum_specifier', 'field_declaration'];
const walked = new WeakMap<UsageFile, SyntaxNode[]>();

/**
 * The file's nodes of these types in document order, as `descendantsOfType`
 * gives them; a plan asks for them a dozen times, the tree is walked once.
 */
export function nodesOf(file: UsageFile, ...types: string[]): SyntaxNode[] {
	let all = walked.get(file);
	if (!all) {
		all = file.tree.rootNode.descendantsOfType(WALKED).filter((n): n is SyntaxNode => !!n);
		walked.set(file, all);
	}
	return all.filter((n) => types.includes(n.type));
}

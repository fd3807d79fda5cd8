// Texts and trees of the gpc files on disk, read and parsed once on the main
// thread: pass 1 takes their facts from the tree, and every round of pass 2
// (and, in the language server, every later analysis) reuses it. A handful of
// files; the thousands of other files never keep a tree.
import type { Parser } from 'web-tree-sitter';
import type { Tree } from '../parse/parser';
import { readText } from './indexer';

/** No single file may hold up indexing; the engine retries it under its own budget and says why it skips it. */
const PARSE_BUDGET_MS = 20_000;

interface Entry {
	text: string;
	tree?: Tree;
	tried: boolean;
}

export class SourceTrees {
	private readonly entries = new Map<string, Entry>();
	/** Trees built so far. */
	parsed = 0;

	/** `parser`: the parser, or how to get it once it is needed (it is created on first use; see open.ts). */
	constructor(private readonly parser: Parser | (() => Parser)) {}

	text(abs: string): string {
		return this.entry(abs).text;
	}

	/** The file's tree, parsed on first use; undefined when parsing ran over the budget. */
	tree(abs: string): Tree | undefined {
		const entry = this.entry(abs);
		if (!entry.tried) {
			entry.tried = true;
			const deadline = performance.now() + PARSE_BUDGET_MS;
			const parser = typeof this.parser === 'function' ? this.parser() : this.parser;
			entry.tree = parser.parse(entry.text, null, { progressCallback: () => performance.now() > deadline }) ?? undefined;
			if (entry.tree) this.parsed++;
			else parser.reset();
		}
		return entry.tree;
	}

	/** Forgets a file (changed on disk, or opened in the editor, whose tree then wins). */
	drop(abs: string): void {
		this.entries.get(abs)?.tree?.delete();
		this.entries.delete(abs);
	}

	has(abs: string): boolean {
		return this.entries.has(abs);
	}

	dispose(): void {
		for (const abs of [...this.entries.keys()]) this.drop(abs);
	}

	private entry(abs: string): Entry {
		let entry = this.entries.get(abs);
		if (!entry) this.entries.set(abs, (entry = { text: readText(abs), tried: false }));
		return entry;
	}
}

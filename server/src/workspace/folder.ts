// One workspace folder as the language server keeps it: its index on disk (the
// gpc files and their neighbours, with facts), the texts and trees of its gpc
// files, and what the last analysis saw. Turning that and the open documents
// into the engine's sources, and the shortcut for edits that cannot change a
// finding, are here; when to analyse is the scheduler's.
import type { EngineHooks, EngineResult } from '../analysis/engine';
import type { FileFacts } from '../analysis/facts';
import type { SourceFile } from '../analysis/source';
import { editedFacts, gpcUsers, localEdit, shiftResult } from '../index/incremental';
import type { IndexResult } from '../index/indexer';
import { contentHash } from '../index/tasks';
import { SourceTrees } from '../index/trees';
import type { Parser } from 'web-tree-sitter';
import type { Tree } from '../parse/parser';
import { GPC_IDENTIFIER } from '../vocabulary';
import type { CancellationTokenSource } from 'vscode-languageserver';

/** Open documents outside every folder are analysed together, as this folder. */
export const LOOSE = '<loose>';

export interface OpenDocument {
	uri: string;
	/** Relative to the folder's root (absolute in the loose folder). */
	file: string;
	text: string;
	tree: Tree;
}

/** One analysis's inputs, and what it must check when it finishes. */
export interface AnalysisJob {
	docs: OpenDocument[];
	versionsAtStart: Map<string, number>;
	sources: SourceFile[];
	docFacts: Map<string, FileFacts>;
	hooks: EngineHooks;
}

export class Folder {
	/** The folder on disk: gpc files and their neighbours, with their facts. */
	index?: IndexResult;
	/** Set while an index runs; cancelled by a newer one. Analyses wait for it. */
	indexing?: CancellationTokenSource;
	/** The last finished analysis: requests are answered from it while the next one runs. */
	result?: EngineResult;
	/** Disk gpc files' texts and trees, for pass 2 (open documents use their own). */
	readonly trees: SourceTrees;
	/** What the last analysis saw of each open document, by URI. */
	readonly seen = new Map<string, { text: string; facts?: FileFacts }>();
	/** Something besides open documents' text changed since the last analysis (settings, index, open, close). */
	stale = true;
	/** Files closed in the editor since the index: the disk may differ from what the index saw. */
	readonly reread = new Set<string>();
	/** False: walk without .gitignore (it hides every C file of the root; index/root.ts). */
	gitignore?: boolean;
	/** The unparsed-code notices last logged (logged again only when they change). */
	noticesLogged?: string;

	constructor(readonly root: string, parser: Parser) {
		this.trees = new SourceTrees(parser);
	}

	get loose(): boolean {
		return this.root === LOOSE;
	}

	/**
	 * The sources of an analysis; or 'indexing' (the index's completion analyses the folder),
	 * or 'moved' (an edit that cannot change a finding: the result moved, to be published).
	 */
	prepare(docs: OpenDocument[], versions: ReadonlyMap<string, number>, documentTree: (uri: string) => Tree | undefined): AnalysisJob | 'indexing' | 'moved' {
		if (this.indexing) return 'indexing';
		if (!this.stale && this.result && this.moveOnly(docs)) return 'moved';

		const versionsAtStart = new Map(versions);
		const sources = new Map<string, SourceFile>();
		for (const s of this.index?.sources ?? []) {
			const abs = `${this.root}/${s.file}`;
			const facts = this.reread.has(s.file) ? undefined : s.facts;
			if (s.summariesOnly) sources.set(s.file, { ...s, facts });
			else sources.set(s.file, { file: s.file, read: () => this.trees.text(abs), tree: () => this.trees.tree(abs), facts });
		}
		const docOf = new Map<string, { uri: string; text: string }>();
		for (const doc of docs) {
			const known = sources.get(doc.file);
			const mentions = GPC_IDENTIFIER.test(doc.text);
			if (!mentions && !known) continue;
			// Facts computed for exactly this text (by an earlier analysis, or by the index when
			// the editor holds what the disk does) are reused.
			const seen = this.seen.get(doc.uri);
			let facts = seen?.text === doc.text ? seen.facts : undefined;
			// An edit inside one function: only that function's facts are extracted again.
			if (!facts && seen?.facts) facts = editedFacts(doc.file, seen.text, seen.facts, doc.text, doc.tree);
			const indexed = this.index?.hashes.get(doc.file);
			if (!facts && known?.facts && indexed && !this.reread.has(doc.file) && contentHash(Buffer.from(doc.text, 'utf8')) === indexed) facts = known.facts;
			// The document's tree at the time it is asked for (a background analysis outlives edits).
			sources.set(doc.file, { file: doc.file, read: () => doc.text, tree: () => documentTree(doc.uri), facts, summariesOnly: !mentions && known?.summariesOnly });
			docOf.set(doc.file, { uri: doc.uri, text: doc.text });
		}
		const docFacts = new Map<string, FileFacts>();
		const hooks = {
			onFacts: (file: string, facts: FileFacts) => {
				if (docOf.has(file)) docFacts.set(file, facts);
			},
		};
		return { docs, versionsAtStart, sources: [...sources.values()], docFacts, hooks };
	}

	/** Keeps a finished analysis's result and what it saw of the open documents. */
	finish(job: AnalysisJob, result: EngineResult): void {
		this.seen.clear();
		for (const doc of job.docs) {
			const facts = job.docFacts.get(doc.file) ?? job.sources.find((s) => s.file === doc.file)?.facts ?? result.facts.find((f) => f.file === doc.file);
			this.seen.set(doc.uri, { text: doc.text, facts });
		}
		this.stale = false;
		this.result = result;
	}

	/**
	 * Edits that cannot change a finding: a document the analysis does not use that still
	 * does not mention the gpc API, or an edit inside a function that neither touches the
	 * API nor calls what does, with the same callees. The result only moves.
	 */
	private moveOnly(docs: OpenDocument[]): boolean {
		const changed = docs.filter((d) => this.seen.get(d.uri)?.text !== d.text);
		if (changed.length > 1) return false;
		let result = this.result!;
		if (changed.length === 1) {
			const doc = changed[0];
			const seen = this.seen.get(doc.uri);
			if (!seen) return false;
			const used = result.facts.some((f) => f.file === doc.file);
			if (!used) {
				if (GPC_IDENTIFIER.test(doc.text)) return false;
				this.seen.set(doc.uri, { text: doc.text });
			} else {
				if (!seen.facts) return false;
				const edit = localEdit(doc.file, seen.text, seen.facts, doc.text, doc.tree, gpcUsers(result.facts));
				if (!edit) return false;
				result = shiftResult(result, doc.file, edit);
				this.seen.set(doc.uri, { text: doc.text, facts: edit.facts });
			}
		}
		this.result = result;
		return true;
	}
}

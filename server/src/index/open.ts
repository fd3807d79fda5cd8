// Opening trees for analysis, the one way every front end does it (check, the
// language server, review, kbuild, fix, simulate --from): index every path
// (walk, prefilter and facts in workers, the persistent cache), and parse the
// gpc files on this thread while the workers scan: their tree gives their
// facts and serves every round of pass 2.
import { relative } from 'node:path';
import type { EngineHooks } from '../analysis/engine';
import { extractFacts, type FileFacts } from '../analysis/facts';
import type { SourceFile } from '../analysis/source';
import type { Parser } from 'web-tree-sitter';
import { indexTree, type IndexOptions, type IndexResult, type SkippedFile } from './indexer';
import { defaultJobs, WorkerPool } from './pool';
import { releaseHelpers } from './signatures';
import { SourceTrees } from './trees';

export interface OpenOptions extends Pick<IndexOptions, 'include' | 'exclude' | 'gitignore' | 'maxFileBytes' | 'cancelled' | 'allFiles'> {
	/** Threads; default the number of cores. */
	jobs?: number;
	/** Folder of the persistent cache; none when absent. */
	cacheDir?: string;
	/** Where the gpc files' texts and trees are kept: the caller's (a language server keeps them across analyses), else a new one. */
	trees?: SourceTrees;
	/** A file whose tree is not wanted now (an open document: the editor's text wins). */
	skipTree?(abs: string): boolean;
	onProgress?(phase: 'scan' | 'facts', done: number, total: number): void;
	log?(message: string): void;
}

export interface OpenTrees {
	/** The single path's root (paths of the sources are relative to it), or the cwd. */
	root: string;
	/** What the engine analyses: gpc files (with their trees) and their neighbours. */
	sources: SourceFile[];
	skipped: SkippedFile[];
	indexes: { index: IndexResult; prefix: string }[];
	trees: SourceTrees;
	scanned: number;
	/** Threads that took part. */
	jobs: number;
	/** The engine's hooks that keep the facts it computes in the cache. */
	hooks: Pick<EngineHooks, 'onFacts'>;
	/** Writes every index's cache. */
	persist(): void;
	/** Resolves once the parser `trees` use is there (when it was given as a function, it is created now if it was not yet). */
	parserReady(): Promise<void>;
}

/**
 * Indexes `paths` (each a tree, a directory or a file) into the engine's sources. `parser`
 * may be a function that creates it: then it is called only when a file must be parsed
 * (a warm check of an unchanged tree parses nothing).
 */
export async function openTrees(parser: Parser | (() => Promise<Parser>), paths: readonly string[], options: OpenOptions = {}): Promise<OpenTrees> {
	const single = paths.length === 1;
	const jobs = Math.max(1, options.jobs ?? defaultJobs());
	const pool = jobs > 1 ? WorkerPool.create(jobs) : undefined;
	let made = typeof parser === 'function' ? undefined : parser;
	let making: Promise<void> | undefined;
	const parserReady = () => (making ??= made ? Promise.resolve() : (parser as () => Promise<Parser>)().then((p) => void (made = p)));
	const trees = options.trees ?? new SourceTrees(() => {
		if (!made) throw new Error('gpcscope: parsing before the parser was created');
		return made;
	});
	// The files that mention the gpc API (with --all-files the others are analysed too, but
	// their facts come from the workers and their trees are parsed and freed by the engine).
	const gpcFiles = new Set<string>();

	const indexes: { index: IndexResult; prefix: string }[] = [];
	const sources: SourceFile[] = [];
	const skipped: SkippedFile[] = [];
	let scanned = 0;
	let root = process.cwd();
	try {
		for (const path of paths) {
			const index = await indexTree(path, {
				allFiles: options.allFiles, include: options.include, exclude: options.exclude, gitignore: options.gitignore,
				maxFileBytes: options.maxFileBytes, pool, jobs, cacheDir: options.cacheDir, log: options.log, cancelled: options.cancelled,
				onProgress: options.onProgress,
				beforeParsing: parserReady,
				// A file without cached facts is parsed now, while the workers scan; one the
				// cache knows is parsed only if the cached result cannot be used. One that
				// changed on disk is parsed afresh.
				onGpcFile: (file, abs, read, facts) => {
					gpcFiles.add(abs);
					if (read) trees.drop(abs);
					if (facts || options.skipTree?.(abs)) return undefined;
					const tree = trees.tree(abs);
					return tree && extractFacts(file, tree);
				},
			});
			const prefix = single ? '' : relative(process.cwd(), index.root).split('\\').join('/');
			if (single) root = index.root;
			indexes.push({ index, prefix });
			scanned += index.stats.scanned;
			const rebase = (file: string) => (prefix ? `${prefix}/${file}` : file);
			for (const s of index.sources) {
				const file = rebase(s.file);
				const abs = `${index.root}/${s.file}`;
				if (s.summariesOnly) sources.push({ file, read: s.read, facts: rebaseOrNot(s.facts, file), summariesOnly: true });
				else {
					sources.push({
						file,
						read: gpcFiles.has(abs) ? () => trees.text(abs) : s.read,
						tree: gpcFiles.has(abs) ? () => trees.tree(abs) : undefined,
						facts: rebaseOrNot(s.facts, file),
					});
				}
			}
			for (const s of index.skipped) skipped.push({ file: rebase(s.file), reason: s.reason });
		}
	} finally {
		releaseHelpers();
		await pool?.dispose();
	}
	const owner = new Map<string, { index: IndexResult; rel: string }>();
	for (const { index, prefix } of indexes) for (const s of index.sources) owner.set(prefix ? `${prefix}/${s.file}` : s.file, { index, rel: s.file });
	return {
		root,
		sources,
		skipped,
		indexes,
		trees,
		scanned,
		jobs: pool?.used ? pool.size : 1,
		hooks: {
			onFacts: (file, facts) => {
				const o = owner.get(file);
				const hash = o && o.index.hashes.get(o.rel);
				if (o && hash) o.index.cache?.setFacts(o.rel, hash, rebaseFacts(facts, o.rel));
			},
		},
		persist: () => {
			for (const { index } of indexes) index.persist();
		},
		parserReady,
	};
}

function rebaseOrNot(facts: FileFacts | undefined, file: string): FileFacts | undefined {
	return facts && rebaseFacts(facts, file);
}

/** Facts computed for `file` under another name (a cache of another root prefix): the same facts, renamed. */
export function rebaseFacts(facts: FileFacts, file: string): FileFacts {
	if (facts.file === file) return facts;
	return {
		...facts,
		file,
		declarations: facts.declarations.map((d) => ({ ...d, file })),
		functions: facts.functions.map((f) => ({ ...f, file })),
		usageArguments: facts.usageArguments.map((u) => ({ ...u, file })),
	};
}

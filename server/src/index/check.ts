// `gpcscope check` on whole trees: index every path (workers, cache), parse the
// gpc files on this thread while the workers scan, run the engine with the
// facts the index found, and reuse a cached result when nothing it depends on
// changed.
import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import type { Engine, EngineOptions, EngineResult, SourceFile } from '../analysis/engine';
import { extractFacts, type FileFacts } from '../analysis/facts';
import { codeVersion, defaultCacheDir, type CachedResult } from './cache';
import { indexTree, type IndexResult, type SkippedFile } from './indexer';
import { defaultJobs, WorkerPool } from './pool';
import type { ProgressBar } from './progress';
import { SourceTrees } from './trees';

export interface TreeCheckOptions {
	allFiles?: boolean;
	/** False: walk without .gitignore (index/root.ts found that it hides every C file). */
	gitignore?: boolean;
	/** Threads; default the number of cores. */
	jobs?: number;
	/** Use the persistent cache (default true); its folder, default `$XDG_CACHE_HOME/gpcscope`. */
	cache?: boolean;
	cacheDir?: string;
	engine: EngineOptions;
	progress?: ProgressBar;
	log?(message: string): void;
}

/** What a cached or fresh analysis gives the reports. */
export type CheckResult = Pick<EngineResult, 'era' | 'findings' | 'stats' | 'skipped' | 'unparsed'>;

export interface TreeCheck {
	/** The single path's root (paths in the result are relative to it), or the cwd. */
	root: string;
	result: CheckResult;
	skipped: SkippedFile[];
	stats: {
		filesScanned: number;
		/** Files the analysis used (gpc files and their neighbours). */
		filesIndexed: number;
		/** Files parsed in this run (workers and this thread); the rest came from the cache. */
		filesParsedNow: number;
		factsFromCache: number;
		resultFromCache: boolean;
		cache: string;
		jobs: number;
		indexMs: number;
		ms: number;
	};
}

export async function checkTrees(engine: Engine, paths: string[], options: TreeCheckOptions): Promise<TreeCheck> {
	const started = performance.now();
	const single = paths.length === 1;
	const jobs = Math.max(1, options.jobs ?? defaultJobs());
	const pool = jobs > 1 ? WorkerPool.create(jobs) : undefined;
	const cacheDir = options.cache === false ? undefined : options.cacheDir ?? defaultCacheDir();
	const log = options.log ?? (() => undefined);
	// gpc files are parsed here once (while the workers scan): the tree gives their facts
	// and serves every round of pass 2.
	const trees = new SourceTrees(engine.parser);
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
				allFiles: options.allFiles, gitignore: options.gitignore, pool, jobs, cacheDir, log,
				onProgress: (phase, done, total) => options.progress?.update(phase, done, total),
				// A file without cached facts is parsed now, while the workers scan; one the
				// cache knows is parsed only if the cached result cannot be used.
				onGpcFile: (file, abs, _read, facts) => {
					gpcFiles.add(abs);
					if (facts) return undefined;
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
		await pool?.dispose();
	}
	const indexMs = Math.round(performance.now() - started);

	// The cached result is keyed by the code, the options and every source's content.
	const key = resultKey(indexes, options);
	const caches = indexes.map((i) => i.index.cache);
	const cached = key && single ? caches[0]?.result(key) : undefined;
	let result: CheckResult;
	if (cached) result = { era: cached.era, findings: cached.findings, stats: cached.stats as unknown as EngineResult['stats'], skipped: [], unparsed: cached.unparsed ?? [] };
	else {
		const owner = new Map<string, { index: IndexResult; rel: string }>();
		for (const { index, prefix } of indexes) for (const s of index.sources) owner.set(prefix ? `${prefix}/${s.file}` : s.file, { index, rel: s.file });
		try {
			result = engine.analyze(sources, options.engine, {
				onFacts: (file, facts) => {
					const o = owner.get(file);
					const hash = o && o.index.hashes.get(o.rel);
					if (o && hash) o.index.cache?.setFacts(o.rel, hash, rebaseFacts(facts, o.rel));
				},
				onProgress: (phase, done, total) => options.progress?.update(phase, done, total),
			});
		} finally {
			trees.dispose();
		}
		// Files skipped over a time budget depend on the machine's load: such results are not kept.
		if (key && single && !result.skipped.length) {
			caches[0]?.setResult({ key, era: result.era, findings: result.findings, stats: { ...result.stats } as unknown as CachedResult['stats'], unparsed: result.unparsed });
		}
	}
	trees.dispose();
	options.progress?.done();
	for (const { index } of indexes) index.persist();
	const first = indexes[0]?.index.stats;
	return {
		root,
		result,
		skipped,
		stats: {
			filesScanned: scanned,
			filesIndexed: sources.length,
			filesParsedNow: trees.parsed + indexes.reduce((n, i) => n + i.index.stats.parsed, 0),
			factsFromCache: indexes.reduce((n, i) => n + i.index.stats.factsFromCache, 0),
			resultFromCache: !!cached,
			cache: first?.cache ?? 'off',
			jobs: pool?.used ? pool.size : 1,
			indexMs,
			ms: Math.round(performance.now() - started),
		},
	};
}

function resultKey(indexes: { index: IndexResult; prefix: string }[], options: TreeCheckOptions): string | undefined {
	const h = createHash('sha1').update(codeVersion());
	const e = options.engine;
	h.update(JSON.stringify([e.era ?? null, e.rules ? [...e.rules].sort() : null, e.severity ?? null, e.dirtyExemptions ?? null, e.fileBudgetMs ?? null, !!options.allFiles, !!e.preemptRt]));
	for (const { index, prefix } of indexes) {
		for (const s of index.sources) {
			const hash = index.hashes.get(s.file);
			if (!hash) return undefined;
			h.update(`${prefix}/${s.file}\0${s.summariesOnly ? 1 : 0}\0${hash}\n`);
		}
	}
	return h.digest('hex');
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

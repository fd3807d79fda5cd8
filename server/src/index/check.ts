// `gpcscope check` on whole trees (also kbuild's and review's analysis): open the
// trees (open.ts), run the engine with the facts the index found, and reuse a
// cached result when nothing it depends on changed.
import { createHash } from 'node:crypto';
import type { Engine, EngineOptions, EngineResult } from '../analysis/engine';
import { codeVersion, defaultCacheDir, type CachedResult } from './cache';
import type { IndexResult, SkippedFile } from './indexer';
import { openTrees } from './open';
import type { ProgressBar } from './progress';

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

/**
 * `engine` may be a function that creates it (once; the caller disposes of it): then it is
 * created only when something must be parsed or analysed, not when the cached result of an
 * unchanged tree is reused.
 */
export async function checkTrees(engine: Engine | (() => Promise<Engine>), paths: string[], options: TreeCheckOptions): Promise<TreeCheck> {
	const started = performance.now();
	const theEngine = typeof engine === 'function' ? engine : () => Promise.resolve(engine);
	const opened = await openTrees(typeof engine === 'function' ? async () => (await engine()).parser : engine.parser, paths, {
		allFiles: options.allFiles,
		gitignore: options.gitignore,
		jobs: options.jobs,
		cacheDir: options.cache === false ? undefined : options.cacheDir ?? defaultCacheDir(),
		log: options.log ?? (() => undefined),
		onProgress: (phase, done, total) => options.progress?.update(phase, done, total),
	});
	const { root, sources, skipped, indexes, trees } = opened;
	const indexMs = Math.round(performance.now() - started);

	// The cached result is keyed by the code, the options and every source's content.
	const single = paths.length === 1;
	const key = resultKey(indexes, options);
	const caches = indexes.map((i) => i.index.cache);
	const cached = key && single ? caches[0]?.result(key) : undefined;
	let result: CheckResult;
	if (cached) result = { era: cached.era, findings: cached.findings, stats: cached.stats as unknown as EngineResult['stats'], skipped: [], unparsed: cached.unparsed ?? [] };
	else {
		const analyser = await theEngine();
		await opened.parserReady();
		try {
			result = analyser.analyze(sources, options.engine, {
				...opened.hooks,
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
	opened.persist();
	const first = indexes[0]?.index.stats;
	return {
		root,
		result,
		skipped,
		stats: {
			filesScanned: opened.scanned,
			filesIndexed: sources.length,
			filesParsedNow: trees.parsed + indexes.reduce((n, i) => n + i.index.stats.parsed, 0),
			factsFromCache: indexes.reduce((n, i) => n + i.index.stats.factsFromCache, 0),
			resultFromCache: !!cached,
			cache: first?.cache ?? 'off',
			jobs: opened.jobs,
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

// Whole-tree indexing: walk (main thread) → read + prefilter (workers) → pass-1
// facts of the gpc files and their neighbours (workers, each with its own
// parser) → sources for the engine, whose pass 2 runs on the main thread. The
// persistent cache lets a warm start stat files instead of reading them and
// reuse the facts of every file whose content hash is unchanged.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { Parser } from 'web-tree-sitter';
import type { SourceFile } from '../analysis/source';
import { internFacts, type FileFacts } from '../analysis/facts';
import { createCParser } from '../parse/parser';
import { IndexCache } from './cache';
import { defaultJobs, WorkerPool } from './pool';
import { decodeText } from './prefilter';
import { factsOf, Kind, scanFiles, type FactsReply, type ScanTask, type ScanVerdict } from './tasks';
import { helperCount, SignatureScan } from './signatures';
import { resolveRoot, walkKey, walkSources, type WalkEntry, type WalkOptions } from './walk';

export const MAX_FILE_BYTES = 4 * 1024 * 1024;

export interface SkippedFile {
	file: string;
	reason: string;
}

export interface IndexOptions extends WalkOptions {
	/** Analyse every .c/.h, not only those the prefilter selects. */
	allFiles?: boolean;
	maxFileBytes?: number;
	/** Threads: 1 indexes in this thread; default the number of cores. Ignored when `pool` is given. */
	jobs?: number;
	pool?: WorkerPool;
	/** Folder of the persistent cache; none when absent. */
	cacheDir?: string;
	/**
	 * A file that mentions the gpc API was found (`read`: new or changed, not known from the
	 * cache; `facts`: the cache's facts for its content). The caller parses gpc files itself
	 * (pass 2 needs their trees) and may return their facts, which the index then keeps.
	 */
	onGpcFile?(file: string, abs: string, read: boolean, facts: FileFacts | undefined): FileFacts | undefined;
	/**
	 * Awaited before `onGpcFile` is first called for a file without cached facts (or for any file
	 * after a file was read): the caller may create its parser only then.
	 */
	beforeParsing?(): Promise<void>;
	onProgress?(phase: 'scan' | 'facts', done: number, total: number): void;
	log?(message: string): void;
	/** Which files only (the rewrite's list of gpc files): no facts are computed. */
	filesOnly?: boolean;
	/** Polled between batches: true abandons the run (IndexCancelled). */
	cancelled?(): boolean;
}

export interface IndexStats {
	/** Every .c/.h seen. */
	scanned: number;
	/** Files read this run (the others were unchanged since the cache was written). */
	read: number;
	/** Files that mention the gpc API. */
	matched: number;
	/** Files whose facts were computed this run by the index (not counting the caller's gpc files), and facts taken from the cache. */
	parsed: number;
	factsFromCache: number;
	cache: string;
	/** False when the cache showed the tree unchanged, so that the directories were not walked. */
	walked: boolean;
	jobs: number;
	scanMs: number;
	ms: number;
}

export interface IndexResult {
	root: string;
	sources: SourceFile[];
	skipped: SkippedFile[];
	/** sha1 of each source's content, where known. */
	hashes: Map<string, string>;
	stats: IndexStats;
	cache?: IndexCache;
	/** Writes the cache (with whatever was added to it since). */
	persist(): void;
}

export class IndexCancelled extends Error {
	constructor() {
		super('indexing cancelled');
	}
}

interface Seen {
	entry: WalkEntry;
	order: number;
	kind: Kind;
	hash?: string;
}

/** Indexes one root (a directory or a single file); paths in the result are relative to it. */
export async function indexTree(path: string, options: IndexOptions = {}): Promise<IndexResult> {
	const started = performance.now();
	const wallStarted = Date.now();
	const { root, file } = resolveRoot(path);
	const maxBytes = options.maxFileBytes ?? MAX_FILE_BYTES;
	const log = options.log ?? (() => undefined);
	const cache = options.cacheDir ? IndexCache.open(options.cacheDir, root, log) : undefined;
	const jobs = options.pool ? options.pool.size : Math.max(1, options.jobs ?? defaultJobs());
	const ownPool = options.pool ? undefined : jobs > 1 ? WorkerPool.create(jobs) : undefined;
	const pool = options.pool ?? ownPool;
	let inlineParser: Promise<Parser> | undefined;
	const skipped: SkippedFile[] = [];
	const stats: IndexStats = {
		scanned: 0, read: 0, matched: 0, parsed: 0, factsFromCache: 0, cache: cache?.status ?? 'off', walked: true, jobs: 1, scanMs: 0, ms: 0,
	};
	let aborted = false;
	const check = () => {
		if (options.cancelled?.()) {
			aborted = true;
			throw new IndexCancelled();
		}
	};

	const gpc: Seen[] = [];
	// Files that do not mention the gpc API, by directory: the neighbours of gpc .c files
	// are parsed for their call graph only (may-sleep summaries), never analysed.
	const dirs = new Map<string, { firstGpc?: number; others: Seen[] }>();
	const neighbours: Seen[] = [];
	// With --all-files, the files the prefilter rejects: analysed too, their facts from the workers.
	const rejected: Seen[] = [];
	const facts = new Map<string, FileFacts>();
	const pending: Promise<void>[] = [];
	let factsDone = 0;
	let factsTotal = 0;

	/**
	 * `cached`: taken from and kept in the cache. Not for the files only --all-files parses: the
	 * facts of a whole tree would double the memory and the cache file (its cached result and
	 * the gpc files' facts still make a warm run fast).
	 */
	const wantFacts = (s: Seen, cached = true) => {
		if (options.filesOnly) return;
		const known = cached ? cache?.facts(s.entry.rel, s.hash) : undefined;
		if (known) {
			facts.set(s.entry.rel, known);
			stats.factsFromCache++;
			return;
		}
		// gpc files are parsed on the main thread anyway (pass 2 needs their trees): their
		// facts come from that tree, not from a second parse in a worker.
		if (s.kind === Kind.Gpc) return;
		factsTotal++;
		const done = (reply: FactsReply) => {
			if (reply.facts && reply.hash) {
				// Cloned across the thread, every string is its own copy: interned, they are shared.
				const interned = internFacts(reply.facts);
				facts.set(s.entry.rel, interned);
				s.hash = reply.hash;
				if (cached) cache?.setFacts(s.entry.rel, reply.hash, interned);
				stats.parsed++;
			} else if (reply.error && !aborted) log(`facts of ${s.entry.rel}: ${reply.error}; the engine will parse it`);
			if (!aborted) options.onProgress?.('facts', ++factsDone, factsTotal);
		};
		const task = { kind: 'facts' as const, file: s.entry.rel, abs: s.entry.abs };
		if (pool) pending.push(pool.facts(task, !cached).then(done, (e: Error) => done({ error: e.message })));
		else pending.push(inlineFacts().then((parser) => done(factsOf(task, parser))));
	};
	const inlineFacts = () => (inlineParser ??= createCParser());

	/** `verdict`: the file was read; else it is file `known` of the cache, unchanged. */
	const classify = (entry: WalkEntry, order: number, verdict: ScanVerdict | undefined, known: number) => {
		let kind: Kind;
		let hash: string | undefined;
		if (verdict) {
			stats.read++;
			({ kind, hash } = verdict);
			if (verdict.error) skipped.push({ file: entry.rel, reason: `unreadable: ${verdict.error}` });
			if (kind !== Kind.Unreadable) cache?.setFile(order, entry.rel, [verdict.sig, kind, hash]);
			else cache?.incomplete();
		} else {
			kind = cache!.kindAt(known);
			hash = cache!.hashAt(known);
			cache!.keepFile(order, known);
		}
		const s: Seen = { entry, order, kind, hash };
		if (kind === Kind.TooLarge) {
			const size = verdict ? verdict.sig[0] : cache!.recordAt(known)[0][0];
			skipped.push({ file: entry.rel, reason: `larger than ${maxBytes} bytes (${size}); generated?` });
		}
		else if (kind === Kind.Binary) skipped.push({ file: entry.rel, reason: 'binary (NUL bytes)' });
		if (kind === Kind.Gpc) {
			stats.matched++;
			gpc.push(s);
			wantFacts(s);
			// The caller parses on this thread: not while the walk still has workers to feed.
			if (walking) later.push({ s, read: !!verdict });
			else handOver(s, !!verdict);
		}
		if (options.allFiles) {
			if (kind === Kind.None) {
				rejected.push(s);
				wantFacts(s, false);
			}
			return;
		}
		// Only gpc .c files make a directory a gpc directory; its other .c and .h files are neighbours.
		if (kind === Kind.Gpc ? !entry.rel.endsWith('.c') : kind !== Kind.None || !/\.[ch]$/.test(entry.rel)) return;
		const dir = posix.dirname(entry.rel);
		let d = dirs.get(dir);
		if (!d) dirs.set(dir, (d = { others: [] }));
		if (kind === Kind.Gpc) {
			if (d.firstGpc === undefined) {
				d.firstGpc = order;
				for (const o of d.others) addNeighbour(o);
				d.others = [];
			}
			d.firstGpc = Math.min(d.firstGpc, order);
		} else if (d.firstGpc !== undefined) addNeighbour(s);
		else d.others.push(s);
	};
	const parsedKind = (kind: Kind) => kind === Kind.Gpc || (!!options.allFiles && kind === Kind.None);
	const handOver = (s: Seen, read: boolean) => {
		const parsed = options.onGpcFile?.(s.entry.rel, s.entry.abs, read, facts.get(s.entry.rel));
		if (parsed && !facts.has(s.entry.rel)) {
			facts.set(s.entry.rel, parsed);
			if (s.hash) cache?.setFacts(s.entry.rel, s.hash, parsed);
		}
	};
	let walking = true;
	const later: { s: Seen; read: boolean }[] = [];
	const addNeighbour = (s: Seen) => {
		neighbours.push(s);
		wantFacts(s);
	};

	// A warm cache's files are stat()ed on this thread and helper threads at once, while
	// this thread walks; the files it does not know are read meanwhile. When the previous
	// walk recorded all it met, its directories and ignore files are stat()ed too, first:
	// if nothing changed, the walk would find the recorded files, and is not needed.
	const helpers = helperCount(jobs);
	const key = cache && !file ? walkKey(root, options) : undefined;
	const verifiable = key !== undefined && cache!.verifiable(key);
	const signatures = cache?.status === 'warm' && !file ? new SignatureScan(root, cache.scanList(verifiable), helpers) : undefined;
	/** The tree is the one the cache recorded, unchanged: its files in its order, classified as recorded. */
	const unchangedTree = () => {
		const n = cache!.previousFiles;
		const path = (i: number) => cache!.pathAt(i);
		cache!.keepAll();
		stats.scanned = n;
		const entry = (i: number): WalkEntry => {
			const rel = path(i);
			return { rel, abs: `${root}/${rel}` };
		};
		// Without --all-files, files that do not mention the gpc API only matter as neighbours
		// of the gpc .c files (classify's bookkeeping, without an object per file).
		for (let i = 0; i < n; i++) if (options.allFiles || cache!.kindAt(i) !== Kind.None) classify(entry(i), i, undefined, i);
		if (options.allFiles || !dirs.size) return;
		const byLength = new Map<number, string[]>();
		for (const dir of dirs.keys()) {
			const k = dir === '.' ? -1 : dir.length;
			byLength.set(k, [...(byLength.get(k) ?? []), dir]);
		}
		const paths = cache!.previousPaths;
		for (let i = 0; i < n; i++) {
			if (cache!.kindAt(i) !== Kind.None) continue;
			const k = paths.lastSlashAt(i);
			const candidates = byLength.get(k);
			if (candidates?.some((dir) => k < 0 || paths.startsWithAt(i, dir))) addNeighbour({ entry: entry(i), order: i, kind: Kind.None, hash: cache!.hashAt(i) });
		}
	};
	try {
		const batches: Promise<void>[] = [];
		let order = 0;
		let scanDone = 0;
		const scan = (batch: WalkEntry[], orders: number[], files: ScanTask['files'], known: number[]) => {
			const task: ScanTask = { kind: 'scan', maxBytes, all: !!options.allFiles, files };
			const handle = (verdicts: (ScanVerdict | undefined)[]) => {
				batch.forEach((e, i) => classify(e, orders[i], verdicts[i], known[i]));
				scanDone += batch.length;
				options.onProgress?.('scan', scanDone, order);
			};
			// A batch the cache knows entirely is only stat()ed: here, cheaper than a message (measured).
			if (pool && files.some((f) => !f.cached)) {
				// A worker that died leaves its batch to this thread.
				batches.push(pool.scan(task).then(handle, () => (aborted ? undefined : handle(scanFiles(task)))));
				return true;
			}
			handle(scanFiles(task));
			return false;
		};
		// A record without a hash for a file that will be parsed is incomplete (as below): such a file is read again, by a walk.
		const complete = () => {
			for (let i = 0; i < cache!.previousFiles; i++) if (parsedKind(cache!.kindAt(i)) && !cache!.hashAt(i)) return false;
			return true;
		};
		const verified = verifiable && cache!.unchanged(await signatures!.finish()) && complete();
		check();
		if (verified) {
			stats.walked = false;
			unchangedTree();
			options.onProgress?.('scan', stats.scanned, stats.scanned);
		} else {
			if (key !== undefined) cache!.beginWalk(key);
			/** Files the cache knows, compared once `signatures` has them: entry, order and the cache's index. */
			const deferred: { entry: WalkEntry; order: number; known: number }[] = [];
			const walk = file ? [[{ rel: file, abs: `${root}/${file}` }]] : walkSources(root, options, (s) => skipped.push(s), 512, cache);
			for (const batch of walk) {
				check();
				const files: ScanTask['files'] = [];
				const entries: WalkEntry[] = [];
				const orders: number[] = [];
				const known: number[] = [];
				for (const entry of batch) {
					const i = cache ? cache.lookup(entry.rel) : -1;
					// A record without a hash for a file that will be parsed is incomplete: read it again.
					const usable = i >= 0 && (!parsedKind(cache!.kindAt(i)) || !!cache!.hashAt(i));
					if (usable && signatures) deferred.push({ entry, order: order++, known: i });
					else {
						entries.push(entry);
						orders.push(order++);
						known.push(i);
						files.push({ abs: entry.abs, cached: usable ? cache!.recordAt(i)[0] : undefined });
					}
				}
				stats.scanned += batch.length;
				// Let replies in while the walk goes on.
				if (entries.length && scan(entries, orders, files, known)) await new Promise((resolve) => setImmediate(resolve));
			}
			if (signatures) {
				const sigs = await signatures.finish();
				check();
				const changed: typeof deferred = [];
				for (const d of deferred) {
					if (cache!.sameSignatureAt(d.known, sigs, d.known * 4)) classify(d.entry, d.order, undefined, d.known);
					else changed.push(d);
				}
				scanDone += deferred.length - changed.length;
				for (let k = 0; k < changed.length; k += 512) {
					const part = changed.slice(k, k + 512);
					const files = part.map((d) => ({ abs: d.entry.abs }));
					scan(part.map((d) => d.entry), part.map((d) => d.order), files, part.map((d) => d.known));
				}
			}
		}
		// Files read now, or gpc files without cached facts, may be parsed by the caller.
		if (batches.length || later.some((l) => !facts.has(l.s.entry.rel))) await options.beforeParsing?.();
		walking = false;
		// The workers have every batch now: hand gpc files over one at a time, letting replies in between.
		for (let i = 0; i < later.length; i++) {
			check();
			handOver(later[i].s, later[i].read);
			if (pool) await new Promise((resolve) => setImmediate(resolve));
		}
		await Promise.all(batches);
		stats.scanMs = Math.round(performance.now() - started);
		check();
		await Promise.all(pending);
		check();
		stats.jobs = pool?.used ? pool.size : 1;
	} catch (e) {
		aborted = true;
		throw e;
	} finally {
		signatures?.dispose();
		await ownPool?.dispose();
		(await inlineParser)?.delete();
	}

	// The engine's order: gpc files (and with --all-files every other file) in walk order, then neighbours by directory.
	const analysed = [...gpc, ...rejected].sort((a, b) => a.order - b.order);
	const firstGpcOf = (s: Seen) => dirs.get(posix.dirname(s.entry.rel))!.firstGpc!;
	neighbours.sort((a, b) => firstGpcOf(a) - firstGpcOf(b) || a.order - b.order);
	stats.ms = Math.round(performance.now() - started);
	return result(root, analysed, neighbours, facts, skipped, stats, cache, wallStarted);
}

/**
 * Out of indexTree's scope on purpose: closures made there would keep its whole context
 * (the walk's per-directory lists of every file) alive as long as the result lives.
 */
function result(root: string, analysed: Seen[], neighbours: Seen[], facts: Map<string, FileFacts>, skipped: SkippedFile[], stats: IndexStats, cache: IndexCache | undefined, wallStarted: number): IndexResult {
	const hashes = new Map<string, string>();
	const sources: SourceFile[] = [];
	for (const [list, summariesOnly] of [[analysed, false], [neighbours, true]] as const) {
		for (const { entry, hash } of list) {
			if (hash) hashes.set(entry.rel, hash);
			const abs = entry.abs;
			const source: SourceFile = { file: entry.rel, read: () => readText(abs), facts: facts.get(entry.rel) };
			if (summariesOnly) source.summariesOnly = true;
			sources.push(source);
		}
	}
	return { root, sources, skipped, hashes, stats, cache, persist: () => cache?.save(wallStarted) };
}

export function readText(abs: string): string {
	return decodeText(readFileSync(abs));
}

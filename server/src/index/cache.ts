// The persistent index: per root, one file holding every scanned file's
// signature and prefilter verdict, the pass-1 facts of the parsed files keyed
// by content hash, and (CLI) the last results keyed by everything they depend
// on. The file starts with the sha1 of its body; a mismatch, a parse error, an
// unknown format or another engine version means it is rebuilt, never trusted.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { EraDecision } from '../analysis/era';
import type { FileFacts } from '../analysis/facts';
import type { Finding, UnparsedNotice } from '../analysis/findings';
import { packageRoot } from '../packageRoot';
import { VERSION } from '../version';
import { Kind, type Signature } from './tasks';

const FORMAT = 1;
/** Files modified this close to the scan may change again within the same timestamp: not cached. */
const RACY_MS = 2000;
/** A lock older than this is a crashed process's. */
const STALE_LOCK_MS = 10 * 60 * 1000;

/** sig, kind, sha1 of the content (files that were hashed). */
export type FileRecord = [sig: Signature, kind: Kind, hash?: string];

export interface CachedResult {
	key: string;
	era: EraDecision;
	findings: Finding[];
	stats: Record<string, number>;
	unparsed?: UnparsedNotice[];
}

interface CacheBody {
	format: number;
	engine: string;
	root: string;
	written: number;
	files: Record<string, FileRecord>;
	facts: Record<string, { hash: string; facts: FileFacts }>;
	results: CachedResult[];
}

/** `$XDG_CACHE_HOME/gpcscope` (or ~/.cache/gpcscope): the CLI's cache folder. */
export function defaultCacheDir(): string {
	return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'gpcscope');
}

let engineVersionMemo: string | undefined;

/**
 * What produced the cached facts: the package version, the grammar, and the code of
 * the worker bundle (which holds extractFacts) or, when running from sources, of the
 * analysis, parse and index sources and the vocabulary. Any change to them invalidates every cache.
 */
export function engineVersion(): string {
	if (engineVersionMemo) return engineVersionMemo;
	const h = createHash('sha1').update(VERSION);
	const root = packageRoot();
	h.update(readFileSync(join(root, 'grammars', 'provenance.json')));
	const worker = join(root, 'dist', 'worker.js');
	// A bundle without its worker (a package that left it out) holds extractFacts itself.
	if (__filename.endsWith('.js')) h.update(readFileSync(existsSync(worker) ? worker : __filename));
	else {
		for (const dir of ['analysis', 'analysis/rules', 'parse', 'index']) hashSources(h, join(root, 'server', 'src', dir));
		h.update(readFileSync(join(root, 'server', 'src', 'vocabulary.ts')));
	}
	return (engineVersionMemo = h.digest('hex').slice(0, 16));
}

function hashSources(h: ReturnType<typeof createHash>, dir: string): void {
	if (!existsSync(dir)) return;
	for (const name of readdirSync(dir).sort()) {
		if (name.endsWith('.ts')) h.update(name).update(readFileSync(join(dir, name)));
	}
}

/** The running bundle's own hash: results also depend on pass 2 and the rules. */
export function codeVersion(): string {
	const h = createHash('sha1').update(engineVersion());
	if (__filename.endsWith('.js')) h.update(readFileSync(__filename));
	return h.digest('hex').slice(0, 16);
}

export class IndexCache {
	/** 'cold' (no cache yet), 'warm', or why an existing cache was discarded. */
	readonly status: string;
	private previous: CacheBody | undefined;
	private next: CacheBody;
	private readonly path: string;
	/** Something differs from what is on disk. */
	private dirty = false;
	private released = false;
	/** Files of the previous cache seen again: fewer than it holds means some vanished. */
	private kept = 0;

	private constructor(dir: string, root: string, private readonly log: (m: string) => void) {
		this.path = cacheFile(dir, root);
		const engine = engineVersion();
		const loaded = load(this.path, root, engine);
		this.previous = loaded.body;
		this.status = loaded.body ? 'warm' : loaded.why;
		if (loaded.body === undefined && loaded.why !== 'cold') log(`cache ${this.path}: ${loaded.why}; rebuilding`);
		this.next = { format: FORMAT, engine, root, written: 0, files: {}, facts: {}, results: this.previous?.results ?? [] };
	}

	static open(dir: string, root: string, log: (m: string) => void = () => undefined): IndexCache {
		return new IndexCache(dir, root, log);
	}

	record(rel: string): FileRecord | undefined {
		return this.previous?.files[rel];
	}

	/** Facts cached for exactly this content. */
	facts(rel: string, hash: string | undefined): FileFacts | undefined {
		if (!hash) return undefined;
		for (const entry of [this.next.facts[rel], this.previous?.facts[rel]]) if (entry?.hash === hash) return entry.facts;
		return undefined;
	}

	setFile(rel: string, record: FileRecord): void {
		const before = this.previous?.files[rel];
		if (before && !(rel in this.next.files)) this.kept++;
		this.next.files[rel] = record;
		if (!this.dirty && !sameRecord(before, record)) this.dirty = true;
	}

	setFacts(rel: string, hash: string, facts: FileFacts): void {
		this.next.facts[rel] = { hash, facts };
		this.dirty = true;
		const record = this.next.files[rel];
		if (record && !record[2]) record[2] = hash;
	}

	result(key: string): CachedResult | undefined {
		return this.next.results.find((r) => r.key === key);
	}

	setResult(result: CachedResult): void {
		this.dirty = true;
		this.next.results = [result, ...this.next.results.filter((r) => r.key !== result.key)].slice(0, 4);
	}

	/** Writes what this run saw (files that vanished are dropped), atomically; nothing when nothing changed. */
	save(scanStarted: number): void {
		if (this.released) return;
		const body = this.next;
		if (!this.dirty && this.kept === Object.keys(this.previous?.files ?? {}).length) return;
		body.written = Date.now();
		for (const [rel, [sig]] of Object.entries(body.files)) {
			if (Math.max(sig[1], sig[2]) > scanStarted - RACY_MS) delete body.files[rel];
		}
		// Facts of files this run did not carry over (deleted, no longer parsed) are dropped.
		for (const rel of Object.keys(this.previous?.facts ?? {})) {
			const record = body.files[rel];
			if (!body.facts[rel] && record?.[2] === this.previous!.facts[rel].hash) body.facts[rel] = this.previous!.facts[rel];
		}
		const tmp = `${this.path}.${process.pid}.tmp`;
		try {
			// Inside the try: a body over V8's longest string cannot be written, and must not crash the run.
			const text = JSON.stringify(body);
			mkdirSync(join(this.path, '..'), { recursive: true });
			writeFileSync(tmp, `${createHash('sha1').update(text).digest('hex')}\n${text}`);
			renameSync(tmp, this.path);
			this.dirty = false;
		} catch (e) {
			this.log(`cache ${this.path}: not written: ${(e as Error).message}`);
			rmSync(tmp, { force: true });
		}
	}

	/** Drops the in-memory copies (60,000 records each): a server keeps its index for hours. */
	release(): void {
		this.previous = undefined;
		this.next = { ...this.next, files: {}, facts: {}, results: [] };
		this.released = true;
	}

	get file(): string {
		return this.path;
	}
}

/** The cache file of the tree at `root`. */
function cacheFile(dir: string, root: string): string {
	return join(dir, 'index', `${createHash('sha1').update(root).digest('hex').slice(0, 16)}.json`);
}

/**
 * Runs `fn` holding the lock of the tree's cache: processes that would index the same
 * tree at once (kbuild's checkers under make -j) take turns, so the first indexes and
 * analyses, and the others find its cache.
 */
export async function withTreeLock<T>(dir: string, root: string, fn: () => Promise<T>): Promise<T> {
	const lock = `${cacheFile(dir, root)}.lock`;
	mkdirSync(join(lock, '..'), { recursive: true });
	for (;;) {
		try {
			closeSync(openSync(lock, 'wx'));
			break;
		} catch {
			try {
				if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { force: true });
			} catch {
				// released meanwhile
			}
			await new Promise((r) => setTimeout(r, 200));
		}
	}
	try {
		return await fn();
	} finally {
		rmSync(lock, { force: true });
	}
}

function sameRecord(a: FileRecord | undefined, b: FileRecord): boolean {
	return !!a && a[1] === b[1] && a[2] === b[2] && a[0].every((v, i) => v === b[0][i]);
}

function load(path: string, root: string, engine: string): { body?: CacheBody; why: string } {
	let raw: string;
	try {
		if (!statSync(path).isFile()) return { why: 'not a file' };
		raw = readFileSync(path, 'utf8');
	} catch {
		return { why: 'cold' };
	}
	const nl = raw.indexOf('\n');
	const text = raw.slice(nl + 1);
	if (nl !== 40 || createHash('sha1').update(text).digest('hex') !== raw.slice(0, 40)) return { why: 'corrupt (checksum mismatch)' };
	let body: CacheBody;
	try {
		body = JSON.parse(text);
	} catch (e) {
		return { why: `corrupt (${(e as Error).message})` };
	}
	if (!body || typeof body !== 'object' || body.format !== FORMAT) return { why: `stale (format ${body?.format}, expected ${FORMAT})` };
	if (body.engine !== engine) return { why: `stale (engine ${body.engine}, now ${engine})` };
	if (body.root !== root || typeof body.files !== 'object' || typeof body.facts !== 'object' || !Array.isArray(body.results)) {
		return { why: 'corrupt (unexpected content)' };
	}
	return { body, why: 'warm' };
}

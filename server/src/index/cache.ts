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
import type { ScanList } from './signatures';
import type { WalkRecorder } from './walk';

const FORMAT = 2;
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

/**
 * The file, after its first line (the sha1 of everything after it): one line of JSON (the
 * header), zeros up to a multiple of 8 bytes, then the tables, in walk order and without
 * one object per file (parsing 60,000 small JSON records cost more than stat()ing the files):
 * the files' signatures (4 float64 each), the directories' signatures (4 float64 each), the
 * files' kinds (1 byte each), then three UTF-8 texts, each a list joined by NUL: the files'
 * root-relative paths, the directories' paths, and the directories' listings.
 */
interface Header {
	format: number;
	engine: string;
	root: string;
	written: number;
	/** Byte order of the float64 tables. */
	littleEndian: boolean;
	files: number;
	dirs: number;
	/** Byte lengths of the three texts. */
	texts: [paths: number, dirPaths: number, listings: number];
	/** walk.ts's walkKey of the walk that made the tables. */
	walk: string;
	/**
	 * The tables hold every directory the walk read and every file it found (none was
	 * unreadable or changed within 2 s of the scan): when all their signatures and those of
	 * the ignore files are unchanged, so is what the walk would find.
	 */
	complete: boolean;
	/** The ignore files the walk read or looked for: absolute path and signature (-1s: absent; null: not a regular file). */
	ignores: [path: string, ...sig: (number | null)[]][];
	/** Content sha1 of the files that were hashed, by file index. */
	hashes: Record<string, string>;
	facts: Record<string, { hash: string; facts: FileFacts }>;
	results: CachedResult[];
}

/** The previous run's tables, as loaded. */
interface Tables {
	paths: string[];
	sigs: Float64Array;
	kinds: Uint8Array;
	hashes: Record<string, string>;
	dirPaths: string[];
	dirSigs: Float64Array;
	listings: string[];
	walk: string;
	complete: boolean;
	ignores: { path: string; sig: Signature }[];
	facts: Record<string, { hash: string; facts: FileFacts }>;
	results: CachedResult[];
	/** The UTF-8 texts of `paths` and `dirPaths` (for the helpers of signatures.ts). */
	texts: [Uint8Array, Uint8Array];
}

/** An entry of this run's tables: the previous table's index when unchanged, else the new record. */
type NextFile = number | { rel: string; record: FileRecord };
type NextDir = number | { rel: string; sig: Signature; listing: string };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const NUL = Buffer.from([0]);

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

export class IndexCache implements WalkRecorder {
	/** 'cold' (no cache yet), 'warm', or why an existing cache was discarded. */
	readonly status: string;
	private previous: Tables | undefined;
	private readonly path: string;
	private readonly engine: string;
	/** This run's files and directories, in walk order (holes: files not recorded). */
	private nextFiles: NextFile[] = [];
	private nextDirs: NextDir[] = [];
	/** Content hashes learnt this run (setFacts) for files whose record had none. */
	private nextHashes = new Map<string, string>();
	private nextFacts: Record<string, { hash: string; facts: FileFacts }> = {};
	private results: CachedResult[];
	/** Previous path → index, built only when the walk's order departs from the previous one. */
	private fileIndex: Map<string, number> | undefined;
	private dirIndex: Map<string, number> | undefined;
	private fileCursor = 0;
	private dirCursor = 0;
	/** Something differs from what is on disk. */
	private dirty = false;
	private released = false;
	/** Files and directories of the previous cache seen again: fewer than it holds means some vanished. */
	private kept = 0;
	/** This run's walk (beginWalk), the ignore files it read, and whether it recorded all it met. */
	private walk: string | undefined;
	private nextIgnores: { path: string; sig: Signature }[] = [];
	private complete = false;

	private constructor(dir: string, private readonly root: string, private readonly log: (m: string) => void) {
		this.path = cacheFile(dir, root);
		this.engine = engineVersion();
		const loaded = load(this.path, root, this.engine);
		this.previous = loaded.tables;
		this.status = loaded.tables ? 'warm' : loaded.why;
		if (loaded.tables === undefined && loaded.why !== 'cold') log(`cache ${this.path}: ${loaded.why}; rebuilding`);
		this.results = this.previous?.results ?? [];
	}

	static open(dir: string, root: string, log: (m: string) => void = () => undefined): IndexCache {
		return new IndexCache(dir, root, log);
	}

	/** The previous run's files (root-relative), in its walk order: what `lookup` indexes. */
	get previousPaths(): readonly string[] {
		return this.previous?.paths ?? [];
	}

	/** This run walks the tree with walk.ts's `key`: what it records may let the next run skip its walk. */
	beginWalk(key: string): void {
		this.walk = key;
		this.complete = true;
	}

	/** The previous run's walk, with the same key, recorded everything it met: `unchanged` can stand for a walk. */
	verifiable(key: string): boolean {
		const p = this.previous;
		return !!p && p.complete && p.walk === key;
	}

	/**
	 * What to stat: the previous run's files, then (`all`) its directories and ignore files.
	 * Root-relative ('' is the root) or absolute.
	 */
	scanList(all: boolean): ScanList {
		const p = this.previous;
		if (!p) return { paths: [], text: new Uint8Array(0) };
		if (!all) return { paths: p.paths, text: p.texts[0] };
		const ignores = p.ignores.map((i) => i.path);
		const parts = [p.texts[0], p.texts[1], Buffer.from(ignores.join('\0'))].filter((_, k) => [p.paths, p.dirPaths, ignores][k].length);
		const text = Buffer.concat(parts.flatMap((part, k) => (k ? [NUL, part] : [part])));
		return { paths: [...p.paths, ...p.dirPaths, ...ignores], text };
	}

	/**
	 * Whether `sigs` (size, mtimeMs, ctimeMs, ino for each of `scanPaths(true)`; -1s where
	 * absent) are every recorded signature: then the tree holds the recorded files, unchanged.
	 */
	unchanged(sigs: Float64Array): boolean {
		const p = this.previous!;
		const same = (a: ArrayLike<number>, at: number, n: number) => {
			for (let k = 0; k < n; k++) if (a[k] !== sigs[at + k]) return false;
			return true;
		};
		const files = p.paths.length * 4;
		if (sigs.length !== files + p.dirSigs.length + p.ignores.length * 4) return false;
		if (!same(p.sigs, 0, files) || !same(p.dirSigs, files, p.dirSigs.length)) return false;
		return p.ignores.every((ignore, k) => same(ignore.sig, files + p.dirSigs.length + 4 * k, 4));
	}

	/** This run found the tree unchanged (`unchanged`): it records what the previous one did. */
	keepAll(): void {
		const p = this.previous!;
		this.nextFiles = Array.from({ length: p.paths.length }, (_, i) => i);
		this.nextDirs = Array.from({ length: p.dirPaths.length }, (_, i) => i);
		this.kept = p.paths.length + p.dirPaths.length;
		this.walk = p.walk;
		this.complete = p.complete;
		this.nextIgnores = p.ignores;
	}

	ignoreFile(path: string, sig: Signature | undefined): void {
		this.nextIgnores.push({ path, sig: sig ?? [-1, -1, -1, -1] });
		const before = this.previous?.ignores.find((i) => i.path === path);
		if (!before || before.sig.some((v, k) => v !== this.nextIgnores[this.nextIgnores.length - 1].sig[k])) this.dirty = true;
	}

	incomplete(): void {
		this.complete = false;
	}

	/** The previous run's index of `rel`, or -1. Cheapest when asked in walk order. */
	lookup(rel: string): number {
		const p = this.previous;
		if (!p) return -1;
		const c = this.fileCursor;
		if (c < p.paths.length && p.paths[c] === rel) {
			this.fileCursor = c + 1;
			return c;
		}
		this.fileIndex ??= indexOf(p.paths);
		const i = this.fileIndex.get(rel) ?? -1;
		if (i >= 0) this.fileCursor = i + 1;
		return i;
	}

	/** The previous run's record of file `i` (from `lookup`). */
	recordAt(i: number): FileRecord {
		const p = this.previous!;
		const s = p.sigs;
		return [[s[i * 4], s[i * 4 + 1], s[i * 4 + 2], s[i * 4 + 3]], p.kinds[i] as Kind, p.hashes[i]];
	}

	kindAt(i: number): Kind {
		return this.previous!.kinds[i] as Kind;
	}

	hashAt(i: number): string | undefined {
		return this.previous!.hashes[i];
	}

	/** Whether `sigs[at..at+4]` (size, mtimeMs, ctimeMs, ino) is file `i`'s recorded signature. */
	sameSignatureAt(i: number, sigs: Float64Array, at: number): boolean {
		const s = this.previous!.sigs;
		return s[i * 4] === sigs[at] && s[i * 4 + 1] === sigs[at + 1] && s[i * 4 + 2] === sigs[at + 2] && s[i * 4 + 3] === sigs[at + 3];
	}

	record(rel: string): FileRecord | undefined {
		const i = this.previous ? (this.fileIndex ??= indexOf(this.previous.paths)).get(rel) : undefined;
		return i === undefined ? undefined : this.recordAt(i);
	}

	/** Facts cached for exactly this content. */
	facts(rel: string, hash: string | undefined): FileFacts | undefined {
		if (!hash) return undefined;
		for (const entry of [this.nextFacts[rel], this.previous?.facts[rel]]) if (entry?.hash === hash) return entry.facts;
		return undefined;
	}

	/** File number `order` of this run's walk is file `i` of the previous one, unchanged. */
	keepFile(order: number, i: number): void {
		if (this.nextFiles[order] === undefined) this.kept++;
		this.nextFiles[order] = i;
	}

	/** File number `order` of this run's walk. */
	setFile(order: number, rel: string, record: FileRecord): void {
		const i = this.lookupQuietly(rel, this.previous?.paths, 'file');
		if (i >= 0 && this.nextFiles[order] === undefined) this.kept++;
		this.nextFiles[order] = { rel, record };
		if (!this.dirty && !(i >= 0 && sameRecord(this.recordAt(i), record))) this.dirty = true;
	}

	setFacts(rel: string, hash: string, facts: FileFacts): void {
		this.nextFacts[rel] = { hash, facts };
		this.nextHashes.set(rel, hash);
		this.dirty = true;
	}

	listing(rel: string, sig: Signature): string | undefined {
		const p = this.previous;
		if (!p) return undefined;
		let i = -1;
		const c = this.dirCursor;
		if (c < p.dirPaths.length && p.dirPaths[c] === rel) i = c;
		else i = (this.dirIndex ??= indexOf(p.dirPaths)).get(rel) ?? -1;
		if (i < 0) return undefined;
		this.dirCursor = i + 1;
		const s = p.dirSigs;
		if (s[i * 4] !== sig[0] || s[i * 4 + 1] !== sig[1] || s[i * 4 + 2] !== sig[2] || s[i * 4 + 3] !== sig[3]) return undefined;
		this.kept++;
		this.nextDirs.push(i);
		return p.listings[i];
	}

	setListing(rel: string, sig: Signature, listing: string): void {
		if (this.lookupQuietly(rel, this.previous?.dirPaths, 'dir') >= 0) this.kept++;
		this.nextDirs.push({ rel, sig, listing });
		this.dirty = true;
	}

	result(key: string): CachedResult | undefined {
		return this.results.find((r) => r.key === key);
	}

	setResult(result: CachedResult): void {
		this.dirty = true;
		this.results = [result, ...this.results.filter((r) => r.key !== result.key)].slice(0, 4);
	}

	/** Writes what this run saw (files that vanished are dropped), atomically; nothing when nothing changed. */
	save(scanStarted: number): void {
		if (this.released) return;
		const p = this.previous;
		if (!this.dirty && this.kept === (p ? p.paths.length + p.dirPaths.length : 0)) return;
		const racy = (mtime: number, ctime: number) => Math.max(mtime, ctime) > scanStarted - RACY_MS;
		let complete = this.complete;
		for (const { sig } of this.nextIgnores) if (racy(sig[1], sig[2])) complete = false;
		const paths: string[] = [];
		const sigs: number[] = [];
		const kinds: number[] = [];
		const hashes: Record<string, string> = {};
		const hashOf = new Map<string, string>();
		for (const next of this.nextFiles) {
			if (next === undefined) continue;
			let rel: string, sig: ArrayLike<number>, kind: Kind, hash: string | undefined;
			if (typeof next === 'number') {
				rel = p!.paths[next];
				sig = p!.sigs.subarray(next * 4, next * 4 + 4);
				kind = p!.kinds[next] as Kind;
				hash = p!.hashes[next];
			} else {
				rel = next.rel;
				[sig, kind, hash] = next.record;
			}
			if (racy(sig[1], sig[2])) {
				complete = false;
				continue;
			}
			hash ??= this.nextHashes.get(rel);
			if (hash) {
				hashes[paths.length] = hash;
				hashOf.set(rel, hash);
			}
			paths.push(rel);
			for (let k = 0; k < 4; k++) sigs.push(sig[k]);
			kinds.push(kind);
		}
		const dirPaths: string[] = [];
		const dirSigs: number[] = [];
		const listings: string[] = [];
		for (const next of this.nextDirs) {
			const rel = typeof next === 'number' ? p!.dirPaths[next] : next.rel;
			const sig = typeof next === 'number' ? p!.dirSigs.subarray(next * 4, next * 4 + 4) : next.sig;
			// A directory changed this close to the scan may gain an entry unseen within one timestamp.
			if (racy(sig[1], sig[2])) {
				complete = false;
				continue;
			}
			dirPaths.push(rel);
			for (let k = 0; k < 4; k++) dirSigs.push(sig[k]);
			listings.push(typeof next === 'number' ? p!.listings[next] : next.listing);
		}
		// Facts of files this run did not carry over (deleted, no longer parsed) are dropped.
		const facts = { ...this.nextFacts };
		for (const [rel, entry] of Object.entries(p?.facts ?? {})) {
			if (!facts[rel] && hashOf.get(rel) === entry.hash) facts[rel] = entry;
		}
		const tmp = `${this.path}.${process.pid}.tmp`;
		try {
			const texts = [paths, dirPaths, listings].map((list) => Buffer.from(list.join('\0')));
			const header: Header = {
				format: FORMAT, engine: this.engine, root: this.root, written: Date.now(), littleEndian: LITTLE_ENDIAN,
				files: paths.length, dirs: dirPaths.length, texts: texts.map((t) => t.length) as Header['texts'],
				walk: this.walk ?? '', complete: complete && this.walk !== undefined, ignores: this.nextIgnores.map((i) => [i.path, ...i.sig]),
				hashes, facts, results: this.results,
			};
			// Inside the try: a header over V8's longest string cannot be written, and must not crash the run.
			const head = Buffer.from(`${JSON.stringify(header)}\n`);
			const pad = Buffer.alloc((8 - ((41 + head.length) % 8)) % 8);
			const body = Buffer.concat([head, pad, f64(sigs), f64(dirSigs), Buffer.from(kinds), ...texts]);
			mkdirSync(join(this.path, '..'), { recursive: true });
			writeFileSync(tmp, Buffer.concat([Buffer.from(`${createHash('sha1').update(body).digest('hex')}\n`), body]));
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
		this.nextFiles = [];
		this.nextDirs = [];
		this.nextHashes = new Map();
		this.nextIgnores = [];
		this.nextFacts = {};
		this.results = [];
		this.fileIndex = this.dirIndex = undefined;
		this.released = true;
	}

	get file(): string {
		return this.path;
	}

	private lookupQuietly(rel: string, paths: string[] | undefined, what: 'file' | 'dir'): number {
		if (!paths) return -1;
		const index = what === 'file' ? (this.fileIndex ??= indexOf(paths)) : (this.dirIndex ??= indexOf(paths));
		return index.get(rel) ?? -1;
	}
}

function indexOf(paths: string[]): Map<string, number> {
	const index = new Map<string, number>();
	for (let i = 0; i < paths.length; i++) index.set(paths[i], i);
	return index;
}

function f64(values: number[]): Buffer {
	const a = new Float64Array(values);
	return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
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

function sameRecord(a: FileRecord, b: FileRecord): boolean {
	return a[1] === b[1] && a[2] === b[2] && a[0].every((v, i) => v === b[0][i]);
}

function load(path: string, root: string, engine: string): { tables?: Tables; why: string } {
	let raw: Buffer;
	try {
		if (!statSync(path).isFile()) return { why: 'not a file' };
		raw = readFileSync(path);
	} catch {
		return { why: 'cold' };
	}
	const body = raw.subarray(41);
	if (raw.length < 41 || raw[40] !== 10 || createHash('sha1').update(body).digest('hex') !== raw.toString('latin1', 0, 40)) {
		return { why: 'corrupt (checksum mismatch)' };
	}
	const nl = body.indexOf(10);
	if (nl < 0) return { why: 'corrupt (no header)' };
	let header: Header;
	try {
		header = JSON.parse(body.toString('utf8', 0, nl));
	} catch (e) {
		return { why: `corrupt (${(e as Error).message})` };
	}
	if (!header || typeof header !== 'object' || header.format !== FORMAT) return { why: `stale (format ${header?.format}, expected ${FORMAT})` };
	if (header.engine !== engine) return { why: `stale (engine ${header.engine}, now ${engine})` };
	if (header.littleEndian !== LITTLE_ENDIAN) return { why: 'stale (written on a machine of the other byte order)' };
	const { files, dirs, texts } = header;
	const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
	if (header.root !== root || !count(files) || !count(dirs) || !Array.isArray(texts) || texts.length !== 3 || !texts.every(count) ||
		typeof header.hashes !== 'object' || typeof header.facts !== 'object' || !Array.isArray(header.results) ||
		typeof header.walk !== 'string' || typeof header.complete !== 'boolean' || !Array.isArray(header.ignores) ||
		!header.ignores.every((i) => Array.isArray(i) && i.length === 5 && typeof i[0] === 'string')) {
		return { why: 'corrupt (unexpected content)' };
	}
	let at = 41 + nl + 1;
	at += (8 - (at % 8)) % 8;
	if (at + 32 * files + 32 * dirs + files + texts[0] + texts[1] + texts[2] !== raw.length) return { why: 'corrupt (unexpected length)' };
	const f64s = (n: number) => {
		const a = new Float64Array(n);
		new Uint8Array(a.buffer).set(raw.subarray(at, (at += 8 * n)));
		return a;
	};
	const sigs = f64s(4 * files);
	const dirSigs = f64s(4 * dirs);
	const kinds = Uint8Array.from(raw.subarray(at, (at += files)));
	const list = (bytes: number, n: number) => (n ? raw.toString('utf8', at, (at += bytes)).split('\0') : ((at += bytes), []));
	const pathsText = raw.subarray(at, at + texts[0]);
	const paths = list(texts[0], files);
	const dirsText = raw.subarray(at, at + texts[1]);
	const dirPaths = list(texts[1], dirs);
	const listings = list(texts[2], dirs);
	if (paths.length !== files || dirPaths.length !== dirs || listings.length !== dirs) return { why: 'corrupt (unexpected content)' };
	const ignores = header.ignores.map(([path, ...sig]) => ({ path, sig: sig.map((v) => (typeof v === 'number' ? v : NaN)) as Signature }));
	return {
		tables: {
			paths, sigs, kinds, hashes: header.hashes, dirPaths, dirSigs, listings, walk: header.walk, complete: header.complete, ignores,
			facts: header.facts, results: header.results, texts: [pathsText, dirsText],
		},
		why: 'warm',
	};
}

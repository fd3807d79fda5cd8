// The persistent index: per root, one file holding every scanned file's
// signature and prefilter verdict, the pass-1 facts of the parsed files keyed
// by content hash, and (CLI) the last results keyed by everything they depend
// on. The file starts with the sha1 of its body; a mismatch, a parse error, an
// unknown format or another engine version means it is rebuilt, never trusted.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
 * files' kinds (1 byte each), then two UTF-8 texts, each a list joined by NUL: the paths to
 * stat (the files' and the directories' root-relative paths, then the ignore files'
 * absolute paths: what signatures.ts's threads are given as it is) and the directories'
 * listings.
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
	/** Byte lengths of the two texts. */
	texts: [paths: number, listings: number];
	/** walk.ts's walkKey of the walk that made the tables. */
	walk: string;
	/**
	 * The tables hold every directory the walk read and every file it found (none was
	 * unreadable or changed within 2 s of the scan): when all their signatures and those of
	 * the ignore files are unchanged, so is what the walk would find.
	 */
	complete: boolean;
	/** The signatures of the ignore files the walk read or looked for (-1s: absent; null: not a regular file). */
	ignores: (number | null)[][];
	/** Content sha1 of the files that were hashed, by file index. */
	hashes: Record<string, string>;
	facts: Record<string, { hash: string; facts: FileFacts }>;
	results: CachedResult[];
}

/** The previous run's tables, as loaded. */
interface Tables {
	files: number;
	dirs: number;
	/** The files' paths, the directories' paths, the ignore files' paths. */
	paths: TextList;
	sigs: Float64Array;
	kinds: Uint8Array;
	hashes: Record<string, string>;
	dirSigs: Float64Array;
	listings: TextList;
	walk: string;
	complete: boolean;
	ignores: Signature[];
	facts: Record<string, { hash: string; facts: FileFacts }>;
	results: CachedResult[];
}

/**
 * Strings kept as one UTF-8 text joined by NUL, decoded on first use and cut as asked:
 * no string per entry kept (60,000 of them in the young generation slow every collection).
 */
export class TextList implements ScanList {
	private text: string | undefined;
	private starts: Int32Array | undefined;

	constructor(readonly utf8: Uint8Array, readonly count: number) {}

	static of(strings: readonly string[]): TextList {
		return new TextList(Buffer.from(strings.join('\0')), strings.length);
	}

	/** Whether the text holds `count` entries. */
	get consistent(): boolean {
		if (!this.count) return this.utf8.length === 0;
		let nuls = 0;
		for (let at = this.utf8.indexOf(0); at >= 0; at = this.utf8.indexOf(0, at + 1)) nuls++;
		return nuls === this.count - 1;
	}

	/** Where the last `/` of entry `i` is, counted from its start; -1 when it has none. */
	lastSlashAt(i: number): number {
		this.split();
		const start = this.starts![i];
		const k = this.text!.lastIndexOf('/', this.starts![i + 1] - 2);
		return k >= start ? k - start : -1;
	}

	/** Whether entry `i` starts with `prefix`. */
	startsWithAt(i: number, prefix: string): boolean {
		this.split();
		return this.text!.startsWith(prefix, this.starts![i]);
	}

	at(i: number): string {
		this.split();
		return this.text!.slice(this.starts![i], this.starts![i + 1] - 1);
	}

	private split(): void {
		if (!this.starts) {
			const text = Buffer.from(this.utf8.buffer, this.utf8.byteOffset, this.utf8.length).toString('utf8');
			const starts = new Int32Array(this.count + 1);
			for (let k = 1, at = 0; k < this.count; k++) starts[k] = at = text.indexOf('\0', at) + 1;
			starts[this.count] = text.length + 1;
			this.text = text;
			this.starts = starts;
		}
	}
}

/** An entry of this run's tables: the previous table's index when unchanged, else the new record. */
type NextFile = number | { rel: string; record: FileRecord };
type NextDir = number | { rel: string; sig: Signature; listing: string };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The whole file, in memory that helper threads share (signatures.ts gives them the paths
 * to stat as they are in it, without a copy).
 */
function readShared(path: string): Buffer {
	const fd = openSync(path, 'r');
	try {
		const size = fstatSync(fd).size;
		const buffer = Buffer.from(new SharedArrayBuffer(size));
		for (let done = 0; done < size; ) {
			const n = readSync(fd, buffer, done, size - done, done);
			if (n === 0) return buffer.subarray(0, done);
			done += n;
		}
		// Grown since (written in place, which cache.ts never does): all of it, the slow way.
		if (readSync(fd, Buffer.alloc(1), 0, 1, size) > 0) {
			const all = readFileSync(path);
			const shared = Buffer.from(new SharedArrayBuffer(all.length));
			all.copy(shared);
			return shared;
		}
		return buffer;
	} finally {
		closeSync(fd);
	}
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

	/** How many files the previous run recorded: `lookup` gives their indexes, in its walk order. */
	get previousFiles(): number {
		return this.previous?.files ?? 0;
	}

	/** The root-relative path of the previous run's file `i`. */
	pathAt(i: number): string {
		return this.previous!.paths.at(i);
	}

	/** The previous run's paths, for looking at them without making a string of each. */
	get previousPaths(): TextList {
		return this.previous!.paths;
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
		if (!p) return TextList.of([]);
		// The files come first: the others are left out by leaving out their count.
		return all ? p.paths : { count: p.files, at: (i) => p.paths.at(i), utf8: p.paths.utf8 };
	}

	/**
	 * Whether `sigs` (size, mtimeMs, ctimeMs, ino for each of `scanPaths(true)`; -1s where
	 * absent) are every recorded signature: then the tree holds the recorded files, unchanged.
	 */
	unchanged(sigs: Float64Array): boolean {
		const p = this.previous!;
		const files = p.files * 4;
		const dirs = p.dirs * 4;
		if (sigs.length !== files + dirs + p.ignores.length * 4) return false;
		if (!sameValues(p.sigs, sigs.subarray(0, files)) || !sameValues(p.dirSigs, sigs.subarray(files, files + dirs))) return false;
		return p.ignores.every((sig, k) => sameValues(Float64Array.from(sig), sigs.subarray(files + dirs + 4 * k, files + dirs + 4 * k + 4)));
	}

	/** This run found the tree unchanged (`unchanged`): it records what the previous one did. */
	keepAll(): void {
		const p = this.previous!;
		this.nextFiles = identity(p.files);
		this.nextDirs = identity(p.dirs);
		this.kept = p.files + p.dirs;
		this.walk = p.walk;
		this.complete = p.complete;
		this.nextIgnores = p.ignores.map((sig, k) => ({ path: p.paths.at(p.files + p.dirs + k), sig }));
	}

	ignoreFile(path: string, sig: Signature | undefined): void {
		const k = this.nextIgnores.push({ path, sig: sig ?? [-1, -1, -1, -1] }) - 1;
		// Dirty unless the previous walk read the same ignore files in the same order, with the same signatures.
		const p = this.previous;
		if (!p || k >= p.ignores.length || p.paths.at(p.files + p.dirs + k) !== path || p.ignores[k].some((v, j) => v !== this.nextIgnores[k].sig[j])) this.dirty = true;
	}

	incomplete(): void {
		this.complete = false;
	}

	/** The previous run's index of `rel`, or -1. Cheapest when asked in walk order. */
	lookup(rel: string): number {
		const p = this.previous;
		if (!p) return -1;
		const c = this.fileCursor;
		if (c < p.files && p.paths.at(c) === rel) {
			this.fileCursor = c + 1;
			return c;
		}
		const i = this.lookupQuietly(rel, 'file');
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
		const i = this.lookupQuietly(rel, 'file');
		return i < 0 ? undefined : this.recordAt(i);
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
		const i = this.lookupQuietly(rel, 'file');
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
		if (c < p.dirs && p.paths.at(p.files + c) === rel) i = c;
		else i = this.lookupQuietly(rel, 'dir');
		if (i < 0) return undefined;
		this.dirCursor = i + 1;
		const s = p.dirSigs;
		if (s[i * 4] !== sig[0] || s[i * 4 + 1] !== sig[1] || s[i * 4 + 2] !== sig[2] || s[i * 4 + 3] !== sig[3]) return undefined;
		this.kept++;
		this.nextDirs.push(i);
		return p.listings.at(i);
	}

	setListing(rel: string, sig: Signature, listing: string): void {
		if (this.lookupQuietly(rel, 'dir') >= 0) this.kept++;
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
		if (!this.dirty && this.kept === (p ? p.files + p.dirs : 0)) return;
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
				rel = p!.paths.at(next);
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
			const rel = typeof next === 'number' ? p!.paths.at(p!.files + next) : next.rel;
			const sig = typeof next === 'number' ? p!.dirSigs.subarray(next * 4, next * 4 + 4) : next.sig;
			// A directory changed this close to the scan may gain an entry unseen within one timestamp.
			if (racy(sig[1], sig[2])) {
				complete = false;
				continue;
			}
			dirPaths.push(rel);
			for (let k = 0; k < 4; k++) dirSigs.push(sig[k]);
			listings.push(typeof next === 'number' ? p!.listings.at(next) : next.listing);
		}
		// Facts of files this run did not carry over (deleted, no longer parsed) are dropped.
		const facts = { ...this.nextFacts };
		for (const [rel, entry] of Object.entries(p?.facts ?? {})) {
			if (!facts[rel] && hashOf.get(rel) === entry.hash) facts[rel] = entry;
		}
		const tmp = `${this.path}.${process.pid}.tmp`;
		try {
			const texts = [[...paths, ...dirPaths, ...this.nextIgnores.map((i) => i.path)], listings].map((list) => Buffer.from(list.join('\0')));
			const header: Header = {
				format: FORMAT, engine: this.engine, root: this.root, written: Date.now(), littleEndian: LITTLE_ENDIAN,
				files: paths.length, dirs: dirPaths.length, texts: texts.map((t) => t.length) as Header['texts'],
				walk: this.walk ?? '', complete: complete && this.walk !== undefined, ignores: this.nextIgnores.map((i) => i.sig),
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

	/** The previous run's index of a file or directory, without moving the cursors. */
	private lookupQuietly(rel: string, what: 'file' | 'dir'): number {
		const p = this.previous;
		if (!p) return -1;
		const index = what === 'file' ? (this.fileIndex ??= indexOf(p.paths, 0, p.files)) : (this.dirIndex ??= indexOf(p.paths, p.files, p.dirs));
		return index.get(rel) ?? -1;
	}
}

/** [0, 1, …, n - 1]. */
function identity(n: number): number[] {
	const a = new Array<number>(n);
	for (let i = 0; i < n; i++) a[i] = i;
	return a;
}

/** Path → index of `count` entries of `paths` from `from`. */
function indexOf(paths: TextList, from: number, count: number): Map<string, number> {
	const index = new Map<string, number>();
	for (let i = 0; i < count; i++) index.set(paths.at(from + i), i);
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

function sameValues(a: Float64Array, b: Float64Array): boolean {
	if (a.length !== b.length) return false;
	for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
	return true;
}

function sameRecord(a: FileRecord, b: FileRecord): boolean {
	return a[1] === b[1] && a[2] === b[2] && a[0].every((v, i) => v === b[0][i]);
}

function load(path: string, root: string, engine: string): { tables?: Tables; why: string } {
	let raw: Buffer;
	try {
		if (!statSync(path).isFile()) return { why: 'not a file' };
		raw = readShared(path);
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
	const { files, dirs, texts, ignores } = header;
	const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
	if (header.root !== root || !count(files) || !count(dirs) || !Array.isArray(texts) || texts.length !== 2 || !texts.every(count) ||
		typeof header.hashes !== 'object' || typeof header.facts !== 'object' || !Array.isArray(header.results) ||
		typeof header.walk !== 'string' || typeof header.complete !== 'boolean' || !Array.isArray(ignores) ||
		!ignores.every((sig) => Array.isArray(sig) && sig.length === 4)) {
		return { why: 'corrupt (unexpected content)' };
	}
	let at = 41 + nl + 1;
	at += (8 - (at % 8)) % 8;
	if (at + 32 * files + 32 * dirs + files + texts[0] + texts[1] !== raw.length) return { why: 'corrupt (unexpected length)' };
	// Views of the file as read (its tables start 8-byte aligned): nothing copied.
	const f64s = (n: number) => new Float64Array(raw.buffer, raw.byteOffset + (at += 8 * n) - 8 * n, n);
	const sigs = f64s(4 * files);
	const dirSigs = f64s(4 * dirs);
	const kinds = raw.subarray(at, (at += files));
	const paths = new TextList(raw.subarray(at, (at += texts[0])), files + dirs + ignores.length);
	const listings = new TextList(raw.subarray(at, (at += texts[1])), dirs);
	if (!paths.consistent || !listings.consistent) return { why: 'corrupt (unexpected content)' };
	return {
		tables: {
			files, dirs, paths, sigs, kinds, hashes: header.hashes, dirSigs, listings, walk: header.walk, complete: header.complete,
			ignores: ignores.map((sig) => sig.map((v) => (typeof v === 'number' ? v : NaN)) as Signature), facts: header.facts, results: header.results,
		},
		why: 'warm',
	};
}

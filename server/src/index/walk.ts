// Walks a tree for C sources: .gitignore files at every level (as git reads
// them: a deeper file overrides a shallower one, an ignored directory is not
// entered), the user's include/exclude patterns, and no symlinks at all, so the
// walk can never leave the root. Yields batches so an async caller can keep
// workers fed while the walk goes on.
import ignore, { type Ignore } from 'ignore';
import { existsSync, lstatSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { Signature } from './tasks';

export interface WalkOptions {
	/** gitignore-syntax patterns relative to the root: when non-empty, only matching files are indexed. */
	include?: readonly string[];
	/** gitignore-syntax patterns relative to the root: matching files and directories are skipped. */
	exclude?: readonly string[];
	/** Honour .gitignore files; by default only inside a git work tree, as git and ripgrep do. */
	gitignore?: boolean;
}

export interface WalkEntry {
	/** Root-relative path with forward slashes. */
	rel: string;
	abs: string;
}

export interface WalkSkip {
	file: string;
	reason: string;
}

/**
 * What a walk tells the persistent cache (cache.ts), and what it may reuse: the entries of
 * a directory whose signature (size, mtime, ctime, inode) is the recorded one.
 */
export interface WalkRecorder {
	/** The listing recorded for `rel` when its signature was `sig`; undefined when there is none or it differs. */
	listing(rel: string, sig: Signature): string | undefined;
	setListing(rel: string, sig: Signature, listing: string): void;
	/**
	 * An ignore file the walk read or looked for (an absolute path), with its signature
	 * before it was read: undefined when absent, NaN when not a regular file or not stat()able.
	 */
	ignoreFile(abs: string, sig: Signature | undefined): void;
	/** Something the walk met is not recorded (an unreadable directory). */
	incomplete(): void;
}

/** Everything besides the files that decides what a walk of `root` yields (recorded with the cache's tables). */
export function walkKey(root: string, options: WalkOptions): string {
	const repo = findRepository(root);
	return JSON.stringify([options.include ?? [], options.exclude ?? [], options.gitignore ?? !!repo, repo ?? null]);
}

/** Directories no kernel developer wants indexed; .git is never a source. */
const SKIP_DIRS = new Set(['.git', 'node_modules', '.pc', '.tmp_versions']);

interface Level {
	/** Maps a root-relative path to one relative to the .gitignore's directory. */
	local(rel: string): string;
	rules: Ignore;
}

/** The real root and, for a single-file root, the file's name. */
export function resolveRoot(root: string): { root: string; file?: string } {
	const real = realpathSync(root);
	if (statSync(real).isFile()) {
		const name = real.split(sep).pop()!;
		return { root: real.slice(0, real.length - name.length - 1) || sep, file: name };
	}
	return { root: real };
}

/**
 * The .c/.h files under `root` (a real directory path), in sorted order, in batches of
 * about `batchSize`. Unreadable directories are reported through `skip`. With `dirs`, a
 * directory whose signature (size, mtime, ctime, inode) is the one recorded there is not
 * read again: creating, deleting or renaming an entry changes its mtime and ctime (POSIX),
 * so its entries are the recorded ones (the cache does not keep directories changed within
 * 2 s of a scan, which may change again within one timestamp).
 */
export function* walkSources(root: string, options: WalkOptions, skip: (s: WalkSkip) => void, batchSize = 512, dirs?: WalkRecorder): Generator<WalkEntry[]> {
	const walker = new Walker(root, options, skip, dirs);
	let batch: WalkEntry[] = [];
	// Depth first in name order, files and directories interleaved: the order the engine
	// has always seen its sources in.
	function* walk(abs: string, rel: string, levels: Level[]): Generator<WalkEntry[]> {
		for (const item of walker.visit(abs, rel, levels) ?? []) {
			if (item.levels) yield* walk(item.abs, item.rel, item.levels);
			else {
				batch.push(item);
				if (batch.length >= batchSize) {
					yield batch;
					batch = [];
				}
			}
		}
	}
	yield* walk(root, '', walker.top);
	if (batch.length) yield batch;
}

/** Whether walkSources would yield any file: breadth first, so that a kernel tree answers after a few directories. */
export function hasSource(root: string, options: WalkOptions): boolean {
	const walker = new Walker(root, options, () => undefined);
	const queue: WalkItem[] = [{ abs: root, rel: '', levels: walker.top }];
	for (let k = 0; k < queue.length; k++) {
		const items = walker.visit(queue[k].abs, queue[k].rel, queue[k].levels!) ?? [];
		if (items.some((item) => !item.levels)) return true;
		queue.push(...items);
	}
	return false;
}

/** A source to yield, or (with the ignore levels below it) a directory to enter. */
type WalkItem = WalkEntry & { levels?: Level[] };

class Walker {
	private readonly exclude: Ignore | undefined;
	private readonly include: Ignore | undefined;
	private readonly useGitignore: boolean;
	/** The ignore levels above the root. */
	readonly top: Level[];

	constructor(root: string, options: WalkOptions, private readonly skip: (s: WalkSkip) => void, private readonly dirs?: WalkRecorder) {
		this.exclude = options.exclude?.length ? ignore().add(options.exclude as string[]) : undefined;
		this.include = options.include?.length ? ignore().add(options.include as string[]) : undefined;
		const repo = findRepository(root);
		this.useGitignore = options.gitignore ?? !!repo;
		this.top = this.useGitignore && repo ? ancestorLevels(repo, root, dirs) : [];
	}

	/** The sources and the directories to enter of one directory, in name order; undefined when it cannot be read. */
	visit(abs: string, rel: string, levels: Level[]): WalkItem[] | undefined {
		const { exclude, include, dirs } = this;
		const entries = listing(abs, rel, dirs, this.skip);
		if (!entries) return undefined;
		if (this.useGitignore && entries.includes('f.gitignore')) {
			try {
				const base = rel ? `${rel}/` : '';
				dirs?.ignoreFile(`${abs}/.gitignore`, ignoreSignature(`${abs}/.gitignore`));
				levels = [...levels, { local: (p) => p.slice(base.length), rules: ignore().add(readFileSync(`${abs}/.gitignore`, 'utf8')) }];
			} catch {
				// An unreadable .gitignore ignores nothing.
			}
		}
		const items: WalkItem[] = [];
		for (const entry of entries) {
			const name = entry.slice(1);
			const path = rel ? `${rel}/${name}` : name;
			if (entry.charCodeAt(0) === 100 /* d */) {
				if (SKIP_DIRS.has(name) || exclude?.ignores(`${path}/`) || gitIgnored(levels, `${path}/`)) continue;
				items.push({ rel: path, abs: `${abs}/${name}`, levels });
			} else if (isSource(name)) {
				if (exclude?.ignores(path) || (include && !include.ignores(path)) || gitIgnored(levels, path)) continue;
				items.push({ rel: path, abs: `${abs}/${name}` });
			}
		}
		return items;
	}
}

function isSource(name: string): boolean {
	const c = name.charCodeAt(name.length - 1);
	return name.charCodeAt(name.length - 2) === 46 /* . */ && (c === 99 /* c */ || c === 104 /* h */);
}

/**
 * What the walk needs of a directory's entries, in name order: `d` and the name of each
 * directory, `f` and the name of each regular .c, .h or .gitignore file. Symlinks are never
 * followed: they may leave the root (and inside it they are duplicates). Undefined when
 * the directory cannot be read (said through `skip`).
 */
function listing(abs: string, rel: string, dirs: WalkRecorder | undefined, skip: (s: WalkSkip) => void): string[] | undefined {
	let sig: Signature | undefined;
	if (dirs) {
		try {
			const st = lstatSync(abs);
			if (st.isDirectory()) {
				sig = [st.size, st.mtimeMs, st.ctimeMs, st.ino];
				const known = dirs.listing(rel, sig);
				if (known !== undefined) return known ? known.split('/') : [];
			}
		} catch {
			// Gone or unreadable: the readdir below says why.
		}
	}
	let dirents;
	try {
		dirents = readdirSync(abs, { withFileTypes: true });
	} catch (e) {
		skip({ file: rel || '.', reason: `unreadable directory: ${(e as Error).message}` });
		dirs?.incomplete();
		return undefined;
	}
	dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	const entries: string[] = [];
	for (const e of dirents) {
		if (e.isSymbolicLink()) continue;
		if (e.isDirectory()) entries.push(`d${e.name}`);
		else if (e.isFile() && (isSource(e.name) || e.name === '.gitignore')) entries.push(`f${e.name}`);
	}
	// A name holds neither '/' nor NUL: the entries joined by '/' are the listing.
	if (sig) dirs!.setListing(rel, sig, entries.join('/'));
	return entries;
}

/** lstat of an ignore file, for the cache: undefined when absent, NaN when not a regular file or not stat()able. */
function ignoreSignature(abs: string): Signature | undefined {
	try {
		const st = lstatSync(abs, { throwIfNoEntry: false });
		if (!st) return undefined;
		if (st.isFile()) return [st.size, st.mtimeMs, st.ctimeMs, st.ino];
	} catch {
		// below
	}
	return [NaN, NaN, NaN, NaN];
}

/** git's verdict: the deepest .gitignore with an opinion on the path decides. */
function gitIgnored(levels: Level[], rel: string): boolean {
	for (let i = levels.length - 1; i >= 0; i--) {
		const r = levels[i].rules.test(levels[i].local(rel));
		if (r.ignored) return true;
		if (r.unignored) return false;
	}
	return false;
}

/** The work tree holding `dir` (a directory with .git), if any. */
function findRepository(dir: string): string | undefined {
	for (let d = dir; ; d = dirname(d)) {
		if (existsSync(join(d, '.git'))) return d;
		if (dirname(d) === d) return undefined;
	}
}

/** .git/info/exclude and the .gitignore files between the work tree's top and the root (exclusive). */
function ancestorLevels(repo: string, root: string, recorder: WalkRecorder | undefined): Level[] {
	const levels: Level[] = [];
	const add = (file: string, dir: string) => {
		recorder?.ignoreFile(file, ignoreSignature(file));
		try {
			const rules = ignore().add(readFileSync(file, 'utf8'));
			const prefix = relative(dir, root).split(sep).join('/');
			levels.push({ local: (p) => (prefix ? `${prefix}/${p}` : p), rules });
		} catch {
			// absent or unreadable: ignores nothing
		}
	};
	add(join(repo, '.git', 'info', 'exclude'), repo);
	for (let d = repo; d !== root && (root + sep).startsWith(d === sep ? d : d + sep); ) {
		add(join(d, '.gitignore'), d);
		const next = relative(d, root).split(sep)[0];
		d = join(d, next);
	}
	return levels;
}

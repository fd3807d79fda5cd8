// Walks a tree for C sources: .gitignore files at every level (as git reads
// them: a deeper file overrides a shallower one, an ignored directory is not
// entered), the user's include/exclude patterns, and no symlinks at all, so the
// walk can never leave the root. Yields batches so an async caller can keep
// workers fed while the walk goes on.
import ignore, { type Ignore } from 'ignore';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

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
 * about `batchSize`. Unreadable directories are reported through `skip`.
 */
export function* walkSources(root: string, options: WalkOptions, skip: (s: WalkSkip) => void, batchSize = 512): Generator<WalkEntry[]> {
	const exclude = options.exclude?.length ? ignore().add(options.exclude as string[]) : undefined;
	const include = options.include?.length ? ignore().add(options.include as string[]) : undefined;
	const repo = findRepository(root);
	const useGitignore = options.gitignore ?? !!repo;
	let batch: WalkEntry[] = [];
	// Depth first in name order, files and directories interleaved: the order the engine
	// has always seen its sources in.
	function* walk(abs: string, rel: string, levels: Level[]): Generator<WalkEntry[]> {
		let entries;
		try {
			entries = readdirSync(abs, { withFileTypes: true });
		} catch (e) {
			skip({ file: rel || '.', reason: `unreadable directory: ${(e as Error).message}` });
			return;
		}
		if (useGitignore && entries.some((e) => e.name === '.gitignore' && e.isFile())) {
			try {
				const base = rel ? `${rel}/` : '';
				levels = [...levels, { local: (p) => p.slice(base.length), rules: ignore().add(readFileSync(`${abs}/.gitignore`, 'utf8')) }];
			} catch {
				// An unreadable .gitignore ignores nothing.
			}
		}
		entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
		for (const entry of entries) {
			const name = entry.name;
			// Symlinks are never followed: they may leave the root (and inside it they are duplicates).
			if (entry.isSymbolicLink()) continue;
			const path = rel ? `${rel}/${name}` : name;
			if (entry.isDirectory()) {
				if (SKIP_DIRS.has(name) || exclude?.ignores(`${path}/`) || gitIgnored(levels, `${path}/`)) continue;
				yield* walk(`${abs}/${name}`, path, levels);
			} else if (entry.isFile()) {
				const c = name.charCodeAt(name.length - 1);
				if (name.charCodeAt(name.length - 2) !== 46 /* . */ || (c !== 99 /* c */ && c !== 104 /* h */)) continue;
				if (exclude?.ignores(path) || (include && !include.ignores(path)) || gitIgnored(levels, path)) continue;
				batch.push({ rel: path, abs: `${abs}/${name}` });
				if (batch.length >= batchSize) {
					yield batch;
					batch = [];
				}
			}
		}
	}
	yield* walk(root, '', useGitignore && repo ? ancestorLevels(repo, root) : []);
	if (batch.length) yield batch;
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
function ancestorLevels(repo: string, root: string): Level[] {
	const levels: Level[] = [];
	const add = (file: string, dir: string) => {
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

// Scratch copies of a kernel tree for review: hard links (`cp -al`, a few seconds
// for 80,000 files), so nothing is duplicated until a file is changed, and every
// change unlinks first so that the original tree is never written through a link.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export class ReviewError extends Error {}

/** Entries never copied: version control and editor state. */
const SKIP = new Set(['.git', '.hg', '.svn']);

export interface ScratchTree {
	dir: string;
	dispose(): void;
}

/** A hard-linked copy of `tree` (a full copy where hard links are not possible). */
export function scratchCopy(tree: string, parent = process.env.GPCSCOPE_REVIEW_TMP || tmpdir()): ScratchTree {
	const base = mkdtempSync(join(parent, 'gpcscope-review-'));
	const dir = join(base, 'tree');
	mkdirSync(dir);
	const entries = readdirSync(tree).filter((e) => !SKIP.has(e));
	const cp = (flags: string) => entries.length === 0 || spawnSync('cp', [flags, ...entries.map((e) => join(tree, e)), dir + '/'], { stdio: ['ignore', 'ignore', 'pipe'] }).status === 0;
	if (!cp('-al')) {
		// Another file system, or no hard links allowed: a real copy (slower, same result).
		rmSync(dir, { recursive: true, force: true });
		mkdirSync(dir);
		if (!cp('-a')) throw new ReviewError(`could not copy ${tree} into ${dir}`);
	}
	// rm(1) unlinks 80,000 entries several times faster than fs.rmSync.
	const dispose = () => {
		if (spawnSync('rm', ['-rf', base], { stdio: 'ignore' }).status !== 0) rmSync(base, { recursive: true, force: true });
	};
	return { dir, dispose };
}

/** Makes `rel` in a scratch copy a file of its own (no longer a link to the original). */
export function breakLink(dir: string, rel: string): void {
	const abs = join(dir, rel);
	let st;
	try {
		st = lstatSync(abs);
	} catch {
		return;
	}
	if (!st.isFile() || st.nlink < 2) return;
	const tmp = `${abs}.gpcscope-unlink`;
	copyFileSync(abs, tmp);
	unlinkSync(abs);
	copyFileSync(tmp, abs);
	unlinkSync(tmp);
	chmodSync(abs, st.mode);
}

/** Writes (or with `undefined`, deletes) a file in a scratch copy without touching the original. */
export function writeScratch(dir: string, rel: string, content: Buffer | undefined): void {
	const abs = join(dir, rel);
	if (existsSync(abs)) unlinkSync(abs);
	if (content === undefined) return;
	mkdirSync(dirname(abs), { recursive: true });
	writeFileSync(abs, content);
}

/** git's environment without what a hook or a wrapper may have set (GIT_DIR and friends). */
function gitEnv(): NodeJS.ProcessEnv {
	const env = { ...process.env };
	for (const k of Object.keys(env)) if (/^GIT_(DIR|WORK_TREE|INDEX_FILE|PREFIX|OBJECT_DIRECTORY|CEILING_DIRECTORIES)$/.test(k)) delete env[k];
	// Never walk up from a scratch copy into an enclosing repository.
	env.GIT_CEILING_DIRECTORIES = tmpdir();
	return env;
}

/** Runs git in `cwd`; stdout as a Buffer, or a ReviewError with git's own message. */
export function git(cwd: string, args: string[], input?: string | Buffer): Buffer {
	const r = spawnSync('git', args, { cwd, env: gitEnv(), input, maxBuffer: 1 << 30 });
	if (r.error) throw new ReviewError(`git ${args[0]}: ${r.error.message}`);
	if (r.status !== 0) throw new ReviewError(`git ${args.join(' ')}: ${r.stderr.toString().trim() || `exit ${r.status}`}`);
	return r.stdout;
}

/** Applies one patch text to a scratch copy (paths relative to it, `-p1`). */
export function applyPatch(dir: string, text: string, paths: Iterable<string>, what: string): void {
	for (const p of paths) breakLink(dir, p);
	// Outside any repository git apply works like patch(1), and refuses a patch that does not apply.
	const r = spawnSync('git', ['apply', '--whitespace=nowarn', '-'], { cwd: dir, env: { ...gitEnv(), GIT_CEILING_DIRECTORIES: dirname(dir) }, input: text });
	if (r.error) throw new ReviewError(`git apply: ${r.error.message}`);
	if (r.status !== 0) throw new ReviewError(`${what} does not apply to the tree:\n${r.stderr.toString().trim()}`);
}

export function isGitWorkTree(dir: string): boolean {
	try {
		return git(dir, ['rev-parse', '--is-inside-work-tree']).toString().trim() === 'true';
	} catch {
		return false;
	}
}

export interface RevRange {
	base: string;
	head: string;
	/** As the user wrote it. */
	spec: string;
}

/** `A..B`, `A...B` (from their merge base) or one commit `C` (= `C^..C`), resolved to commit ids. */
export function resolveRange(dir: string, spec: string): RevRange {
	const verify = (rev: string) => {
		try {
			return git(dir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).toString().trim();
		} catch {
			throw new ReviewError(`${rev}: not a file, and not a revision of the git repository at ${dir}`);
		}
	};
	const three = /^(.*)\.\.\.(.*)$/.exec(spec);
	if (three) {
		const a = verify(three[1] || 'HEAD'), b = verify(three[2] || 'HEAD');
		return { base: git(dir, ['merge-base', a, b]).toString().trim(), head: b, spec };
	}
	const two = /^(.*)\.\.(.*)$/.exec(spec);
	if (two) return { base: verify(two[1] || 'HEAD'), head: verify(two[2] || 'HEAD'), spec };
	const head = verify(spec);
	return { base: verify(`${head}^`), head, spec };
}

/** Paths (relative to `dir`) whose content differs between `from` and `to`; `to` undefined = the work tree. */
export function changedPaths(dir: string, from: string, to?: string): string[] {
	const args = ['diff', '--name-only', '--no-renames', '--relative', '-z', from];
	if (to) args.push(to);
	return git(dir, args).toString().split('\0').filter(Boolean);
}

/** Untracked, not ignored .c/.h files of a work tree (relative to `dir`). */
export function untrackedSources(dir: string): string[] {
	return git(dir, ['ls-files', '--others', '--exclude-standard', '-z', '--', '*.c', '*.h']).toString().split('\0').filter(Boolean);
}

/** A file's content at a revision, undefined where it does not exist there. */
export function showAt(dir: string, rev: string, rel: string): Buffer | undefined {
	const r = spawnSync('git', ['cat-file', 'blob', `${rev}:./${rel}`], { cwd: dir, env: gitEnv(), maxBuffer: 1 << 30 });
	return r.status === 0 ? r.stdout : undefined;
}

/** `git format-patch` of a range, to name the commit behind each finding. */
export function formatPatch(dir: string, range: RevRange): string {
	return git(dir, ['format-patch', '--stdout', '--no-renames', '--no-signature', `${range.base}..${range.head}`, '--relative']).toString();
}

export function isFile(p: string): boolean {
	try {
		return statSync(p).isFile();
	} catch {
		return false;
	}
}

/** For tests and tools: run a command, throw on failure. */
export function run(cmd: string, args: string[], cwd: string): string {
	return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: gitEnv(), maxBuffer: 1 << 30 });
}

// Writes the rewritten files so that a failure anywhere leaves the tree as it
// was. Four steps: check every file (writable, still the text the plan was made
// from), write every new file as a temporary beside its original, check the
// contents once more, then rename each temporary over its original. Before each
// rename the original is kept as a hard link, so a failed rename is rolled back
// by renaming the kept originals back. Renaming (not writing in place) also
// leaves the other links of a hardlinked tree untouched.
import { closeSync, constants, copyFileSync, fsyncSync, linkSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FileChange } from './diff';

/** The rewrite did not happen; `message` names the file and says why. */
export class RewriteError extends Error {
	constructor(
		message: string,
		readonly file: string,
		readonly cause?: unknown,
		/** False only when a rollback failed: some originals are then in their kept copies. */
		readonly intact = true,
	) {
		super(message);
	}
}

interface Staged {
	file: string;
	target: string;
	/** The plan's view of the original, byte for byte. */
	original: Buffer;
	/** The new contents, written here first. */
	tmp: string;
	/** The original while it is being replaced: a second link to its inode (or a copy). */
	kept: string;
}

export function applyChanges(root: string, changes: readonly FileChange[], encodingOf: (file: string) => BufferEncoding = () => 'utf8'): void {
	const staged = changes.map((c): Staged => {
		const target = join(root, c.file);
		const hidden = join(dirname(target), `.${basename(target)}.gpcscope-${process.pid}`);
		return { file: c.file, target, original: Buffer.from(c.before, encodingOf(c.file)), tmp: `${hidden}.tmp`, kept: `${hidden}.orig.tmp` };
	});
	for (const s of staged) checkWritable(s);
	for (const s of staged) checkUnchanged(s);
	try {
		changes.forEach((c, i) => writeTemporary(staged[i], Buffer.from(c.after, encodingOf(c.file))));
		// The editor may have saved a file while the temporaries were written.
		for (const s of staged) checkUnchanged(s);
	} catch (e) {
		for (const s of staged) removeQuietly(s.tmp);
		throw e;
	}
	replaceAll(staged);
}

function checkWritable(s: Staged): void {
	let mode: number;
	try {
		mode = lstatSync(s.target).mode;
	} catch (e) {
		throw new RewriteError(`${s.file}: cannot read it (${(e as Error).message})`, s.file, e);
	}
	// By mode, not access(2): root may write anything, but a 0444 file says "do not edit".
	if ((mode & 0o222) === 0) throw new RewriteError(`${s.file}: read-only file (mode ${(mode & 0o777).toString(8)}); make it writable to rewrite it`, s.file);
}

function checkUnchanged(s: Staged): void {
	let now: Buffer;
	try {
		now = readFileSync(s.target);
	} catch (e) {
		throw new RewriteError(`${s.file}: cannot read it (${(e as Error).message})`, s.file, e);
	}
	if (!now.equals(s.original)) throw new RewriteError(`${s.file}: changed on disk since it was analysed; run the fix again`, s.file);
}

function writeTemporary(s: Staged, bytes: Buffer): void {
	try {
		const fd = openSync(s.tmp, 'wx', lstatSync(s.target).mode & 0o7777);
		try {
			writeSync(fd, bytes);
			fsyncSync(fd);
		} finally {
			closeSync(fd);
		}
	} catch (e) {
		throw new RewriteError(`${s.file}: cannot write its new contents (${(e as Error).message})`, s.file, e);
	}
}

/** Renames every temporary over its original; on a failure, puts back the originals already replaced. */
function replaceAll(staged: Staged[]): void {
	const replaced: Staged[] = [];
	try {
		for (const s of staged) {
			keepOriginal(s);
			try {
				renameSync(s.tmp, s.target);
			} catch (e) {
				unlinkSync(s.kept);
				throw e;
			}
			replaced.push(s);
		}
	} catch (e) {
		const lost = rollBack(replaced);
		for (const s of staged) removeQuietly(s.tmp);
		const file = staged[replaced.length]?.file ?? '';
		const outcome = lost.length ? `could not restore ${lost.join(', ')}: their originals are kept as ${lost.map((f) => staged.find((s) => s.file === f)!.kept).join(', ')}` : 'every file was restored';
		throw new RewriteError(`${file}: cannot replace it (${(e as Error).message}); ${outcome}`, file, e, !lost.length);
	}
	for (const s of replaced) removeQuietly(s.kept);
}

/** A hard link to the original (same inode, mode and owner); a copy where the file system has no hard links. */
function keepOriginal(s: Staged): void {
	try {
		linkSync(s.target, s.kept);
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code !== 'EPERM' && (e as NodeJS.ErrnoException).code !== 'ENOTSUP') throw e;
		copyFileSync(s.target, s.kept, constants.COPYFILE_EXCL);
	}
}

/** Renames the kept originals back; returns the files it could not restore. */
function rollBack(replaced: Staged[]): string[] {
	const lost: string[] = [];
	for (const s of replaced.reverse()) {
		try {
			renameSync(s.kept, s.target);
		} catch {
			lost.push(s.file);
		}
	}
	return lost;
}

function removeQuietly(path: string): void {
	try {
		unlinkSync(path);
	} catch {
		// already gone
	}
}

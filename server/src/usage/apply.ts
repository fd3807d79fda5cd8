// Writes the rewritten files: each through a temporary file in the same
// directory, renamed over the original (atomic per file; a hardlinked copy of
// a tree keeps its other links untouched). All temporaries are written before
// any rename, so a failure while writing changes nothing.
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FileChange } from './diff';

export function applyChanges(root: string, changes: readonly FileChange[], encodingOf: (file: string) => BufferEncoding = () => 'utf8'): void {
	const staged: { tmp: string; target: string }[] = [];
	try {
		for (const c of changes) {
			const target = join(root, c.file);
			const tmp = join(dirname(target), `.${basename(target)}.gpcscope-${process.pid}.tmp`);
			const fd = openSync(tmp, 'wx', statSync(target).mode & 0o7777);
			staged.push({ tmp, target });
			try {
				writeSync(fd, Buffer.from(c.after, encodingOf(c.file)));
				fsyncSync(fd);
			} finally {
				closeSync(fd);
			}
		}
	} catch (e) {
		for (const s of staged) unlinkSync(s.tmp);
		throw e;
	}
	for (const s of staged) renameSync(s.tmp, s.target);
}

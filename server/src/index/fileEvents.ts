// A file created (or changed) on disk that the index has not seen, judged
// alone instead of re-indexing the whole tree (4.4 s on 6.12; Emacs creates a
// lock file on the first edit of a buffer). The same tests as the walk and the
// prefilter: a regular .c/.h (never a symlink: Emacs's `.#xen.c` lock is one),
// within the size limit, not binary, inside include and outside exclude.
import ignore from 'ignore';
import { lstatSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { looksBinary, mentionsGpc } from './prefilter';

export type NewFileKind =
	/** Mentions the gpc API: analysed. */
	| 'gpc'
	/** A .c file beside a gpc .c file: parsed for its call graph (may-sleep summaries) only. */
	| 'neighbour'
	/** Not something the index would keep. */
	| 'none';

export interface NewFileOptions {
	maxBytes: number;
	include?: readonly string[];
	exclude?: readonly string[];
	/** Directories (root-relative) that hold an indexed gpc .c file. */
	gpcDirs: ReadonlySet<string>;
}

/** What the index would make of `rel` (root-relative) under `root`. */
export function classifyNewFile(root: string, rel: string, options: NewFileOptions): NewFileKind {
	const name = posix.basename(rel);
	if (!/\.[ch]$/.test(name) || rel.split('/').some((part) => part === '.git' || part === 'node_modules')) return 'none';
	if (options.exclude?.length && ignore().add(options.exclude as string[]).ignores(rel)) return 'none';
	if (options.include?.length && !ignore().add(options.include as string[]).ignores(rel)) return 'none';
	let bytes: Buffer;
	try {
		const st = lstatSync(`${root}/${rel}`);
		if (!st.isFile() || st.size > options.maxBytes) return 'none';
		bytes = readFileSync(`${root}/${rel}`);
	} catch {
		// Gone again, or unreadable: the index would skip it too.
		return 'none';
	}
	if (looksBinary(bytes)) return 'none';
	if (mentionsGpc(bytes)) return 'gpc';
	return name.endsWith('.c') && options.gpcDirs.has(posix.dirname(rel)) ? 'neighbour' : 'none';
}

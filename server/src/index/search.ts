// A whole-tree search for identifiers (the rewrite's callers and prototypes of a
// function that loses a parameter: kvm_main.c and kvm_mm.h do not mention the gpc
// API), in worker threads: never a child process, never the server's own thread.
import { defaultJobs, WorkerPool } from './pool';
import { searchFiles } from './tasks';
import { walkSources } from './walk';

const BATCH = 512;

export interface SearchOptions {
	/** Threads; default the number of cores (1: this thread). */
	jobs?: number;
	/** Files not to read from disk (an open document: the caller tests its text). */
	skip?(file: string): boolean;
}

/**
 * The .c/.h files under `root` (root-relative, sorted) whose text names one of `names` as a
 * whole word. Symlinks are not followed, and .gitignore is not honoured: a caller in an
 * ignored file still needs the rewrite.
 */
export async function searchTree(root: string, names: readonly string[], options: SearchOptions = {}): Promise<string[]> {
	if (!names.length) return [];
	const files: string[] = [];
	for (const batch of walkSources(root, { gitignore: false }, () => undefined)) for (const e of batch) if (!options.skip?.(e.rel)) files.push(e.rel);
	files.sort();
	const jobs = Math.max(1, options.jobs ?? defaultJobs());
	const pool = jobs > 1 ? WorkerPool.create(jobs) : undefined;
	try {
		const batches: Promise<number[]>[] = [];
		for (let i = 0; i < files.length; i += BATCH) {
			const task = { kind: 'search' as const, files: files.slice(i, i + BATCH).map((f) => `${root}/${f}`), names: [...names] };
			batches.push(pool ? pool.search(task).catch(() => searchFiles(task)) : Promise.resolve(searchFiles(task)));
		}
		const found = await Promise.all(batches);
		return found.flatMap((hits, b) => hits.map((i) => files[b * BATCH + i]));
	} finally {
		await pool?.dispose();
	}
}

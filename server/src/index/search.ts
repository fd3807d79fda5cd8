// A whole-tree search for identifiers (the rewrite's callers and prototypes of a
// function that loses a parameter: kvm_main.c and kvm_mm.h do not mention the gpc
// API), in worker threads: never a child process, never the server's own thread.
// One search walks the tree once and keeps its workers for every query of a plan.
import { defaultJobs, WorkerPool } from './pool';
import { searchFiles } from './tasks';
import { walkSources } from './walk';

const BATCH = 2048;

export class TreeSearch {
	private files?: string[];
	private pool?: WorkerPool;
	private readonly jobs: number;

	/** `jobs`: threads, default the number of cores (1: this thread). */
	constructor(private readonly root: string, jobs?: number) {
		this.jobs = Math.max(1, jobs ?? defaultJobs());
	}

	/**
	 * The .c/.h files under the root (root-relative, sorted) whose text names one of `names` as
	 * a whole word, but those `skip` says not to read. Symlinks are not followed, and .gitignore
	 * is not honoured: a caller in an ignored file still needs the rewrite.
	 */
	async search(names: readonly string[], skip: (file: string) => boolean = () => false): Promise<string[]> {
		if (!names.length) return [];
		const files = this.allFiles().filter((f) => !skip(f));
		if (this.jobs > 1) this.pool ??= WorkerPool.create(this.jobs);
		const batches: Promise<number[]>[] = [];
		for (let i = 0; i < files.length; i += BATCH) {
			const task = { kind: 'search' as const, files: files.slice(i, i + BATCH).map((f) => `${this.root}/${f}`), names: [...names] };
			batches.push(this.pool ? this.pool.search(task).catch(() => searchFiles(task)) : Promise.resolve(searchFiles(task)));
		}
		const found = await Promise.all(batches);
		return found.flatMap((hits, b) => hits.map((i) => files[b * BATCH + i]));
	}

	async dispose(): Promise<void> {
		await this.pool?.dispose();
		this.pool = undefined;
	}

	private allFiles(): string[] {
		if (!this.files) {
			const files: string[] = [];
			for (const batch of walkSources(this.root, { gitignore: false }, () => undefined)) for (const e of batch) files.push(e.rel);
			this.files = files.sort();
		}
		return this.files;
	}
}

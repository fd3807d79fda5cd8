// The signatures of the files a warm cache knows, taken on this thread and on helper
// threads at once: on a kernel tree a warm run is mostly 60,000 lstat calls. One message
// each way per helper (where the paths are; "done"): the files are claimed in chunks
// through a shared counter and each thread writes what it saw into one shared table, so
// no thread waits for another and none is sent a message per batch (stat batches posted
// to the index workers cost more in messages than the lstat calls).
import { lstatSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** Files claimed at once. */
const CHUNK = 128;

/**
 * A helper thread: the same loop as `run` below. Plain JavaScript evaluated in the worker
 * (no bundle to load), waiting for one scan: `prestartHelpers` starts it early, so that
 * its start-up (50 ms, more on a busy machine) overlaps what this thread does meanwhile.
 */
const HELPER = `
const { parentPort } = require('node:worker_threads');
const { lstatSync } = require('node:fs');
parentPort.once('message', ({ root, text, count, shared, chunk }) => {
	// The paths found by their NULs as needed: no string per path kept (a young generation full of them is slow to collect).
	const all = Buffer.from(text.buffer, text.offset, text.length).toString('utf8');
	const starts = new Int32Array(count + 1);
	let n = 0;
	let at = 0;
	while (n < count && at <= all.length) {
		starts[n++] = at;
		const nul = all.indexOf('\0', at);
		at = nul < 0 ? all.length + 1 : nul + 1;
	}
	starts[count] = at;
	const control = new Int32Array(shared, 0, 2);
	const sigs = new Float64Array(shared, 8, count * 4);
	// Not the paths this thread was told of: it leaves them all to the others.
	while (n === count) {
		const start = Atomics.add(control, 0, chunk);
		if (start >= count) break;
		const end = Math.min(start + chunk, count);
		for (let i = start; i < end; i++) {
			const p = all.slice(starts[i], starts[i + 1] - 1);
			try {
				const st = lstatSync(p.charCodeAt(0) === 47 ? p : p ? root + '/' + p : root, { throwIfNoEntry: false });
				if (st) { sigs[i * 4] = st.size; sigs[i * 4 + 1] = st.mtimeMs; sigs[i * 4 + 2] = st.ctimeMs; sigs[i * 4 + 3] = st.ino; }
				else sigs.fill(-1, i * 4, i * 4 + 4);
			} catch {}
		}
		Atomics.add(control, 1, end - start);
	}
	parentPort.postMessage('done');
	parentPort.close();
});
`;

/** Helper threads for `jobs` threads in all: the rest (at most 3: more do not pay on a tree's worth of lstat calls). */
export function helperCount(jobs: number): number {
	return Math.max(0, Math.min(jobs - 1, 3));
}

/** Helper threads started ahead of a scan, idle (and not keeping the process alive) until one takes them. */
const spares: Worker[] = [];

/** Starts up to `n` helper threads now, for a scan to come (a CLI check, before it loads anything). */
export function prestartHelpers(n: number): void {
	while (spares.length < n) {
		const worker = startHelper();
		if (!worker) return;
		worker.unref();
		const gone = () => {
			const k = spares.indexOf(worker);
			if (k >= 0) spares.splice(k, 1);
		};
		worker.once('error', gone);
		worker.once('exit', gone);
		spares.push(worker);
	}
}

/** Stops the helpers no scan took. */
export function releaseHelpers(): void {
	for (const worker of spares.splice(0)) void worker.terminate().catch(() => undefined);
}

function startHelper(): Worker | undefined {
	try {
		return new Worker(HELPER, { eval: true });
	} catch {
		return undefined;
	}
}

/**
 * The paths to stat: root-relative ('' is the root) or absolute; `utf8` starts with them
 * joined by NUL (and may go on: the helpers take `count` of them).
 */
export interface ScanList {
	count: number;
	at(i: number): string;
	utf8: Uint8Array;
}

export class SignatureScan {
	/** [0]: the next path to claim; [1]: paths done. */
	private readonly control: Int32Array;
	/** size, mtimeMs, ctimeMs, ino per path; -1s where absent, NaN where it could not be stat()ed. */
	readonly sigs: Float64Array;
	private readonly helpers: Worker[] = [];
	private alive = 0;
	private wake: (() => void) | undefined;
	private finished: Promise<Float64Array> | undefined;
	private readonly paths: ScanList;

	/** `helpers`: threads besides this one (0: this thread does it all, in `finish`). */
	constructor(private readonly root: string, list: ScanList, helpers: number) {
		this.paths = list;
		const n = list.count;
		const shared = new SharedArrayBuffer(8 + n * 32);
		this.control = new Int32Array(shared, 0, 2);
		this.sigs = new Float64Array(shared, 8, n * 4).fill(NaN);
		if (n < 4 * CHUNK) helpers = 0;
		if (!helpers) return;
		// The cache's paths are read into shared memory already (cache.ts): given as they are.
		let { utf8 } = list;
		if (!(utf8.buffer instanceof SharedArrayBuffer)) {
			const copy = new Uint8Array(new SharedArrayBuffer(utf8.length));
			copy.set(utf8);
			utf8 = copy;
		}
		const text = { buffer: utf8.buffer, offset: utf8.byteOffset, length: utf8.length };
		for (let k = 0; k < helpers; k++) {
			const worker = spares.shift() ?? startHelper();
			if (!worker) break;
			worker.removeAllListeners();
			worker.ref();
			this.alive++;
			let gone = false;
			const end = () => {
				if (gone) return;
				gone = true;
				this.alive--;
				this.wake?.();
			};
			worker.on('message', end);
			worker.on('error', end);
			worker.on('exit', end);
			worker.postMessage({ root, text, count: n, shared, chunk: CHUNK });
			this.helpers.push(worker);
		}
	}

	/**
	 * Stats the paths no helper has claimed, then waits for those they have (a helper that
	 * has not started yet is not waited for). A helper that dies leaves its paths NaN: they
	 * count as changed.
	 */
	finish(): Promise<Float64Array> {
		return (this.finished ??= this.run());
	}

	/** Stops the helpers (one that has not started yet never does). */
	dispose(): void {
		for (const worker of this.helpers.splice(0)) void worker.terminate().catch(() => undefined);
	}

	private async run(): Promise<Float64Array> {
		const { control, sigs, root, paths } = this;
		const n = paths.count;
		for (;;) {
			const start = Atomics.add(control, 0, CHUNK);
			if (start >= n) break;
			const end = Math.min(start + CHUNK, n);
			for (let i = start; i < end; i++) {
				const p = paths.at(i);
				try {
					const st = lstatSync(p.charCodeAt(0) === 47 ? p : p ? `${root}/${p}` : root, { throwIfNoEntry: false });
					if (st) {
						sigs[i * 4] = st.size;
						sigs[i * 4 + 1] = st.mtimeMs;
						sigs[i * 4 + 2] = st.ctimeMs;
						sigs[i * 4 + 3] = st.ino;
					} else sigs.fill(-1, i * 4, i * 4 + 4);
				} catch {
					// Not stat()able: NaN, a changed file (its read says why).
				}
			}
			Atomics.add(control, 1, end - start);
		}
		await new Promise<void>((resolve) => {
			this.wake = () => {
				if (Atomics.load(control, 1) >= n || this.alive === 0) resolve();
			};
			this.wake();
		});
		this.wake = undefined;
		this.dispose();
		return sigs;
	}
}

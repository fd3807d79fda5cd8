// worker_threads pool for indexing, sized to the cores. Tasks are queued at
// two priorities (facts before scan batches: a parse is the long pole), facts
// on one worker, and each worker holds a few, so it never waits while the main
// thread is busy.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../packageRoot';
import { unpackVerdicts, type FactsReply, type FactsTask, type PackedVerdicts, type ScanTask, type ScanVerdict, type SearchTask } from './tasks';
import type { WorkerRequest, WorkerResponse } from './worker';

interface Job {
	task: ScanTask | FactsTask | SearchTask;
	/** May run on any worker (see pump()). */
	anyWorker?: boolean;
	resolve(value: unknown): void;
	reject(error: Error): void;
}

interface Slot {
	worker: Worker;
	inFlight: Map<number, Job>;
}

/** Tasks queued in each worker: enough that it never waits while this thread parses. */
const PER_WORKER = 4;

/** dist/worker.js next to the running bundle, or in the package (tests run from sources). */
export function workerScript(): string | undefined {
	for (const candidate of [join(__dirname, 'worker.js'), join(packageRoot(), 'dist', 'worker.js')]) {
		if (existsSync(candidate)) return candidate;
	}
	return undefined;
}

export function defaultJobs(): number {
	return availableParallelism();
}

export class WorkerPool {
	private readonly slots: Slot[] = [];
	private readonly high: Job[] = [];
	private readonly low: Job[] = [];
	private nextId = 1;
	private disposed = false;

	private started = false;

	// Workers start with the first task: a warm index that only stats files needs none.
	private constructor(private readonly configured: number, private readonly script: string) {}

	private start(): void {
		this.started = true;
		for (let i = 0; i < this.configured; i++) {
			const worker = new Worker(this.script);
			const slot: Slot = { worker, inFlight: new Map() };
			worker.on('message', (m: WorkerResponse) => {
				const job = slot.inFlight.get(m.id);
				slot.inFlight.delete(m.id);
				if (m.error !== undefined) job?.reject(new Error(m.error));
				else job?.resolve(m.value);
				this.pump();
			});
			const fail = (error: Error) => {
				if (!this.slots.includes(slot)) return;
				for (const job of slot.inFlight.values()) job.reject(error);
				slot.inFlight.clear();
				this.slots.splice(this.slots.indexOf(slot), 1);
				if (!this.slots.length) for (const job of [...this.high.splice(0), ...this.low.splice(0)]) job.reject(error);
				this.pump();
			};
			worker.on('error', fail);
			worker.on('exit', (code) => {
				if (!this.disposed) fail(new Error(`index worker exited with code ${code}`));
			});
			this.slots.push(slot);
		}
	}

	/** A pool of `size` workers, or undefined when there is no worker bundle (then index in-thread). */
	static create(size: number): WorkerPool | undefined {
		const script = workerScript();
		return script && size > 0 ? new WorkerPool(size, script) : undefined;
	}

	get size(): number {
		return this.configured;
	}

	/** Whether any worker was started. */
	get used(): boolean {
		return this.started;
	}

	scan(task: ScanTask): Promise<(ScanVerdict | undefined)[]> {
		return (this.run(task, this.low) as Promise<PackedVerdicts>).then(unpackVerdicts);
	}

	/** `anyWorker`: not only the first (`check --all-files` parses every file of a tree). */
	facts(task: FactsTask, anyWorker = false): Promise<FactsReply> {
		return this.run(task, this.high, anyWorker) as Promise<FactsReply>;
	}

	/** The indexes of the task's files that name one of its names. */
	search(task: SearchTask): Promise<number[]> {
		return this.run(task, this.low) as Promise<number[]>;
	}

	async dispose(): Promise<void> {
		this.disposed = true;
		const error = new Error('index pool disposed');
		for (const job of [...this.high.splice(0), ...this.low.splice(0)]) job.reject(error);
		await Promise.all(this.slots.map((s) => s.worker.terminate()));
		this.slots.length = 0;
	}

	private run(task: ScanTask | FactsTask | SearchTask, queue: Job[], anyWorker = false): Promise<unknown> {
		if (!this.started && !this.disposed) this.start();
		if (this.disposed || !this.slots.length) return Promise.reject(new Error('index pool disposed'));
		return new Promise((resolve, reject) => {
			queue.push({ task, resolve, reject, anyWorker });
			this.pump();
		});
	}

	/**
	 * Facts tasks go to the first worker only (scan batches to any): the parser and the facts
	 * code are then compiled and JIT-warmed once, not in every worker (measured: less CPU).
	 * A whole tree's facts (`anyWorker`) are worth warming every worker for.
	 */
	private pump(): void {
		const affinity = this.slots.length > 1;
		for (;;) {
			let dispatched = false;
			const free = (s: Slot) => s.inFlight.size < PER_WORKER;
			if (this.high.length) {
				const candidates = affinity && !this.high[0].anyWorker ? [this.slots[0]] : this.slots;
				const slot = least(candidates.filter(free));
				if (slot) dispatched = this.post(slot, this.high.shift()!);
			}
			if (this.low.length) {
				const slot = least(this.slots.filter(free).filter((s) => !(affinity && s === this.slots[0] && this.high.length)));
				if (slot) dispatched = this.post(slot, this.low.shift()!) || dispatched;
			}
			if (!dispatched) return;
		}
	}

	private post(slot: Slot, job: Job): boolean {
		const id = this.nextId++;
		slot.inFlight.set(id, job);
		slot.worker.postMessage({ id, task: job.task } satisfies WorkerRequest);
		return true;
	}
}

function least(slots: Slot[]): Slot | undefined {
	let best: Slot | undefined;
	for (const s of slots) if (!best || s.inFlight.size < best.inFlight.size) best = s;
	return best;
}

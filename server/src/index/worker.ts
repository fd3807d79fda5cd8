// A worker thread of the index pool (bundled as dist/worker.js): its own
// web-tree-sitter parser, scan, facts and search tasks one at a time, replies by id.
import { parentPort } from 'node:worker_threads';
import { createCParser } from '../parse/parser';
import { factsOf, packVerdicts, scanFiles, searchFiles, type FactsTask, type ScanTask, type SearchTask } from './tasks';

export interface WorkerRequest {
	id: number;
	task: ScanTask | FactsTask | SearchTask;
}

export interface WorkerResponse {
	id: number;
	value?: unknown;
	error?: string;
}

// Created with the first facts task: a warm index only stats files and needs no parser.
let parser: ReturnType<typeof createCParser> | undefined;

parentPort!.on('message', async ({ id, task }: WorkerRequest) => {
	let response: WorkerResponse;
	const transfer: ArrayBuffer[] = [];
	try {
		if (task.kind === 'scan') {
			const packed = packVerdicts(scanFiles(task));
			transfer.push(packed.numbers.buffer as ArrayBuffer);
			response = { id, value: packed };
		} else if (task.kind === 'search') response = { id, value: searchFiles(task) };
		else response = { id, value: factsOf(task, await (parser ??= createCParser())) };
	} catch (e) {
		response = { id, error: (e as Error).stack ?? String(e) };
	}
	parentPort!.postMessage(response, transfer);
});

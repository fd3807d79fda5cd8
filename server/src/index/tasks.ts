// The per-file work of indexing, shared by the worker threads and the
// in-thread fallback: read + prefilter (scan), and read + parse + pass-1 facts
// (facts). Both read into one reused buffer: 60,000 small allocations cost more
// than the search.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import type { Parser } from 'web-tree-sitter';
import { extractFacts, type FileFacts } from '../analysis/facts';
import { decodeText, looksBinary, mentionsGpc } from './prefilter';

/** What the scan decided about a file. */
export const Kind = {
	/** Does not mention the gpc API. */
	None: 0,
	Gpc: 1,
	TooLarge: 2,
	Binary: 3,
	Unreadable: 4,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** size, mtimeMs, ctimeMs, ino: a file whose signature is unchanged is assumed unchanged (as git does). */
export type Signature = [size: number, mtimeMs: number, ctimeMs: number, ino: number];

export interface ScanTask {
	kind: 'scan';
	/** Absolute paths, and the signature the cache holds for each (when it has one). */
	files: { abs: string; cached?: Signature }[];
	maxBytes: number;
	/** Every file is wanted (--all-files): files the prefilter rejects are also checked for NULs and hashed. */
	all?: boolean;
}

/** One entry per task file: undefined when the cached signature still matches. */
export interface ScanVerdict {
	sig: Signature;
	kind: Kind;
	/** sha1 of the bytes, for files that mention the gpc API (every text file with `all`). */
	hash?: string;
	error?: string;
}

export interface FactsTask {
	kind: 'facts';
	file: string;
	abs: string;
}

/** Which of these files name one of `names` (whole words). */
export interface SearchTask {
	kind: 'search';
	files: string[];
	names: string[];
}

export interface FactsReply {
	facts?: FileFacts;
	hash?: string;
	bytes?: number;
	error?: string;
}

/**
 * Verdicts as they cross threads: five numbers per file (size, mtimeMs, ctimeMs, ino,
 * kind; kind -1: unchanged) in one transferable array, hashes and errors by index.
 * Cloning 60,000 small objects cost more than the search.
 */
export interface PackedVerdicts {
	numbers: Float64Array;
	hashes: Record<number, string>;
	errors: Record<number, string>;
}

export function packVerdicts(verdicts: (ScanVerdict | undefined)[]): PackedVerdicts {
	const numbers = new Float64Array(verdicts.length * 5);
	const packed: PackedVerdicts = { numbers, hashes: {}, errors: {} };
	verdicts.forEach((v, i) => {
		if (!v) {
			numbers[i * 5 + 4] = -1;
			return;
		}
		numbers.set(v.sig, i * 5);
		numbers[i * 5 + 4] = v.kind;
		if (v.hash) packed.hashes[i] = v.hash;
		if (v.error) packed.errors[i] = v.error;
	});
	return packed;
}

export function unpackVerdicts(packed: PackedVerdicts): (ScanVerdict | undefined)[] {
	const { numbers } = packed;
	const out: (ScanVerdict | undefined)[] = [];
	for (let i = 0; i * 5 < numbers.length; i++) {
		const kind = numbers[i * 5 + 4];
		if (kind < 0) out.push(undefined);
		else {
			out.push({
				sig: [numbers[i * 5], numbers[i * 5 + 1], numbers[i * 5 + 2], numbers[i * 5 + 3]],
				kind: kind as Kind,
				hash: packed.hashes[i],
				error: packed.errors[i],
			});
		}
	}
	return out;
}

let buffer = Buffer.allocUnsafe(1 << 20);

/** Reads a whole file into the shared buffer (grown as needed); returns a view of it. */
function readInto(fd: number, size: number): Buffer {
	if (size > buffer.length) buffer = Buffer.allocUnsafe(Math.max(size, buffer.length * 2));
	let done = 0;
	for (;;) {
		// Files may grow while we read; read until EOF, growing the buffer.
		if (done === buffer.length) {
			const bigger = Buffer.allocUnsafe(buffer.length * 2);
			buffer.copy(bigger, 0, 0, done);
			buffer = bigger;
		}
		const n = readSync(fd, buffer, done, buffer.length - done, done);
		if (n === 0) break;
		done += n;
	}
	return buffer.subarray(0, done);
}

export function sameSignature(a: Signature | undefined, b: Signature): boolean {
	return !!a && a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

export function contentHash(bytes: Uint8Array): string {
	return createHash('sha1').update(bytes).digest('hex');
}

export function scanFiles(task: ScanTask): (ScanVerdict | undefined)[] {
	return task.files.map(({ abs, cached }) => {
		if (cached) {
			try {
				const st = lstatSync(abs);
				if (sameSignature(cached, [st.size, st.mtimeMs, st.ctimeMs, st.ino])) return undefined;
			} catch {
				// Gone or unreadable: the read below says why.
			}
		}
		return scanFile(abs, task.maxBytes, !!task.all);
	});
}

function scanFile(abs: string, maxBytes: number, all: boolean): ScanVerdict {
	let fd: number;
	try {
		fd = openSync(abs, 'r');
	} catch (e) {
		return { sig: [0, 0, 0, 0], kind: Kind.Unreadable, error: (e as Error).message };
	}
	try {
		const st = fstatSync(fd);
		const sig: Signature = [st.size, st.mtimeMs, st.ctimeMs, st.ino];
		// Too large to be hand-written C: generated register headers (amdgpu's are 16 MB). Not read at all.
		if (st.size > maxBytes) return { sig, kind: Kind.TooLarge };
		const bytes = readInto(fd, st.size);
		const gpc = mentionsGpc(bytes);
		if (!gpc && !all) return { sig, kind: Kind.None };
		if (looksBinary(bytes)) return { sig, kind: Kind.Binary };
		// The kind is the prefilter's verdict in both modes: the cache records it for either.
		return { sig, kind: gpc ? Kind.Gpc : Kind.None, hash: contentHash(bytes) };
	} catch (e) {
		return { sig: [0, 0, 0, 0], kind: Kind.Unreadable, error: (e as Error).message };
	} finally {
		closeSync(fd);
	}
}

/** The indexes of the task's files that name one of its names; unreadable files name none. */
export function searchFiles(task: SearchTask): number[] {
	// Needles under 8 bytes (Buffer.indexOf is memchr-driven for those, several times slower for longer ones).
	const needles = [...new Set(task.names.map((n) => n.slice(0, 7)))].map((n) => Buffer.from(n, 'latin1'));
	const words = new RegExp(`\\b(?:${task.names.join('|')})\\b`);
	const out: number[] = [];
	task.files.forEach((abs, i) => {
		let bytes: Buffer;
		try {
			const fd = openSync(abs, 'r');
			try {
				bytes = readInto(fd, fstatSync(fd).size);
			} finally {
				closeSync(fd);
			}
		} catch {
			return;
		}
		// Literal needles first (memchr-driven), the word-bounded pattern on the few files that hold one.
		if (needles.some((n) => bytes.indexOf(n) >= 0) && words.test(bytes.toString('latin1'))) out.push(i);
	});
	return out;
}

/** Pass-1 facts of one file; the tree is deleted before returning. */
export function factsOf(task: FactsTask, parser: Parser): FactsReply {
	let bytes: Buffer;
	try {
		const fd = openSync(task.abs, 'r');
		try {
			bytes = readInto(fd, fstatSync(fd).size);
		} finally {
			closeSync(fd);
		}
	} catch (e) {
		return { error: (e as Error).message };
	}
	const hash = contentHash(bytes);
	const tree = parser.parse(decodeText(bytes));
	if (!tree) return { error: 'tree-sitter returned no tree' };
	try {
		return { facts: extractFacts(task.file, tree), hash, bytes: bytes.length };
	} finally {
		tree.delete();
	}
}

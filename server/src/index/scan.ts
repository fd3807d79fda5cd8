// The synchronous scan (tests, simple callers): the same walk, prefilter and
// choice of sources as indexTree(), in this thread, without facts or cache.
// The CLI and the language server use indexTree() (workers, cache).
import { lstatSync } from 'node:fs';
import { posix } from 'node:path';
import type { SourceFile } from '../analysis/source';
import { MAX_FILE_BYTES, readText, type SkippedFile } from './indexer';
import { Kind, scanFiles } from './tasks';
import { resolveRoot, walkSources, type WalkEntry, type WalkOptions } from './walk';

export { MAX_FILE_BYTES, readText, type SkippedFile };

export interface ScanResult {
	root: string;
	/** Files scanned (every .c/.h seen). */
	scanned: number;
	sources: SourceFile[];
	skipped: SkippedFile[];
}

export interface ScanOptions extends WalkOptions {
	/** Analyse every .c/.h, not only those the prefilter selects. */
	allFiles?: boolean;
	maxFileBytes?: number;
}

/** Scans one root (a directory or a single file); paths in the result are relative to `root`. */
export function scanTree(path: string, options: ScanOptions = {}): ScanResult {
	const { root, file } = resolveRoot(path);
	const maxBytes = options.maxFileBytes ?? MAX_FILE_BYTES;
	const result: ScanResult = { root, scanned: 0, sources: [], skipped: [] };
	const gpc: WalkEntry[] = [];
	const others = new Map<string, WalkEntry[]>();
	const walk = file ? [[{ rel: file, abs: `${root}/${file}` }]] : walkSources(root, options, (s) => result.skipped.push(s));
	for (const batch of walk) {
		result.scanned += batch.length;
		const verdicts = scanFiles({ kind: 'scan', files: batch.map((e) => ({ abs: e.abs })), maxBytes, all: options.allFiles });
		batch.forEach((entry, i) => {
			const v = verdicts[i]!;
			// --all-files analyses the files the prefilter rejects too, in walk order.
			if (v.kind === Kind.Gpc || (options.allFiles && v.kind === Kind.None)) gpc.push(entry);
			else if (v.kind === Kind.None && /\.[ch]$/.test(entry.rel)) {
				const dir = posix.dirname(entry.rel);
				const list = others.get(dir);
				if (list) list.push(entry);
				else others.set(dir, [entry]);
			} else if (v.kind === Kind.TooLarge) result.skipped.push({ file: entry.rel, reason: `larger than ${maxBytes} bytes (${v.sig[0]}); generated?` });
			else if (v.kind === Kind.Binary) result.skipped.push({ file: entry.rel, reason: 'binary (NUL bytes)' });
			else if (v.kind === Kind.Unreadable) result.skipped.push({ file: entry.rel, reason: `unreadable: ${v.error}` });
		});
	}
	for (const e of gpc) result.sources.push({ file: e.rel, read: () => readText(e.abs) });
	// The neighbours of gpc .c files are read for their call graph only (may-sleep summaries).
	const gpcDirs = new Set(gpc.filter((e) => e.rel.endsWith('.c')).map((e) => posix.dirname(e.rel)));
	for (const dir of gpcDirs) {
		for (const n of others.get(dir) ?? []) result.sources.push({ file: n.rel, read: () => readText(n.abs), summariesOnly: true });
	}
	return result;
}

/** Whether a path exists and is not a symlink (used by the CLI to validate its arguments). */
export function isPlainPath(p: string): boolean {
	try {
		return !lstatSync(p).isSymbolicLink();
	} catch {
		return false;
	}
}

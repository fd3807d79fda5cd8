// Walks a tree for C sources and decides which ones are worth parsing: a
// byte-level search for the gpc API identifiers (the prefilter).
import { lstatSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { posix } from 'node:path';

const dirname = posix.dirname;
import type { SourceFile } from '../analysis/engine';

export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Identifiers whose presence makes a file relevant (API calls, the type, the mapping). */
const PREFILTER = /\b(?:gfn_to_pfn_cache|kvm_gpc_[a-z_]+|kvm_gfn_to_pfn_cache_[a-z_]+|khva|pfn_cache_usage|KVM_(?:GUEST|HOST)_USES_PFN)\b/;

export interface SkippedFile {
	file: string;
	reason: string;
}

export interface ScanResult {
	root: string;
	/** Files scanned (every .c/.h seen). */
	scanned: number;
	sources: SourceFile[];
	skipped: SkippedFile[];
}

export interface ScanOptions {
	/** Analyse every .c/.h, not only those the prefilter selects. */
	allFiles?: boolean;
	maxFileBytes?: number;
}

const SKIP_DIRS = new Set(['.git', 'node_modules', '.pc', '.tmp_versions']);

/** Scans one root (a directory or a single file); paths in the result are relative to `root`. */
export function scanTree(root: string, options: ScanOptions = {}): ScanResult {
	const rootReal = realpathSync(root);
	const result: ScanResult = { root: rootReal, scanned: 0, sources: [], skipped: [] };
	const maxBytes = options.maxFileBytes ?? MAX_FILE_BYTES;
	const consider = (abs: string, rel: string) => {
		if (!/\.[ch]$/.test(abs)) return;
		result.scanned++;
		let size: number;
		try {
			size = statSync(abs).size;
		} catch (e) {
			result.skipped.push({ file: rel, reason: `unreadable: ${(e as Error).message}` });
			return;
		}
		let bytes: Buffer;
		try {
			bytes = readFileSync(abs);
		} catch (e) {
			result.skipped.push({ file: rel, reason: `unreadable: ${(e as Error).message}` });
			return;
		}
		const relevant = options.allFiles || PREFILTER.test(bytes.toString('latin1'));
		if (!relevant) {
			if (abs.endsWith('.c') && size <= maxBytes) {
				const dir = dirname(rel);
				const list = others.get(dir);
				if (list) list.push({ abs, rel });
				else others.set(dir, [{ abs, rel }]);
			}
			return;
		}
		if (size > maxBytes) {
			result.skipped.push({ file: rel, reason: `larger than ${maxBytes} bytes (${size}); generated?` });
			return;
		}
		if (bytes.subarray(0, 8000).includes(0)) {
			result.skipped.push({ file: rel, reason: 'binary (NUL bytes)' });
			return;
		}
		result.sources.push({ file: rel, read: () => readText(abs) });
	};

	// .c files that do not mention the gpc API, by directory: the neighbours of gpc files
	// are read for their call graph only (may-sleep summaries), never analysed.
	const others = new Map<string, { abs: string; rel: string }[]>();
	const st = statSync(rootReal);
	if (st.isFile()) {
		const name = rootReal.split(sep).pop()!;
		result.root = rootReal.slice(0, rootReal.length - name.length - 1) || sep;
		consider(rootReal, name);
		return result;
	}
	const walk = (dir: string) => {
		let entries;
		try {
			entries = readdirSync(dir, { withFileTypes: true });
		} catch (e) {
			result.skipped.push({ file: relative(rootReal, dir) || '.', reason: `unreadable directory: ${(e as Error).message}` });
			return;
		}
		entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
		for (const entry of entries) {
			const abs = join(dir, entry.name);
			// Symlinks are never followed: they may leave the root.
			if (entry.isSymbolicLink()) continue;
			if (entry.isDirectory()) {
				if (!SKIP_DIRS.has(entry.name)) walk(abs);
			} else if (entry.isFile()) {
				consider(abs, relative(rootReal, abs).split(sep).join('/'));
			}
		}
	};
	walk(rootReal);
	const gpcDirs = new Set(result.sources.filter((s) => s.file.endsWith('.c')).map((s) => dirname(s.file)));
	for (const dir of gpcDirs) {
		for (const n of others.get(dir) ?? []) result.sources.push({ file: n.rel, read: () => readText(n.abs), summariesOnly: true });
	}
	return result;
}

/** Reads a file as text; invalid UTF-8 is decoded loss-tolerantly (latin1) so offsets stay byte-stable. */
export function readText(abs: string): string {
	const bytes = readFileSync(abs);
	const text = bytes.toString('utf8');
	return text.includes('\uFFFD') ? bytes.toString('latin1') : text;
}

/** Whether a path exists and is not a symlink (used by the CLI to validate its arguments). */
export function isPlainPath(p: string): boolean {
	try {
		return !lstatSync(p).isSymbolicLink();
	} catch {
		return false;
	}
}


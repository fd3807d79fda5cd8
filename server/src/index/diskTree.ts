// A kernel tree on disk as the rewrite sees it: the prefiltered gpc files,
// plus a whole-tree search for the callers and prototypes of a function that
// loses a parameter (kvm_main.c, kvm_mm.h do not mention the gpc API).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanTree } from './scan';
import { walkSources } from './walk';
import type { FileSource } from '../usage/files';

/** The index walker's skipped directories (index/walk.ts), for grep. */
const SKIP_DIRS = new Set(['.git', 'node_modules', '.pc', '.tmp_versions']);

export interface DiskTree {
	root: string;
	sources: FileSource[];
	grep(names: string[]): FileSource[];
	encodingOf(file: string): BufferEncoding;
}

export interface DiskTreeOptions {
	/** An open document's text (and tree), which wins over the disk. */
	override?(file: string): Omit<FileSource, 'file'> | undefined;
	/** The gpc files, when an analysis already knows them (else the tree is scanned). */
	files?: readonly string[];
}

export function diskTree(path: string, options: DiskTreeOptions = {}): DiskTree {
	const scan = options.files ? undefined : scanTree(path);
	const root = scan?.root ?? path;
	const overrides = { get: (file: string) => options.override?.(file) };
	const encodings = new Map<string, BufferEncoding>();
	const texts = new Map<string, string>();
	const source = (file: string): FileSource => {
		const open = overrides.get(file);
		if (open) return { file, read: open.read, tree: open.tree };
		return {
			file,
			read: () => {
				let text = texts.get(file);
				if (text === undefined) {
					const bytes = readFileSync(join(root, file));
					text = bytes.toString('utf8');
					// Invalid UTF-8 is kept byte for byte (and written back the same way).
					const encoding: BufferEncoding = text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(bytes) ? 'latin1' : 'utf8';
					if (encoding === 'latin1') text = bytes.toString('latin1');
					encodings.set(file, encoding);
					texts.set(file, text);
				}
				return text;
			},
		};
	};
	const sources = (options.files ?? scan!.sources.filter((s) => !s.summariesOnly).map((s) => s.file)).map(source);
	let all: string[] | undefined;
	return {
		root,
		sources,
		grep(names) {
			if (!names.length) return [];
			const re = new RegExp(`\\b(?:${names.join('|')})\\b`);
			// GNU grep reads a kernel tree several times faster than a walk in JavaScript.
			const found = systemGrep(root, names);
			if (found) return found.filter((f) => !overrides.get(f) || re.test(overrides.get(f)!.read())).map(source);
			all ??= cFiles(root);
			const hits: FileSource[] = [];
			for (const file of all) {
				const open = overrides.get(file);
				const text = open ? open.read() : readFileSync(join(root, file), 'latin1');
				if (re.test(text)) hits.push(source(file));
			}
			return hits;
		},
		encodingOf: (file) => encodings.get(file) ?? 'utf8',
	};
}

/** Root-relative .c/.h files naming one of `names`, by `grep -r` (symlinks not followed); undefined without grep. */
function systemGrep(root: string, names: string[]): string[] | undefined {
	const r = spawnSync('grep', ['-rlwE', `(${names.join('|')})`, '--include=*.c', '--include=*.h', ...[...SKIP_DIRS].map((d) => `--exclude-dir=${d}`), '.'], {
		cwd: root, encoding: 'utf8', maxBuffer: 256 << 20,
	});
	if (r.error || (r.status !== 0 && r.status !== 1)) return undefined;
	return r.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^\.\//, '')).sort();
}

/**
 * Every .c/.h under root (root-relative, sorted), symlinks not followed. Like the grep
 * above, .gitignore is not honoured: a caller in an ignored file still needs the rewrite.
 */
function cFiles(root: string): string[] {
	const out: string[] = [];
	for (const batch of walkSources(root, { gitignore: false }, () => undefined)) for (const e of batch) out.push(e.rel);
	return out.sort();
}

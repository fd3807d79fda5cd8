// A kernel tree on disk as the rewrite sees it: the gpc files (the index's
// prefilter), plus a whole-tree search for the callers and prototypes of a
// function that loses a parameter (kvm_main.c, kvm_mm.h do not mention the gpc API).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileSource } from '../usage/files';
import { indexTree } from './indexer';
import { TreeSearch } from './search';

export interface DiskTree {
	root: string;
	sources: FileSource[];
	/** Files of the whole tree that name one of `names` (open documents by their text). */
	search(names: string[]): Promise<FileSource[]>;
	encodingOf(file: string): BufferEncoding;
	/** Stops the search's workers. */
	dispose(): Promise<void>;
}

export interface DiskTreeOptions {
	/** An open document's text (and tree), which wins over the disk. */
	override?(file: string): Omit<FileSource, 'file'> | undefined;
	/** The gpc files, root-relative. */
	files: readonly string[];
	/** Threads for the search; default the number of cores. */
	jobs?: number;
}

/** The gpc files of the tree at `path` and its real root, as the index selects them. */
export async function gpcFilesOf(path: string): Promise<{ root: string; files: string[] }> {
	const index = await indexTree(path, { filesOnly: true });
	return { root: index.root, files: index.sources.filter((s) => !s.summariesOnly).map((s) => s.file) };
}

export function diskTree(root: string, options: DiskTreeOptions): DiskTree {
	const overrides = { get: (file: string) => options.override?.(file) };
	const encodings = new Map<string, BufferEncoding>();
	const texts = new Map<string, string>();
	const searcher = new TreeSearch(root, options.jobs);
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
	return {
		root,
		sources: options.files.map(source),
		async search(names) {
			if (!names.length) return [];
			const re = new RegExp(`\\b(?:${names.join('|')})\\b`);
			const opened = new Set<string>();
			const onDisk = await searcher.search(names, (file) => !!overrides.get(file) && !!opened.add(file));
			const inEditor = [...opened].filter((file) => re.test(overrides.get(file)!.read()));
			return [...onDisk, ...inEditor].sort().map(source);
		},
		encodingOf: (file) => encodings.get(file) ?? 'utf8',
		dispose: () => searcher.dispose(),
	};
}

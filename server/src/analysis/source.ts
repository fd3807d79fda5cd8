// What the engine analyses: the files of a tree, read on demand.
import type { Tree } from '../parse/parser';
import type { FileFacts } from './facts';

export interface SourceFile {
	/** Path relative to the analysed root, with forward slashes. */
	file: string;
	/** Read on demand so that a whole tree is never held in memory. */
	read(): string;
	/** An up-to-date tree the caller owns (an open document's); the engine never deletes it. */
	tree?(): Tree | undefined;
	/** Only its call graph is needed (a neighbour of a gpc file, for may-sleep summaries). */
	summariesOnly?: boolean;
	/** Pass-1 facts computed earlier for this exact text (an on-disk cache, a worker). */
	facts?: FileFacts;
}

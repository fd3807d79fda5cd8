// The usage plan's per-file parts, remembered across analyses: a part is reused
// while its file's text and what the rest of the tree told it (its context, as
// a string) are the same, so an edit re-plans the edited file and the join;
// within that file, only the functions whose text changed.
// Parts hold no SyntaxNode (trees are deleted after each plan) and are never
// mutated by the join.
import type { UsageFile } from './files';

interface Part {
	text: string;
	context: string;
	value: unknown;
}

export class UsagePlanMemo {
	/** `${stage}\0${file}` → the latest part (one per file and stage: the edited file misses anyway). */
	private readonly parts = new Map<string, Part>();
	/** `${stage}\0${file}` → the parts of the file's functions by their text, and the context they were planned in. */
	private readonly functions = new Map<string, { context: string; parts: Map<string, unknown> }>();

	part<T>(stage: string, f: UsageFile, context: string, compute: () => T): T {
		const key = `${stage}\0${f.file}`;
		const known = this.parts.get(key);
		if (known && known.context === context && known.text === f.text) return known.value as T;
		const value = compute();
		this.parts.set(key, { text: f.text, context, value });
		return value;
	}

	/**
	 * Parts of a file's functions, by their text: those of the file's previous version
	 * (in the same context) are reused, the others computed. Call once per planning of the file.
	 */
	byFunction<T>(stage: string, f: UsageFile, context: string): (text: string, compute: () => T) => T {
		const key = `${stage}\0${f.file}`;
		const known = this.functions.get(key);
		const previous = known?.context === context ? known.parts : new Map<string, unknown>();
		const parts = new Map<string, unknown>();
		this.functions.set(key, { context, parts });
		return (text, compute) => {
			const value = (previous.get(text) ?? parts.get(text) ?? compute()) as T;
			parts.set(text, value);
			return value;
		};
	}

	/** Forgets files the last plan did not read. */
	retain(files: ReadonlySet<string>): void {
		for (const map of [this.parts, this.functions]) {
			for (const key of map.keys()) if (!files.has(key.slice(key.indexOf('\0') + 1))) map.delete(key);
		}
	}
}

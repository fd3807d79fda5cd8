// The usage plan's per-file parts, remembered across analyses: a part is reused
// while its file's text and what the rest of the tree told it (its context, as
// a string) are the same, so an edit re-plans the edited file and the join.
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

	part<T>(stage: string, f: UsageFile, context: string, compute: () => T): T {
		const key = `${stage}\0${f.file}`;
		const known = this.parts.get(key);
		if (known && known.context === context && known.text === f.text) return known.value as T;
		const value = compute();
		this.parts.set(key, { text: f.text, context, value });
		return value;
	}

	/** Forgets files the last plan did not read. */
	retain(files: ReadonlySet<string>): void {
		for (const key of this.parts.keys()) if (!files.has(key.slice(key.indexOf('\0') + 1))) this.parts.delete(key);
	}
}

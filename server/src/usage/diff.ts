// From a plan to file contents, unified diffs (`git apply` takes them) and
// LSP text edits (whole-line hunks).
import { diffArrays, FILE_HEADERS_ONLY, formatPatch, structuredPatch } from 'diff';
import type { Range } from '../analysis/findings';
import { rowAt } from '../parse/positions';
import { render } from './layout';
import type { Refusal, UsagePlan } from './plan';

export interface FileChange {
	file: string;
	before: string;
	after: string;
	/** Groups with edits in this file. */
	groups: string[];
}

export interface Rendering {
	changes: FileChange[];
	/** Edits that overlap: the plan cannot be applied as it is. */
	conflicts: Refusal[];
}

/** New contents of every file the selected groups touch (all groups when `selected` is absent). */
export function renderPlan(plan: UsagePlan, selected?: (group: string) => boolean): Rendering {
	const byFile = new Map<string, UsagePlan['edits']>();
	for (const e of plan.edits) {
		if (selected && !selected(e.group)) continue;
		const list = byFile.get(e.file) ?? [];
		list.push(e);
		byFile.set(e.file, list);
	}
	const changes: FileChange[] = [];
	const conflicts: Refusal[] = [];
	for (const [file, edits] of [...byFile].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
		const before = plan.texts.get(file)!;
		const out = render(before, edits);
		for (const [a] of out.conflicts) {
			conflicts.push({ file, line: rowAt(before, a.start), message: 'two rewrites of this region overlap; edit it by hand' });
		}
		if (out.text !== before) changes.push({ file, before, after: out.text, groups: [...new Set(edits.map((e) => e.group))] });
	}
	return { changes, conflicts };
}

/** A patch with `a/` and `b/` prefixes, paths relative to the tree: `git apply` (or `patch -p1`) in the tree. */
export function unifiedDiff(changes: readonly FileChange[]): string {
	return changes
		.map((c) => {
			const patch = structuredPatch(`a/${c.file}`, `b/${c.file}`, c.before, c.after, undefined, undefined, { context: 3 });
			return `diff --git a/${c.file} b/${c.file}\n${formatPatch(patch, FILE_HEADERS_ONLY)}`;
		})
		.join('');
}

export interface LineEdit {
	range: Range;
	newText: string;
}

/** Whole-line replacements turning `before` into `after`, as few as the line diff allows. */
export function lineEdits(before: string, after: string): LineEdit[] {
	const a = before.split('\n');
	const b = after.split('\n');
	const out: LineEdit[] = [];
	let oldLine = 0;
	let pending: { start: number; end: number; lines: string[] } | undefined;
	const flush = () => {
		if (!pending) return;
		// Replace [start, end) whole lines; at the end of a file without a final newline, by character.
		const atEnd = pending.end >= a.length;
		const range: Range = atEnd
			? { start: { line: pending.start, character: 0 }, end: { line: a.length - 1, character: a[a.length - 1].length } }
			: { start: { line: pending.start, character: 0 }, end: { line: pending.end, character: 0 } };
		const text = pending.lines.join('\n');
		out.push({ range, newText: atEnd ? text : pending.lines.length ? text + '\n' : '' });
		pending = undefined;
	};
	for (const part of diffArrays(a, b)) {
		if (!part.added && !part.removed) {
			flush();
			oldLine += part.value.length;
			continue;
		}
		pending ??= { start: oldLine, end: oldLine, lines: [] };
		if (part.removed) {
			oldLine += part.value.length;
			pending.end = oldLine;
		} else pending.lines.push(...part.value);
	}
	flush();
	return out;
}

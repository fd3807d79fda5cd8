// Kernel layout for the rewrite: argument and parameter lists re-flowed the
// way a kernel developer re-wraps them after dropping items (fill to 80
// columns, continuation lines indented as the original ones were), and the
// blank lines a deletion leaves behind tidied up.
import type { SyntaxNode } from '../parse/parser';
import { columns, indentTo, isBlank, MAX_COLUMNS } from './syntax';
import { lineEndIncl, lineStart, rowAt } from '../parse/positions';
import { listItems } from '../parse/nodes';

/**
 * The new text of `list` (from its `(` to its `)`) without the `drop` items,
 * or undefined when the list cannot be laid out (a `\` continuation).
 * The original line breaks stay when the list needs no more lines that way
 * than re-filled (the smaller diff); otherwise the list is re-filled.
 */
export function relayoutList(text: string, list: SyntaxNode, drop: ReadonlySet<number>): string | undefined {
	const items = listItems(list);
	const kept = items.filter((_, i) => !drop.has(i));
	const body = text.slice(list.startIndex, list.endIndex);
	if (/\\\n/.test(body)) return undefined;
	if (!kept.length) return list.type === 'parameter_list' ? '(void)' : '()';
	const inPlace = removeInPlace(text, list, items, drop);
	const hasComments = list.namedChildren.some((c) => c?.type === 'comment');
	if (hasComments || kept.some((k) => k.text.includes('\n'))) return inPlace;

	const prefix = text.slice(lineStart(text, list.startIndex), list.startIndex);
	// What follows `)` on its line counts against the last line (`;`, `) {`), a trailing comment does not.
	const suffix = text.slice(list.endIndex, lineEndIncl(text, list.endIndex)).replace(/\n$/, '').replace(/\s*(\/\*.*\*\/|\/\/.*)\s*$/, '');
	const refilled = refill(text, list, items, kept, prefix + '(', suffix);
	const fits = (prefix + inPlace + suffix).split('\n').every((l) => columns(l) <= MAX_COLUMNS);
	return fits && inPlace.split('\n').length <= refilled.split('\n').length ? inPlace : refilled;
}

/** Fills lines up to 80 columns, continuation lines indented like the original ones. */
function refill(text: string, list: SyntaxNode, items: SyntaxNode[], kept: SyntaxNode[], prefix: string, suffix: string): string {
	const texts = kept.map((k) => k.text);
	const lines = items.map((i) => i.startPosition.row);
	const originalRows = new Set(lines);
	const continuation = continuationIndent(text, list, items) ?? indentTo(columns(prefix));

	// One item per line stays one item per line.
	const onePerLine = items.length >= 3 && originalRows.size === items.length;
	const out: string[] = [];
	let line = prefix + texts[0];
	for (let i = 1; i < texts.length; i++) {
		const last = i === texts.length - 1;
		const candidate = `${line}, ${texts[i]}`;
		const width = columns(candidate + (last ? ')' + suffix : ','));
		if (!onePerLine && width <= MAX_COLUMNS) line = candidate;
		else {
			out.push(line + ',');
			line = continuation + texts[i];
		}
	}
	out.push(line + ')');
	return out.join('\n').slice(prefix.length - 1);
}

/** The indentation of the original continuation lines, if the list had any. */
function continuationIndent(text: string, list: SyntaxNode, items: SyntaxNode[]): string | undefined {
	const openRow = list.startPosition.row;
	const next = items.find((i) => i.startPosition.row > openRow);
	if (!next) return undefined;
	const start = lineStart(text, next.startIndex);
	const indent = text.slice(start, next.startIndex);
	return indent.trim() === '' ? indent : undefined;
}

/**
 * Drops items where they are, keeping every other line as it was (the smaller
 * diff; the only layout for lists with comments or items that span lines): an
 * item and its comma go, a line left empty goes, and a last item takes the
 * comma before it along.
 */
function removeInPlace(text: string, list: SyntaxNode, items: SyntaxNode[], drop: ReadonlySet<number>): string {
	const base = list.startIndex;
	const cuts: [number, number][] = [];
	let lastKept = -1;
	for (let i = 0; i < items.length; i++) if (!drop.has(i)) lastKept = i;
	for (let i = 0; i < items.length; i++) {
		if (!drop.has(i)) continue;
		const item = items[i];
		if (i > lastKept) {
			// A trailing run: from the end of the last kept item.
			const from = lastKept >= 0 ? items[lastKept].endIndex : list.startIndex + 1;
			cuts.push([from, items[items.length - 1].endIndex]);
			break;
		}
		const next = items[i + 1];
		const sameLine = next.startPosition.row === item.endPosition.row;
		if (sameLine) cuts.push([item.startIndex, next.startIndex]);
		else {
			// Last on its line: take the blank before it too, and the comma after it.
			const comma = text.indexOf(',', item.endIndex);
			let from = item.startIndex;
			while (from > base && (text[from - 1] === ' ' || text[from - 1] === '\t')) from--;
			cuts.push([from, comma + 1]);
		}
	}
	let out = '';
	let at = list.startIndex;
	for (const [s, e] of cuts.sort((a, b) => a[0] - b[0])) {
		out += text.slice(at, Math.max(at, s));
		at = Math.max(at, e);
	}
	out += text.slice(at, list.endIndex);
	// Lines that only held dropped items go, and nothing is left trailing.
	const prefix = text.slice(lineStart(text, list.startIndex), list.startIndex);
	const lines = (prefix + out).split('\n');
	const keptLines = lines.filter((l, i) => i === 0 || !isBlank(l)).map((l) => l.replace(/[ \t]+$/, ''));
	return keptLines.join('\n').slice(prefix.length);
}

export interface Edit {
	start: number;
	end: number;
	text: string;
	/** Removes whole lines: the blank lines around it are tidied. */
	lines?: boolean;
}

export interface Rendered {
	text: string;
	/** Edits that overlap another (not applied). */
	conflicts: [Edit, Edit][];
}

/** Applies non-overlapping edits (overlapping pure deletions merge), then tidies blank lines. */
export function render(text: string, edits: readonly Edit[]): Rendered {
	const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
	const merged: Edit[] = [];
	const conflicts: [Edit, Edit][] = [];
	for (const e of sorted) {
		const prev = merged[merged.length - 1];
		if (prev && e.start < prev.end) {
			if (prev.text === '' && e.text === '') {
				prev.end = Math.max(prev.end, e.end);
				prev.lines = prev.lines || e.lines;
			} else if (!(prev.start === e.start && prev.end === e.end && prev.text === e.text)) conflicts.push([prev, e]);
			continue;
		}
		merged.push({ ...e });
	}
	let out = '';
	let at = 0;
	const points: number[] = [];
	for (const e of merged) {
		out += text.slice(at, e.start);
		if (e.lines && e.text === '') points.push(out.length);
		out += e.text;
		at = e.end;
	}
	out += text.slice(at);
	return { text: tidy(out, points), conflicts };
}

/**
 * Where whole lines were deleted: no two blank lines in a row, no blank line
 * right after `{` or right before `}`.
 */
function tidy(text: string, points: number[]): string {
	if (!points.length) return text;
	const lines = text.split('\n');
	const rows = [...new Set(points.map((p) => rowAt(text, p)))].sort((a, b) => b - a);
	for (let row of rows) {
		// Descending, so a line removed here never shifts a row still to come.
		for (;;) {
			const prev = lines[row - 1];
			const cur = lines[row];
			if (prev === undefined || cur === undefined || (row === lines.length - 1 && cur === '')) break;
			if (isBlank(prev) && /^\s*\}/.test(cur)) {
				lines.splice(row - 1, 1);
				row--;
			} else if ((isBlank(prev) || /\{\s*$/.test(prev)) && isBlank(cur)) {
				lines.splice(row, 1);
			} else break;
		}
	}
	return lines.join('\n');
}

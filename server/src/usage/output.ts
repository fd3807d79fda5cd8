// What a plan says about one file, and the helpers that say it: the edits,
// the reports (findings), the refusals, and the text they remove.
import type { Range } from '../analysis/findings';
import type { SyntaxNode } from '../parse/parser';
import type { UsageFile } from './files';
import { endsLine, startsLine } from './syntax';
import { lineEndIncl, lineStart, rowAt } from '../parse/positions';

export type GroupKind = 'call' | 'prototype' | 'definition' | 'function' | 'field' | 'enum';

export interface Group {
	id: string;
	kind: GroupKind;
	title: string;
}

export interface PlannedEdit {
	file: string;
	start: number;
	end: number;
	text: string;
	group: string;
	/** Removes whole lines: the blank lines around it are tidied. */
	lines?: boolean;
}

export interface Report {
	file: string;
	range: Range;
	message: string;
	group: string;
}

export interface Refusal {
	file: string;
	/** 0-based. */
	line: number;
	message: string;
}

/** One step of the plan in one file, in the order it was planned. */
export interface FilePart {
	/** Each group the step used, first use first (the plan keeps the first title of an id). */
	groups: Group[];
	edits: PlannedEdit[];
	reports: Report[];
	refusals: Refusal[];
	/** Removed text [start, end), to tell what is still referenced. */
	removed: [number, number][];
}

export function emptyPart(): FilePart {
	return { groups: [], edits: [], reports: [], refusals: [], removed: [] };
}

export function group(out: FilePart, id: string, kind: GroupKind, title: string): void {
	if (!out.groups.some((g) => g.id === id)) out.groups.push({ id, kind, title });
}

export function edit(out: FilePart, f: UsageFile, start: number, end: number, text: string, groupId: string, lines = false): void {
	out.edits.push({ file: f.file, start, end, text, group: groupId, lines: lines || undefined });
	if (text === '') markRemoved(out, start, end);
}

export function markRemoved(out: FilePart, start: number, end: number): void {
	out.removed.push([start, end]);
}

export function isRemoved(out: FilePart, n: SyntaxNode): boolean {
	return out.removed.some(([s, e]) => n.startIndex >= s && n.endIndex <= e);
}

/** Deletes a statement with its own lines and the comment right above it. */
export function deleteStatement(out: FilePart, f: UsageFile, s: SyntaxNode, groupId: string, endIndex = s.endIndex): void {
	const text = f.text;
	if (startsLine(text, s.startIndex) && endsLine(text, endIndex)) {
		let start = lineStart(text, s.startIndex);
		const above = s.previousNamedSibling;
		if (above?.type === 'comment' && above.endPosition.row === s.startPosition.row - 1 && startsLine(text, above.startIndex)) {
			start = lineStart(text, above.startIndex);
		}
		edit(out, f, start, lineEndIncl(text, endIndex), '', groupId, true);
	} else {
		let end = endIndex;
		while (text[end] === ' ' || text[end] === '\t') end++;
		edit(out, f, s.startIndex, end, '', groupId);
	}
}

export function report(out: FilePart, f: UsageFile, node: SyntaxNode, message: string, groupId: string): void {
	out.reports.push({ file: f.file, range: firstLine(node), message, group: groupId });
}

/** On the `if` line: from `if` to the end of the condition (or of its first line). */
export function reportLine(out: FilePart, f: UsageFile, s: SyntaxNode, cond: SyntaxNode, message: string, groupId: string): void {
	out.reports.push({ file: f.file, range: span(s, cond), message, group: groupId });
}

export function refuse(out: FilePart, f: UsageFile, offset: number, message: string): void {
	out.refusals.push({ file: f.file, line: rowAt(f.text, offset), message });
}

export function where(f: UsageFile, offset: number): string {
	return `${f.file}:${rowAt(f.text, offset) + 1}`;
}

export function firstLine(node: SyntaxNode): Range {
	const nl = node.text.indexOf('\n');
	const start = { line: node.startPosition.row, character: node.startPosition.column };
	if (nl < 0) return { start, end: endOf(node) };
	// A CRLF line ends before its '\r' (LSP positions past it are outside the line).
	return { start, end: { line: start.line, character: start.character + (nl > 0 && node.text[nl - 1] === '\r' ? nl - 1 : nl) } };
}

/** From `a` to `b`, clipped to `a`'s line. */
export function span(a: SyntaxNode, b: SyntaxNode): Range {
	const start = { line: a.startPosition.row, character: a.startPosition.column };
	if (b.endPosition.row === a.startPosition.row) return { start, end: endOf(b) };
	return firstLine(a);
}

/** Where `node` ends, before a '\r' it ends with (an unterminated string takes in a CRLF line's '\r'). */
function endOf(node: SyntaxNode): { line: number; character: number } {
	const cr = node.endPosition.column > 0 && node.text.endsWith('\r') ? 1 : 0;
	return { line: node.endPosition.row, character: node.endPosition.column - cr };
}

export function oneLine(text: string): string {
	return text.replace(/\s+/g, ' ');
}

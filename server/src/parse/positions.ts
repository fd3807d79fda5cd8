// Positions: offsets, rows and ranges of a text as tree-sitter counts them (rows
// break at '\n' only, columns in UTF-16 code units, as web-tree-sitter indexes JS
// strings), and nodes detached from their tree.
//
// vscode-languageserver-textdocument does not fit here: it also breaks lines at a
// lone '\r', so its rows could differ from the tree's.
import type { Point } from './parser';

/** 0-based line and UTF-16 character, as LSP positions are. */
export interface Position {
	line: number;
	character: number;
}

export interface Range {
	start: Position;
	end: Position;
}

/** Where a node is, without its tree: what a range, a "line N" link and a site key need. */
export interface NodeSpan {
	readonly type: string;
	/** The node's text (a detached node keeps its first line only). */
	readonly text: string;
	readonly startIndex: number;
	readonly endIndex: number;
	readonly startPosition: Point;
	readonly endPosition: Point;
}

/**
 * The node's position, and its text up to the end of its first line (all that rangeOf()
 * and a "line N" link need), copied so that no file text is kept once the tree is deleted.
 */
export function detach(node: NodeSpan): NodeSpan {
	const text = node.text;
	const nl = text.indexOf('\n');
	const first = JSON.parse(JSON.stringify(nl < 0 ? text : text.slice(0, nl + 1))) as string;
	return { type: node.type, startIndex: node.startIndex, endIndex: node.endIndex, startPosition: node.startPosition, endPosition: node.endPosition, text: first };
}

/** `n` moved by `rows` and `offset` (its columns unchanged). */
export function movedSpan(n: NodeSpan, rows: number, offset: number): NodeSpan {
	return {
		type: n.type, text: n.text, startIndex: n.startIndex + offset, endIndex: n.endIndex + offset,
		startPosition: { row: n.startPosition.row + rows, column: n.startPosition.column },
		endPosition: { row: n.endPosition.row + rows, column: n.endPosition.column },
	};
}

/** A node's range; a node over several lines is cut at the end of its first (the editor underlines that). */
export function rangeOf(node: NodeSpan): Range {
	const end = node.startPosition.row === node.endPosition.row ? node.endPosition : { row: node.startPosition.row, column: node.startPosition.column + firstLineLength(node) };
	return {
		start: { line: node.startPosition.row, character: node.startPosition.column },
		end: { line: end.row, character: end.column },
	};
}

function firstLineLength(node: NodeSpan): number {
	const nl = node.text.indexOf('\n');
	// A CRLF line ends before its '\r' (LSP positions past it are outside the line).
	return nl < 0 ? node.text.length : nl > 0 && node.text[nl - 1] === '\r' ? nl - 1 : nl;
}

/** The 0-based row of `offset`: the newlines before it. */
export function rowAt(text: string, offset: number): number {
	let row = 0;
	for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) row++;
	return row;
}

/** The row and column of `offset`. */
export function pointAt(text: string, offset: number): Point {
	let row = 0;
	let lineStart = 0;
	for (let nl = text.indexOf('\n'); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
		row++;
		lineStart = nl + 1;
	}
	return { row, column: offset - lineStart };
}

/** The offset of a position; a character past its line's end stops at the line's end, a line past the text at its end. */
export function offsetAt(text: string, pos: Position): number {
	let offset = 0;
	for (let line = 0; line < pos.line; line++) {
		const nl = text.indexOf('\n', offset);
		if (nl < 0) return text.length;
		offset = nl + 1;
	}
	const lineEnd = text.indexOf('\n', offset);
	const max = lineEnd < 0 ? text.length : lineEnd;
	return Math.min(offset + pos.character, max);
}

/** The offset where the line holding `offset` starts. */
export function lineStart(text: string, offset: number): number {
	return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset just past the newline that ends the line holding `offset` (or the text end). */
export function lineEndIncl(text: string, offset: number): number {
	const nl = text.indexOf('\n', offset);
	return nl < 0 ? text.length : nl + 1;
}

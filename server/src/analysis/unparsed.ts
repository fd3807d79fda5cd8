// gpc code tree-sitter could not parse. Findings are never reported from inside
// ERROR regions, so a function that uses the gpc API with an ERROR region over its
// body is not (all) analysed: the engine says so, once per file (code gpc-unparsed,
// a notice, not a rule of the catalogue).
import type { FileFacts } from './facts';
import type { FilePass } from './filePass';
import type { Range, UnparsedNotice } from './findings';
import type { FileOutline } from './outline';
import { GPC_API_MENTION } from '../vocabulary';

/** A function of `outline` that uses the gpc API and overlaps an ERROR region. */
export interface UnparsedFunction {
	name: string;
	row: number;
	range: Range;
}

/**
 * The file's functions that use the gpc API with an ERROR region over their body. An
 * annotation in the header (`__must_hold(&gpc->lock)`) is read from the text: only the body counts.
 */
export function unparsedFunctions(outline: FileOutline, text: string): UnparsedFunction[] {
	const out: UnparsedFunction[] = [];
	for (const fn of outline.functions) {
		if (!fn.name || !outline.errors.some(([s, e]) => s < fn.endIndex && e > fn.bodyIndex)) continue;
		if (GPC_API_MENTION.test(text.slice(fn.startIndex, fn.endIndex))) out.push({ name: fn.name, row: fn.startRow, range: nameRange(outline.lines, fn.startRow, fn.name) });
	}
	return out;
}

/** Where a function's name is, from the line its definition starts on (the type may be on a line of its own). */
function nameRange(lines: readonly string[], row: number, name: string): Range {
	const word = new RegExp(`\\b${name}\\b`);
	for (let r = row; r < Math.min(lines.length, row + 4); r++) {
		const m = word.exec(lines[r]);
		if (m) return { start: { line: r, character: m.index }, end: { line: r, character: m.index + name.length } };
	}
	return { start: { line: row, character: 0 }, end: { line: row, character: (lines[row] ?? '').length } };
}

/**
 * One notice per file whose gpc code tree-sitter could not (all) parse: functions that use the
 * API and overlap an ERROR region, and gpc calls that lie in no function (a definition the
 * parser lost).
 */
export function unparsedNotices(facts: readonly FileFacts[], passes: Map<string, FilePass>, linesOf: (file: string) => readonly string[]): UnparsedNotice[] {
	const notices: UnparsedNotice[] = [];
	for (const f of facts) {
		const functions = passes.get(f.file)?.unparsed ?? [];
		const orphans = f.apiCalls.filter((c) => !c.inFunction);
		if (!functions.length && !orphans.length) continue;
		const lines = linesOf(f.file);
		const orphanRange = (c: { name: string; line: number }): Range => {
			const at = Math.max(0, (lines[c.line] ?? '').indexOf(c.name));
			return { start: { line: c.line, character: at }, end: { line: c.line, character: at + c.name.length } };
		};
		const listed = [...functions.map((fn) => ({ name: `${fn.name}()`, line: fn.row })), ...orphans.map((c) => ({ name: `${c.name}() outside any function`, line: c.line }))];
		const names = listed.map((l) => `${l.name} (line ${l.line + 1})`);
		const what = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
		notices.push({
			file: f.file,
			range: functions[0]?.range ?? orphanRange(orphans[0]),
			functions: listed,
			message: `tree-sitter could not parse all of the gpc code here: ${what}. What it could not parse is not analysed: no finding there is no evidence that it is right.`,
		});
	}
	return notices;
}

// Edits that cannot change any finding: an edit confined to the body of a
// function that neither touches the gpc API nor calls a function that does,
// and whose pass-1 facts (callees, sleeps, calls with their arguments) are
// unchanged. Nothing depends on such a function but what those facts feed
// (may-sleep summaries, calling contexts), which stays the same, so the
// previous result stands with the positions below the edit moved. Most
// keystrokes in a large file like x86.c are such edits.
import type { EngineResult } from '../analysis/engine';
import { extractFacts, type FileFacts, type FunctionFacts } from '../analysis/facts';
import type { Range } from '../analysis/findings';
import { REGISTERS_IRQ_ENTRY } from '../analysis/entries';
import { enclosingDefinition } from '../parse/definitions';
import type { Tree } from '../parse/parser';

/** What a function's text must not mention for the shortcut (facts.ts's GPC_MENTION, usage flags, suppressions). */
const GPC_TEXT = /\b(gfn_to_pfn_cache|kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+|khva|pfn_cache_usage|KVM_(GUEST|HOST)_USES_PFN)\b|->lock\b|gpcscope-ignore/;

export interface LocalEdit {
	/** Rows after this one (in the old text) moved by `lineDelta`. */
	afterRow: number;
	lineDelta: number;
	/** The file's facts for the new text. */
	facts: FileFacts;
}

/** The changed span: [start, oldEnd) of the old text became [start, newEnd) of the new one. */
export function changedSpan(oldText: string, newText: string): { start: number; oldEnd: number; newEnd: number } {
	const min = Math.min(oldText.length, newText.length);
	let start = 0;
	while (start < min && oldText.charCodeAt(start) === newText.charCodeAt(start)) start++;
	let suffix = 0;
	while (suffix < min - start && oldText.charCodeAt(oldText.length - 1 - suffix) === newText.charCodeAt(newText.length - 1 - suffix)) suffix++;
	return { start, oldEnd: oldText.length - suffix, newEnd: newText.length - suffix };
}

/**
 * The edit from `oldText` (whose facts are `oldFacts`) to `newText` (parsed as `newTree`)
 * when it is confined to one irrelevant function; undefined otherwise. `users`: the
 * functions of the tree that use the gpc API.
 */
export function localEdit(file: string, oldText: string, oldFacts: FileFacts, newText: string, newTree: Tree, users: ReadonlySet<string>): LocalEdit | undefined {
	const { start, oldEnd, newEnd } = changedSpan(oldText, newText);
	if (start === oldEnd && start === newEnd) return undefined;
	const at = newTree.rootNode.descendantForIndex(start, Math.max(start, newEnd - 1));
	const fn = at && enclosingDefinition(at);
	const body = fn?.childForFieldName('body');
	// Strictly inside the braces: the header, and so the name and start row, are untouched.
	if (!fn || !body || start <= body.startIndex || newEnd >= body.endIndex || fn.hasError) return undefined;
	const delta = newText.length - oldText.length;
	const oldFnText = oldText.slice(fn.startIndex, fn.endIndex - delta);
	if (GPC_TEXT.test(oldFnText) || GPC_TEXT.test(newText.slice(fn.startIndex, fn.endIndex))) return undefined;
	// Registering an hrtimer or an interrupt handler changes the tree's hard-IRQ entry points.
	if (REGISTERS_IRQ_ENTRY.test(oldFnText) || REGISTERS_IRQ_ENTRY.test(newText.slice(fn.startIndex, fn.endIndex))) return undefined;
	const now = extractFacts(file, { rootNode: fn } as Tree).functions[0];
	const row = fn.startPosition.row;
	const before = oldFacts.functions.find((f) => f.line === row && f.name === now?.name);
	if (!now || !before || before.hasErrors || !sameSummary(before, now) || now.callees.some((c) => users.has(c))) return undefined;

	const afterRow = rowAt(oldText, oldEnd);
	const lineDelta = rowAt(newText, newEnd) - afterRow;
	return { afterRow, lineDelta, facts: shiftFacts(oldFacts, afterRow, lineDelta, now) };
}

/** The previous result with `file`'s positions below the edit moved. */
export function shiftResult(result: EngineResult, file: string, edit: LocalEdit): EngineResult {
	const moveRange = (f: string, r: Range): Range =>
		f !== file || r.start.line <= edit.afterRow || !edit.lineDelta
			? r
			: { start: { ...r.start, line: r.start.line + edit.lineDelta }, end: { ...r.end, line: r.end.line + edit.lineDelta } };
	const lifecycle = new Map([...result.lifecycle].map(([id, sites]) => [id, sites.map((s) => ({ ...s, range: moveRange(s.file, s.range) }))]));
	return {
		...result,
		findings: result.findings.map((f) => ({
			...f,
			range: moveRange(f.file, f.range),
			related: f.related.map((r) => ({ ...r, range: moveRange(r.file, r.range) })),
			...(f.fix ? { fix: { ...f.fix, edits: f.fix.edits.map((e) => ({ ...e, range: moveRange(f.file, e.range) })) } } : {}),
		})),
		facts: result.facts.map((f) => (f.file === file ? edit.facts : f)),
		lifecycle,
		unparsed: result.unparsed.map((n) => ({
			...n,
			range: moveRange(n.file, n.range),
			functions: n.functions.map((fn) => ({ ...fn, line: moveRange(n.file, { start: { line: fn.line, character: 0 }, end: { line: fn.line, character: 0 } }).start.line })),
		})),
	};
}

/** Functions that use the gpc API, by name, over all facts (a superset of the engine's: safe). */
export function gpcUsers(facts: readonly FileFacts[]): Set<string> {
	const users = new Set<string>();
	for (const f of facts) for (const fn of f.functions) if (fn.usesGpc) users.add(fn.name);
	return users;
}

/** Everything pass 1 knows about the function (callees, sleeps, calls with their arguments, ...) but where it and its calls are. */
function sameSummary(a: FunctionFacts, b: FunctionFacts): boolean {
	return JSON.stringify({ ...a, line: 0, callLines: [] }) === JSON.stringify({ ...b, line: 0, callLines: [] });
}

/** The old facts with rows below the edit moved, and the edited function's own (its calls may have moved within it). */
function shiftFacts(facts: FileFacts, afterRow: number, delta: number, edited: FunctionFacts): FileFacts {
	const line = (l: number) => (l > afterRow ? l + delta : l);
	const functions = facts.functions.map((f) => (f.line === edited.line && f.name === edited.name ? edited : delta ? { ...f, line: line(f.line), callLines: f.callLines?.map(line) } : f));
	if (!delta) return { ...facts, functions };
	return {
		...facts,
		declarations: facts.declarations.map((d) => ({ ...d, line: line(d.line) })),
		functions,
		...(facts.irqEntries ? { irqEntries: { timers: facts.irqEntries.timers.map((t) => ({ ...t, line: line(t.line) })), irqs: facts.irqEntries.irqs.map((r) => ({ ...r, line: line(r.line) })) } } : {}),
		apiCalls: facts.apiCalls.map((c) => ({ ...c, line: line(c.line) })),
		usageArguments: facts.usageArguments.map((u) => ({ ...u, line: line(u.line) })),
	};
}

function rowAt(text: string, offset: number): number {
	let row = 0;
	for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) row++;
	return row;
}

// Edits that cannot change any finding: an edit confined to the body of a
// function that neither touches the gpc API nor calls a function that does,
// and whose pass-1 facts (callees, sleeps, calls with their arguments) are
// unchanged. Nothing depends on such a function but what those facts feed
// (may-sleep summaries, calling contexts), which stays the same, so the
// previous result stands with the positions below the edit moved. Most
// keystrokes in a large file like x86.c are such edits.
import type { EngineResult } from '../analysis/engine';
import { factsUnder, type FileFacts, type FunctionFacts } from '../analysis/facts';
import type { Range } from '../analysis/findings';
import { REGISTERS_IRQ_ENTRY, type IrqEntries } from '../analysis/entries';
import { enclosingDefinition } from '../parse/definitions';
import { parseProblems, type SyntaxNode, type Tree } from '../parse/parser';
import { rowAt } from '../parse/positions';
import { changedSpan } from '../parse/spans';
import { GPC_IDENTIFIER, LOCK_MENTION } from '../vocabulary';

/** What a function's text must not mention for the shortcut (gpc identifiers, a lock through a pointer, suppressions). */
const GPC_TEXT = new RegExp(`${GPC_IDENTIFIER.source}|${LOCK_MENTION.source}|gpcscope-ignore`);

export interface LocalEdit {
	/** Rows after this one (in the old text) moved by `lineDelta`. */
	afterRow: number;
	lineDelta: number;
	/** The file's facts for the new text. */
	facts: FileFacts;
}

/** What pass-1 facts keep in a function's body beyond its own entry: local prototypes of the API, gpc fields, the usage enum. */
const FILE_LEVEL_IN_BODY = /\bgfn_to_pfn_cache\s+\w+\s*[;[]|\bpfn_cache_usage\s*\{/;

/**
 * The file's pass-1 facts after an edit confined to one function's body, from those before
 * it: that function's facts extracted again from the new tree, the file's other facts kept,
 * those below it moved. The same as extracting the whole file (property-tested), at the cost
 * of one function. Undefined when the edit is anywhere else: the caller extracts the file.
 */
export function editedFacts(file: string, oldText: string, oldFacts: FileFacts, newText: string, newTree: Tree): FileFacts | undefined {
	const { start, oldEnd, newEnd } = changedSpan(oldText, newText);
	if (start === oldEnd && start === newEnd) return oldFacts;
	let fn: SyntaxNode | null = newTree.rootNode.descendantForIndex(start, Math.max(start, newEnd - 1));
	while (fn && fn.type !== 'function_definition') fn = fn.parent;
	const body = fn?.childForFieldName('body');
	// Strictly inside the braces: the header, and so the name and start row, are untouched.
	if (!fn || !body || start <= body.startIndex || newEnd >= body.endIndex) return undefined;
	for (let p = fn.parent; p; p = p.parent) if (p.type === 'function_definition') return undefined;
	// Error recovery may reach past a declaration's end: the rest of the file parsed as it did
	// only if every parse problem (ERROR, MISSING, hidden code), before the edit and after it,
	// lies inside the function.
	// Where the old facts came from a whole-file extraction, their tree had to have none.
	const delta = newText.length - oldText.length;
	const errors = parseProblems(newTree.rootNode);
	if (!errors.every(([s, e]) => s >= fn!.startIndex && e <= fn!.endIndex)) return undefined;
	const oldErrors = parsedErrors.get(oldFacts);
	if (oldErrors ? !oldErrors.every(([s, e]) => s >= fn.startIndex && e <= fn.endIndex - delta) : oldFacts.errorNodes || oldFacts.functions.some((f) => f.hasErrors)) return undefined;
	// The function has its lines to itself: nothing of another declaration on its first or last line.
	const lineStart = newText.lastIndexOf('\n', fn.startIndex - 1) + 1;
	const lineEnd = newText.indexOf('\n', fn.endIndex);
	if (newText.slice(lineStart, fn.startIndex).trim() || newText.slice(fn.endIndex, lineEnd < 0 ? newText.length : lineEnd).trim()) return undefined;
	const oldFnText = oldText.slice(fn.startIndex, fn.endIndex - delta);
	const newFnText = newText.slice(fn.startIndex, fn.endIndex);
	if (FILE_LEVEL_IN_BODY.test(oldFnText) || FILE_LEVEL_IN_BODY.test(newFnText)) return undefined;
	// Whether the file names a gpc user outside a call is the file's.
	const otherUsers = new Set(oldFacts.functions.filter((f) => f.usesGpc && f.line !== fn.startPosition.row).map((f) => f.name));
	if (namesOutsideCall(oldFnText, otherUsers) || namesOutsideCall(newFnText, otherUsers)) return undefined;

	const first = fn.startPosition.row;
	const lineDelta = rowAt(newText, newEnd) - rowAt(oldText, oldEnd);
	const oldLast = fn.endPosition.row - lineDelta;
	const inside = (line: number) => line >= first && line <= oldLast;
	const now = functionFacts(file, fn, newText, newTree);
	if (now.functions.length !== 1 || now.gpcFields.length || now.hasUsageEnum) return undefined;
	const before = oldFacts.functions.filter((f) => inside(f.line));
	if (before.length !== 1 || before[0].line !== first || before[0].name !== now.functions[0].name) return undefined;
	// Declarations found inside it (its own, when it defines an API function) are those of its unchanged header.
	if (JSON.stringify(oldFacts.declarations.filter((d) => inside(d.line))) !== JSON.stringify(now.declarations)) return undefined;

	const line = (l: number) => (l > oldLast ? l + lineDelta : l);
	// Those below it move, with what else they say in lines (a function's call lines).
	const splice = <T extends { line: number }>(old: readonly T[], mine: readonly T[], move = (x: T): T => x): T[] => [
		...old.filter((x) => x.line < first),
		...mine,
		...old.filter((x) => x.line > oldLast).map((x) => (lineDelta ? move({ ...x, line: x.line + lineDelta }) : x)),
	];
	const facts = {
		...oldFacts,
		declarations: lineDelta ? oldFacts.declarations.map((d) => ({ ...d, line: line(d.line) })) : oldFacts.declarations,
		functions: splice(oldFacts.functions, now.functions, (f) => (f.callLines ? { ...f, callLines: f.callLines.map((l) => l + lineDelta) } : f)),
		apiCalls: splice(oldFacts.apiCalls, now.apiCalls),
		usageArguments: splice(oldFacts.usageArguments, now.usageArguments),
		// Every ERROR node of the file is in the function.
		errorNodes: now.errorNodes,
		irqEntries: splicedIrqEntries(oldFacts.irqEntries, now.irqEntries, first, oldLast, lineDelta),
	};
	if (!facts.irqEntries) delete facts.irqEntries;
	parsedErrors.set(facts, errors);
	return facts;
}

/** The file's hrtimer and IRQ registrations with those of the function on rows first..oldLast replaced by `mine`. */
function splicedIrqEntries(old: IrqEntries | undefined, mine: IrqEntries | undefined, first: number, oldLast: number, lineDelta: number): IrqEntries | undefined {
	const splice = <T extends { line: number }>(before: readonly T[], own: readonly T[]): T[] => [
		...before.filter((x) => x.line < first),
		...own,
		...before.filter((x) => x.line > oldLast).map((x) => (lineDelta ? { ...x, line: x.line + lineDelta } : x)),
	];
	const timers = splice(old?.timers ?? [], mine?.timers ?? []);
	const irqs = splice(old?.irqs ?? [], mine?.irqs ?? []);
	return timers.length || irqs.length ? { timers, irqs } : undefined;
}

/**
 * Whether `text` names one of `names` other than in a call (`name(`): a callback, an ops table
 * entry. Whether the file takes a gpc user's address is the file's fact (FunctionFacts.addressTaken).
 */
function namesOutsideCall(text: string, names: ReadonlySet<string>): boolean {
	for (const m of text.matchAll(/\w+/g)) {
		if (names.has(m[0]) && !/^\s*\(/.test(text.slice(m.index + m[0].length, m.index + m[0].length + 64))) return true;
	}
	return false;
}

/**
 * Pass-1 facts of one function of `tree` (whose text is `text`), as extracting them alone gives:
 * the shortcut (localEdit) and the facts of the edit (editedFacts) both ask, for the same tree.
 */
function functionFacts(file: string, fn: SyntaxNode, text: string, tree: Tree): FileFacts {
	const known = lastFunctionFacts.get(tree);
	if (known && known.id === fn.id && known.file === file) return known.facts;
	const facts = factsUnder(file, fn, GPC_IDENTIFIER.test(text), tree.rootNode);
	lastFunctionFacts.set(tree, { id: fn.id, file, facts });
	return facts;
}
const lastFunctionFacts = new WeakMap<Tree, { id: number; file: string; facts: FileFacts }>();

/** The parse problems of the tree that facts editedFacts() made were taken from: the next edit's "before". */
const parsedErrors = new WeakMap<FileFacts, [number, number][]>();

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
	if (namesOutsideCall(oldFnText, users) || namesOutsideCall(newText.slice(fn.startIndex, fn.endIndex), users)) return undefined;
	const now = functionFacts(file, fn, newText, newTree).functions[0];
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
		// The census's lines are not moved: the hover explains it again after the next analysis.
		notes: {},
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

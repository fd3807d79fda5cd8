// Pass 1: cheap per-file facts that cross-file reasoning needs before any
// function is analysed: API declarations (era), gpc-typed fields, the call
// graph with direct sleeping calls, and the gpc call-site census.
import type { SyntaxNode, Tree } from '../parse/parser';
import { ALL_GPC_FUNCTION_NAMES, ALLOCATORS, SLEEPING_GFP, SLEEPING_PRIMITIVES } from './api';
import { bindable, encodeCall } from './calls';
import { irqEntries, type IrqEntries } from './entries';
import { callArguments, calleeName } from '../parse/nodes';
import { declaratorName, functionDeclarator, functionName, isStatic, parameters, typeName } from '../parse/declarations';
import { GPC_API_MENTION, GPC_API_NAME, GPC_IDENTIFIER, LOCK_MENTION, USAGE_FLAG } from '../vocabulary';
import { enclosingDefinition, functionDefinitions } from '../parse/definitions';
import { opsTables, type OpsEntry } from './ops';

export interface ApiDeclaration {
	name: string;
	/** Parameter (type, name) pairs in order. */
	params: { type: string; name: string }[];
	file: string;
	line: number;
}

export interface FunctionFacts {
	name: string;
	file: string;
	line: number;
	/** Declared `static`: in a .c file, only that file's calls reach it. */
	isStatic: boolean;
	callees: string[];
	/** A sleeping primitive called directly, if any. */
	sleeps?: string;
	usesGpc: boolean;
	hasErrors: boolean;
	dropsCallerLock: boolean;
	/** Parameter names, in order. */
	params: string[];
	/** Every `return` returns one check call: `return kvm_gpc_check(gpc, len);` (a check wrapper). */
	returnsCheck?: { callee: string; args: string[] };
	/** The declared return type (`enum hrtimer_restart` marks an hrtimer callback). */
	returnType: string;
	/**
	 * Calls, for calling contexts, each encoded as a string (calls.ts): `callee`, or
	 * `callee(,RUNSTATE_runnable)` with the argument texts a context can bind and '' for the others.
	 */
	calls: string[];
	/** The row of each call of `calls` (its first occurrence): the call sites of a calling context's chain. */
	callLines?: number[];
	/**
	 * Only for gpc users: the file names the function other than by calling it (an ops table, a
	 * callback): then calls the tree cannot see may reach it, and no caller's lock is its entry state.
	 */
	addressTaken?: boolean;
	/** Names written like calls inside the function's ERROR regions ('*' when too many): calls pass 2 never sees. */
	unparsedCalls?: string[];
}

export interface UsageArgument {
	value: string;
	file: string;
	line: number;
	callee: string;
}

export interface FileFacts {
	file: string;
	declarations: ApiDeclaration[];
	/** Fields declared `struct gfn_to_pfn_cache name;`, with the struct that declares them. */
	gpcFields: { field: string; struct?: string }[];
	hasUsageEnum: boolean;
	functions: FunctionFacts[];
	/** Every call of a gpc API function, and whether it is inside a function definition. */
	apiCalls: { name: string; line: number; arity: number; inFunction: boolean }[];
	usageArguments: UsageArgument[];
	errorNodes: number;
	/** hrtimer and interrupt handler registrations (hard-IRQ entry points). */
	irqEntries?: IrqEntries;
	/** Vendor ops tables the file defines (`.prepare_switch_to_guest = vmx_prepare_switch_to_guest`), when it has any. */
	opsTables?: OpsEntry[];
}

export function extractFacts(file: string, tree: Tree): FileFacts {
	return factsUnder(file, tree.rootNode);
}

/**
 * The facts of what lies under `root`: a whole file's, or one function's when index/incremental.ts
 * re-extracts an edited function alone; `namesGpcApi` then says whether the whole file names
 * the gpc API (otherwise read from `root`).
 */
export function factsUnder(file: string, root: SyntaxNode, namesGpcApi?: boolean, fileRoot: SyntaxNode = root): FileFacts {
	const facts: FileFacts = {
		file, declarations: [], gpcFields: [], hasUsageEnum: false, functions: [], apiCalls: [], usageArguments: [], errorNodes: 0,
	};

	for (const decl of root.descendantsOfType(['declaration', 'field_declaration'])) {
		if (!decl) continue;
		const type = typeName(decl.childForFieldName('type'));
		for (const d of decl.childrenForFieldName('declarator')) {
			const fnDecl = functionDeclarator(d);
			if (fnDecl) {
				const name = declaratorName(fnDecl.childForFieldName('declarator'));
				if (name && ALL_GPC_FUNCTION_NAMES.has(name)) facts.declarations.push(declarationOf(name, fnDecl, file));
			} else if (type === 'gfn_to_pfn_cache' && decl.type === 'field_declaration') {
				const field = declaratorName(d);
				const owner = decl.parent?.parent;
				const struct = owner?.type === 'struct_specifier' ? owner.childForFieldName('name')?.text : undefined;
				if (field) facts.gpcFields.push({ field, struct });
			}
		}
	}
	for (const e of root.descendantsOfType('enum_specifier')) {
		if (e?.childForFieldName('name')?.text === 'pfn_cache_usage' && e.childForFieldName('body')) facts.hasUsageEnum = true;
	}
	facts.errorNodes = root.descendantsOfType('ERROR').length;
	const tables = opsTables(root);
	if (tables.length) facts.opsTables = tables;
	// `x->lock` may be a gpc's lock only in a file that names the gpc API: elsewhere it is one of
	// the kernel's thousands of other locks (`check --all-files` would analyse them all). Searched
	// for only when a function takes such a lock.
	let lockMayBeGpc: boolean | undefined = namesGpcApi;
	const usesGpc = (text: string) => GPC_API_MENTION.test(text) || (LOCK_MENTION.test(text) && (lockMayBeGpc ??= GPC_IDENTIFIER.test(root.text)));

	// Statements tree-sitter misread as definitions (`else list_for_each_entry(...) { }`) are not
	// functions: their calls are their function's.
	const definitions = functionDefinitions(root).map((fn) => ({ fn, fnDecl: functionDeclarator(fn.childForFieldName('declarator')) }));
	for (const [i, { fn, fnDecl }] of definitions.entries()) {
		const name = functionName(fn);
		if (!name) continue;
		if (fnDecl && ALL_GPC_FUNCTION_NAMES.has(name)) facts.declarations.push(declarationOf(name, fnDecl, file));
		// After a macro loop it misparsed, tree-sitter may nest the next functions inside this one:
		// their calls are theirs.
		const inner: SyntaxNode[] = [];
		for (let j = i + 1; j < definitions.length && definitions[j].fn.startIndex < fn.endIndex; j++) inner.push(definitions[j].fn);
		const calls = fn.descendantsOfType('call_expression').filter((c): c is SyntaxNode => !!c && !inner.some((d) => c.startIndex >= d.startIndex && c.startIndex < d.endIndex));
		const callees = new Set<string>();
		let sleeps: string | undefined;
		let firstLockOp: string | undefined;
		for (const call of calls) {
			const callee = calleeName(call);
			if (!callee) continue;
			callees.add(callee);
			if (!firstLockOp && /^(read|write)_(un)?lock|^lockdep_assert_held/.test(callee) && /->lock\b/.test(call.text)) firstLockOp = callee;
			if (!sleeps && SLEEPING_PRIMITIVES.has(callee)) sleeps = `${callee}()`;
			if (!sleeps && ALLOCATORS.test(callee) && callArguments(call).some((a) => SLEEPING_GFP.test(a.text))) sleeps = `${callee}(GFP_KERNEL)`;
		}
		// Entered with the caller's gpc lock held and dropping it (hva_to_pfn_retry): its sleeps
		// happen after the drop, so calling it under that lock is its contract, not a bug.
		const dropsCallerLock = !!firstLockOp && /unlock|lockdep_assert_held/.test(firstLockOp);
		const params = parameters(fnDecl).map((p) => p.name ?? '');
		const withArguments = callsWithArguments(calls, params);
		const user = usesGpc(fn.text);
		const unparsed = fn.hasError ? unparsedCalls(fn) : [];
		facts.functions.push({
			name, file, line: fn.startPosition.row, isStatic: isStatic(fn), callees: [...callees], sleeps, dropsCallerLock,
			params, returnsCheck: returnedCheck(fn),
			returnType: fn.childForFieldName('type')?.text ?? '', calls: withArguments.calls, callLines: withArguments.lines,
			usesGpc: user, hasErrors: fn.hasError,
			// Whether the file names it outside a call is the file's property, not the function's.
			...(user && isAddressTaken(fileRoot, name) ? { addressTaken: true } : {}),
			...(unparsed.length ? { unparsedCalls: unparsed } : {}),
		});
	}

	for (const call of root.descendantsOfType('call_expression')) {
		const callee = call && calleeName(call);
		if (!call || !callee || !GPC_API_NAME.test(callee)) continue;
		const args = callArguments(call);
		facts.apiCalls.push({ name: callee, line: call.startPosition.row, arity: args.length, inFunction: !!enclosingDefinition(call) });
		for (const a of args) {
			if (USAGE_FLAG.test(a.text)) {
				facts.usageArguments.push({ value: a.text.trim(), file, line: a.startPosition.row, callee });
			}
		}
	}
	const entries = irqEntries(root, root.text);
	if (entries) facts.irqEntries = entries;
	return detach(facts);
}

/**
 * Node texts are V8 slices of the whole file's text: facts that keep one keep the file. Copied
 * and interned, a tree's facts cost its identifiers, not its sources (`check --all-files` on
 * linux-6.12 ran out of heap holding 1.3 GB of text through them).
 */
const interned = new Map<string, string>();
function own(s: string): string {
	let copy = interned.get(s);
	if (copy === undefined) {
		if (interned.size > 1_000_000) interned.clear();
		copy = JSON.parse(JSON.stringify(s)) as string;
		interned.set(copy, copy);
	}
	return copy;
}

/**
 * Facts that crossed a thread or came from the cache's JSON: their strings are copies, one per
 * occurrence; interned, a whole tree's facts share one copy of each identifier.
 */
export function internFacts(facts: FileFacts): FileFacts {
	return detach(facts);
}

function detach<T>(value: T): T {
	if (typeof value === 'string') return own(value) as T;
	if (Array.isArray(value)) return value.map(detach) as T;
	if (value && typeof value === 'object') {
		const out: Record<string, unknown> = {};
		for (const [k, v] of Object.entries(value)) out[k] = detach(v);
		return out as T;
	}
	return value;
}

const MAX_UNPARSED_CALLS = 64;
const CALL_LIKE = /\b([A-Za-z_]\w*)\s*\(/g;

/** Names followed by `(` in the function's ERROR regions. */
function unparsedCalls(fn: SyntaxNode): string[] {
	const names = new Set<string>();
	for (const e of fn.descendantsOfType('ERROR')) {
		for (const m of e?.text.matchAll(CALL_LIKE) ?? []) names.add(m[1]);
		if (names.size > MAX_UNPARSED_CALLS) return ['*'];
	}
	return [...names];
}

/**
 * Whether the file names the function other than by calling, declaring or defining it
 * (`.prepare = helper`, `register(helper)`); comments do not count.
 */
function isAddressTaken(root: SyntaxNode, name: string): boolean {
	const text = root.text;
	for (const m of text.matchAll(new RegExp(`\\b${name}\\b`, 'g'))) {
		const at = root.startIndex + m.index;
		const node = root.descendantForIndex(at, at + name.length);
		if (!node || node.type === 'comment' || node.type === 'string_content' || node.type === 'string_literal') continue;
		if (node.type !== 'identifier') return true;
		const parent = node.parent;
		if (parent?.type === 'call_expression' && parent.childForFieldName('function')?.startIndex === node.startIndex) continue;
		if (parent?.type === 'function_declarator') continue;
		return true;
	}
	return false;
}

function declarationOf(name: string, fnDecl: SyntaxNode, file: string): ApiDeclaration {
	const params = parameters(fnDecl).map((p) => ({ type: p.type ?? '', name: p.name ?? '' }));
	return { name, params, file, line: fnDecl.startPosition.row };
}

/** The check call every return of the function returns, if they all return one. */
function returnedCheck(fn: SyntaxNode): { callee: string; args: string[] } | undefined {
	let found: { callee: string; args: string[] } | undefined;
	for (const ret of fn.descendantsOfType('return_statement')) {
		const value = ret?.namedChildren.find((c) => c?.type !== 'comment');
		const call = value?.type === 'call_expression' ? value : undefined;
		const callee = call && calleeName(call);
		if (!call || !callee || !/^(kvm_gpc_check|kvm_gfn_to_pfn_cache_check)$/.test(callee)) return undefined;
		const args = callArguments(call).map((a) => a.text.trim());
		if (found && (found.callee !== callee || found.args.join() !== args.join())) return undefined;
		found = { callee, args };
	}
	return found;
}

const MAX_CALLS_PER_FUNCTION = 256;

/**
 * The first MAX_CALLS_PER_FUNCTION calls, with only the arguments the calling-context search
 * can bind (never containing a comma), each distinct call once: the search would find nothing
 * new in a repeat. Objects with every argument text of a whole tree's calls cost gigabytes.
 */
function callsWithArguments(calls: readonly SyntaxNode[], params: string[]): { calls: string[]; lines: number[] } {
	const out = new Map<string, number>();
	let kept = 0;
	for (const call of calls) {
		const callee = calleeName(call);
		if (!callee) continue;
		if (kept++ >= MAX_CALLS_PER_FUNCTION) break;
		const args = callArguments(call).map((a) => {
			const text = a.text.replace(/\s+/g, ' ').trim().slice(0, 80);
			return bindable(text, params) ? text : '';
		});
		const encoded = encodeCall(callee, args);
		if (!out.has(encoded)) out.set(encoded, call.startPosition.row);
	}
	return { calls: [...out.keys()], lines: [...out.values()] };
}


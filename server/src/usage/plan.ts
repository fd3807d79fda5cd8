// The whole-tree removal of the usage machinery, planned as text edits on the
// original files and grouped so that one finding's quick fix, one file's
// fix-all and the tree-wide refactor all come from the same plan:
//   - the enum and the `usage`/`vcpu` fields of struct gfn_to_pfn_cache;
//   - the usage (and vCPU) parameters of every function that takes one, in
//     prototypes, definitions and kernel-doc, and the arguments at every call;
//   - in function bodies, usage tests folded to constants (the guest branch
//     goes, the host branch stays, un-indented), the usage WARN_ON_ONCE()s and
//     field stores, then what only they kept alive: locals like `evict_vcpus`
//     and `vcpu_bitmap`, and parameters like `may_block` (with their
//     arguments at every call, in any file: the request plumbing).
// Anything it cannot account for is a refusal naming file:line, never a guess.
import { ALL_GPC_FUNCTION_NAMES, type ApiEra } from '../analysis/api';
import type { Range } from '../analysis/findings';
import { variableTypes } from '../analysis/flow';
import type { SyntaxNode } from '../parse/parser';
import { censusPhrase, HOST, takeCensus, usageFunctions, type UsageCensus, type UsageFunction } from './census';
import { evaluate, mentionsAtom, type EvalEnv } from './evaluate';
import { errorAt, nodesOf, type FileSource, type ParsedFiles, type UsageFile } from './files';
import { relayoutList } from './layout';
import {
	ancestor, calleeIdentifier, callsOf, declaredFunction, descendants, endsLine, identifiersNamed, isBlank, isInside, isUsageParam, isVcpuParam,
	lineEndIncl, lineStart, listItems, parametersOf, sideEffectFree, startsLine, unindent, USAGE_ENUM, USAGE_TEXT,
	type Param,
} from './syntax';

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

export interface UsagePlan {
	census: UsageCensus;
	groups: Map<string, Group>;
	edits: PlannedEdit[];
	reports: Report[];
	refusals: Refusal[];
	/** Original text of every parsed file. */
	texts: Map<string, string>;
}

export interface PlanOptions {
	era: ApiEra;
	/**
	 * Files of the whole tree that mention one of `names` (callers and
	 * prototypes of a function that loses a parameter). Without it only the
	 * given sources are searched, which is enough for findings.
	 */
	grep?(names: string[]): FileSource[];
	/** Findings only: skip what only the rewrite needs. */
	reportsOnly?: boolean;
}

interface Ctx {
	files: ParsedFiles;
	census: UsageCensus;
	plan: UsagePlan;
	/** Value every cache's usage has (every caller passes the host flag). */
	usageValue: number;
	members: Map<string, number>;
	/** Fields of struct gfn_to_pfn_cache that go: "usage" → the usage field, "vcpu". */
	removedFields: Set<string>;
	/** Names of struct members of type struct gfn_to_pfn_cache (typing `v->arch.pv_time.usage`). */
	gpcMembers: Set<string>;
	/** Removed text per file, to tell what is still referenced. */
	removed: Map<string, [number, number][]>;
	options: PlanOptions;
	mentionRe?: RegExp;
	types: Map<number, Map<string, string>>;
	/** Asked only once every file is added, so a count never goes stale. */
	paramCounts: Map<string, number | undefined>;
}

/** Function parameters to drop, everywhere the function is declared, defined and called. */
interface Drop {
	name: string;
	indexes: Set<number>;
	paramNames: Set<string>;
	usage: boolean;
}

export function planUsageRemoval(files: ParsedFiles, sources: readonly FileSource[], options: PlanOptions): UsagePlan {
	// The files that mention the machinery, then the callers of the usage functions.
	for (const s of sources) if (USAGE_TEXT.test(s.read())) files.add(s);
	// Only the usage functions' names are needed to find their callers: the sites come after.
	const functions = usageFunctions(files.all(), options.era);
	const callers = new RegExp(`\\b(?:${[...functions.keys()].join('|') || '(?!)'})\\b`);
	for (const s of sources) if (!files.get(s.file) && callers.test(s.read())) files.add(s);
	if (options.grep && functions.size) for (const s of options.grep([...functions.keys()])) files.add(s);
	const census = takeCensus(files.all(), options.era);

	const plan: UsagePlan = { census, groups: new Map(), edits: [], reports: [], refusals: [], texts: new Map() };
	for (const f of files.all()) plan.texts.set(f.file, f.text);
	if (!census.dead) return plan;

	const members = census.usageEnum!.members;
	const ctx: Ctx = {
		files, census, plan, members,
		usageValue: members.get(HOST) ?? 2,
		removedFields: new Set(),
		gpcMembers: new Set(),
		removed: new Map(),
		options,
		types: new Map(),
		paramCounts: new Map(),
	};
	collectStruct(ctx);

	const drops = new Map<string, Drop>();
	for (const fn of census.functions.values()) {
		drops.set(fn.name, { name: fn.name, indexes: new Set([fn.usage]), paramNames: new Set(), usage: true });
	}
	// Function bodies first: they decide which vCPU and plumbing parameters go.
	const vcpuStillUsed = new Set<string>();
	const defined = new Set<string>();
	for (const f of files.all()) {
		for (const def of nodesOf(f, 'function_definition')) {
			if (def) rewriteBody(ctx, f, def, drops, vcpuStillUsed, defined);
		}
	}
	for (const fn of census.functions.values()) {
		const drop = drops.get(fn.name)!;
		const keepVcpu = fn.vcpu === undefined || vcpuStillUsed.has(fn.name) || (!defined.has(fn.name) && !ALL_GPC_FUNCTION_NAMES.has(fn.name));
		if (!keepVcpu) drop.indexes.add(fn.vcpu!);
	}

	// Plumbing: a function that lost a parameter is declared and called elsewhere too.
	const plumbing = [...drops.values()].filter((d) => !d.usage).map((d) => d.name);
	if (plumbing.length && options.grep && !options.reportsOnly) for (const s of options.grep(plumbing)) files.add(s);
	for (const f of files.all()) if (!plan.texts.has(f.file)) plan.texts.set(f.file, f.text);

	for (const f of files.all()) {
		rewriteSignaturesAndCalls(ctx, f, drops);
		rewriteEnumAndFields(ctx, f);
	}
	if (!options.reportsOnly) {
		for (const f of files.all()) verify(ctx, f, drops);
		for (const e of plan.edits) {
			const f = files.get(e.file)!;
			const err = errorAt(f, e.start, e.end);
			if (err) refuse(ctx, f, e.start, `tree-sitter could not parse the region around ${where(f, err[0])}; edit it by hand`);
		}
	}
	plan.refusals = dedupeRefusals(plan.refusals);
	return plan;
}

// ---- struct gfn_to_pfn_cache and the enum ----

function collectStruct(ctx: Ctx): void {
	let found = false;
	for (const f of ctx.files.all()) {
		for (const decl of nodesOf(f, 'field_declaration')) {
			const type = decl?.childForFieldName('type');
			if (!decl || !type) continue;
			if (type.type === 'struct_specifier' && type.childForFieldName('name')?.text === 'gfn_to_pfn_cache') {
				for (const d of decl.childrenForFieldName('declarator')) {
					const name = d.text.replace(/^[\s*]+/, '');
					if (/^\w+$/.test(name)) ctx.gpcMembers.add(name);
				}
			}
			const owner = gpcStructOf(decl);
			if (!owner) continue;
			found = true;
			const param = fieldAsParam(decl);
			if (param && (isUsageParam(param) || isVcpuParam(param))) ctx.removedFields.add(param.name);
		}
	}
	// No struct definition indexed (a tree without kvm_types.h): the upstream field names.
	if (!found) for (const n of ['usage', 'vcpu']) ctx.removedFields.add(n);
}

function gpcStructOf(fieldDecl: SyntaxNode): SyntaxNode | undefined {
	const struct = fieldDecl.parent?.parent;
	return struct?.type === 'struct_specifier' && struct.childForFieldName('name')?.text === 'gfn_to_pfn_cache' ? struct : undefined;
}

function fieldAsParam(decl: SyntaxNode): Param | undefined {
	const ds = decl.childrenForFieldName('declarator');
	if (ds.length !== 1) return undefined;
	const t = decl.childForFieldName('type');
	return { node: decl, name: ds[0].text.replace(/^[\s*]+/, ''), type: t ? t.text.replace(/\s+/g, ' ') : '', pointer: /^\s*\*/.test(ds[0].text) };
}

function rewriteEnumAndFields(ctx: Ctx, f: UsageFile): void {
	const phrase = censusPhrase(ctx.census);
	for (const e of nodesOf(f, 'enum_specifier')) {
		if (!e || e.childForFieldName('name')?.text !== USAGE_ENUM) continue;
		// `enum pfn_cache_usage { ... };` is a declaration, or (at the top of a file) the specifier and its `;`.
		const decl = e.parent;
		const semicolon = e.nextSibling;
		group(ctx, 'enum', 'enum', `Remove enum ${USAGE_ENUM}`);
		if (decl?.type === 'declaration' && !decl.childrenForFieldName('declarator').length) deleteStatement(ctx, f, decl, 'enum');
		else if (semicolon?.type === ';') deleteStatement(ctx, f, e, 'enum', semicolon.endIndex);
		else continue;
		const body = e.childForFieldName('body');
		if (!body) continue;
		report(ctx, f, e, `enum ${USAGE_ENUM} is dead: ${phrase}`, 'enum');
		for (const m of body.namedChildren) {
			if (m?.type !== 'enumerator') continue;
			const name = m.childForFieldName('name')?.text;
			report(ctx, f, m, `${name} is dead: ${phrase}`, 'enum');
		}
	}
	for (const decl of nodesOf(f, 'field_declaration')) {
		if (!decl || !gpcStructOf(decl)) continue;
		const param = fieldAsParam(decl);
		if (!param || !ctx.removedFields.has(param.name) || !(isUsageParam(param) || isVcpuParam(param))) continue;
		const id = `field:${param.name}`;
		group(ctx, id, 'field', `Remove the ${param.name} field of struct gfn_to_pfn_cache`);
		deleteStatement(ctx, f, decl, id);
		const why = isUsageParam(param) ? 'is dead' : 'only names the vCPU to kick for guest usage';
		report(ctx, f, decl, `gfn_to_pfn_cache.${param.name} ${why}: ${phrase}`, id);
	}
}

// ---- function bodies ----

function rewriteBody(ctx: Ctx, f: UsageFile, def: SyntaxNode, drops: Map<string, Drop>, vcpuStillUsed: Set<string>, defined: Set<string>): void {
	const fn = declaredFunction(def);
	const body = def.childForFieldName('body');
	if (!fn || !body) return;
	const usageFn = ctx.census.functions.get(fn.name);
	// A quick look before the walk: most functions have nothing to do with usage.
	if (!usageFn && !mentionsMachinery(ctx, body.text)) return;
	const params = parametersOf(fn.declarator);
	const isUsageDef = !!usageFn && params.some(isUsageParam);
	const usageParam = isUsageDef ? params.find(isUsageParam)!.name : undefined;
	const vcpuParam = isUsageDef && usageFn!.vcpu !== undefined ? params[usageFn!.vcpu]?.name : undefined;
	if (isUsageDef) defined.add(fn.name);
	if (!isUsageDef && !mentionsMachinery(ctx, body.text)) return;
	const types = variableTypes(def);
	const knownFalse = new Set<string>();
	const isGpc = (e: SyntaxNode | null): boolean => {
		if (!e) return false;
		if (e.type === 'parenthesized_expression' || e.type === 'pointer_expression') return isGpc(e.namedChildren.find((c) => c?.type !== 'comment') ?? null);
		if (e.type === 'identifier') return types.get(e.text) === 'gfn_to_pfn_cache';
		if (e.type === 'field_expression') return ctx.gpcMembers.has(e.childForFieldName('field')?.text ?? '');
		return false;
	};
	const removedField = (n: SyntaxNode) =>
		n.type === 'field_expression' && ctx.removedFields.has(n.childForFieldName('field')?.text ?? '') && isGpc(n.childForFieldName('argument'));
	const usageField = (n: SyntaxNode) => removedField(n) && n.childForFieldName('field')?.text === usageFieldName(ctx);
	const inUsageCall = (n: SyntaxNode) => {
		for (let p = n.parent; p && p.id !== body.id; p = p.parent) {
			if (p.type === 'call_expression' && ctx.census.functions.has(calleeIdentifier(p) ?? '')) return true;
		}
		return false;
	};
	const env: EvalEnv = {
		identifier: (n) => ctx.members.get(n.text) ?? (n.text === usageParam ? ctx.usageValue : undefined) ?? (knownFalse.has(n.text) ? 0 : undefined),
		field: (n) => (usageField(n) ? ctx.usageValue : undefined),
		isAtom: (n) =>
			!inUsageCall(n) &&
			((n.type === 'identifier' && (ctx.members.has(n.text) || n.text === usageParam || n.text === vcpuParam || knownFalse.has(n.text))) ||
				removedField(n)),
	};
	const groupId = isUsageDef ? `def:${fn.name}` : `fn:${fn.name}`;
	const removedBefore = ctx.removed.get(f.file)?.length ?? 0;
	const isRemoved = (n: SyntaxNode) => (ctx.removed.get(f.file) ?? []).some(([s, e]) => n.startIndex >= s && n.endIndex <= e);
	const phrase = censusPhrase(ctx.census);
	const handled = new Set<number>();
	const ensureGroup = () =>
		group(ctx, groupId, isUsageDef ? 'definition' : 'function', isUsageDef ? `Remove the usage machinery from ${fn.name}()` : `Remove the guest-usage code from ${fn.name}()`);

	for (let changed = true; changed; ) {
		changed = false;
		for (const n of descendants(body)) {
			if (handled.has(n.id) || isRemoved(n)) continue;
			if (n.type === 'if_statement') {
				const cond = n.childForFieldName('condition');
				if (!cond || !mentionsAtom(cond, env)) continue;
				handled.add(n.id);
				const v = evaluate(cond, env);
				if (v.kind === 'unknown') {
					refuse(ctx, f, cond.startIndex, `cannot decide the usage test \`${oneLine(cond.text)}\``);
					continue;
				}
				ensureGroup();
				const dead = [...descendants(cond)].find((c) => c.type === 'identifier' && knownFalse.has(c.text));
				const message = dead
					? `${dead.text} is never set, so this vCPU request on invalidation never runs: only guest-usage caches set it, and ${phrase}`
					: v.kind === 'const' && v.value
						? `usage test always true: every cache is a host cache (${phrase})`
						: `guest-usage code never runs: ${phrase}`;
				reportLine(ctx, f, n, cond, message, groupId);
				if (v.kind === 'const') foldIf(ctx, f, n, !!v.value, groupId);
				else if (v.changed) {
					edit(ctx, f, cond.startIndex + 1, cond.endIndex - 1, v.text, groupId);
					for (const d of v.dropped) markRemoved(ctx, f, d.startIndex, d.endIndex);
				}
				changed = true;
			} else if (n.type === 'expression_statement') {
				const e = n.namedChildren.find((c) => c?.type !== 'comment');
				if (!e || !mentionsAtom(e, env)) continue;
				if (e.type === 'call_expression' && /^(WARN_ON|WARN_ON_ONCE|WARN|WARN_ONCE|BUG_ON|KVM_BUG_ON)$/.test(calleeIdentifier(e) ?? '')) {
					handled.add(n.id);
					const v = evaluate(e, env);
					if (v.kind !== 'const' || v.value) {
						refuse(ctx, f, n.startIndex, `cannot show that \`${oneLine(n.text)}\` never fires once usage is gone`);
						continue;
					}
					ensureGroup();
					report(ctx, f, n, `usage sanity check is dead: ${phrase}`, groupId);
					deleteStatement(ctx, f, n, groupId);
					changed = true;
				} else if (e.type === 'assignment_expression' && removedField(e.childForFieldName('left')!) && sideEffectFree(e.childForFieldName('right')!)) {
					handled.add(n.id);
					ensureGroup();
					const field = e.childForFieldName('left')!.childForFieldName('field')!.text;
					report(ctx, f, n, `stores the dead ${field === usageFieldName(ctx) ? 'usage flag' : 'vCPU for guest usage'}: ${phrase}`, groupId);
					deleteStatement(ctx, f, n, groupId);
					changed = true;
				}
			}
		}
		if (!changed && (ctx.removed.get(f.file)?.length ?? 0) === removedBefore) break;
		// Locals that only the removed code set or read.
		for (const local of locals(body)) {
			if (handled.has(local.decl.id) || isRemoved(local.decl)) continue;
			const refs = references(body, local.name).filter((r) => !isInside(r, local.decl.startIndex, local.decl.endIndex));
			const live = refs.filter((r) => !isRemoved(r));
			if (live.length === refs.length) continue;
			if (!live.length) {
				if (!local.init || sideEffectFree(local.init)) {
					handled.add(local.decl.id);
					ensureGroup();
					deleteStatement(ctx, f, local.decl, groupId);
					changed = true;
				}
			} else if (!knownFalse.has(local.name) && local.init && /^(false|0)$/.test(local.init.text) && live.every(isPureRead) && refs.some((r) => !isPureRead(r))) {
				// Only removed code ever set it: it stays false.
				knownFalse.add(local.name);
				changed = true;
			}
		}
	}

	if (!isUsageDef && (ctx.removed.get(f.file)?.length ?? 0) === removedBefore) return;
	// Parameters that only removed code used go, with their arguments at every call.
	const dropsHere = drops.get(fn.name) ?? { name: fn.name, indexes: new Set<number>(), paramNames: new Set<string>(), usage: false };
	// An argument of another usage call that the call rewrite drops is not a use either (a wrapper passing it on).
	const passedOn = (r: SyntaxNode) => {
		const call = r.parent?.type === 'argument_list' ? r.parent.parent : undefined;
		const fn = call && ctx.census.functions.get(calleeIdentifier(call) ?? '');
		if (!call || !fn) return false;
		const at = listItems(r.parent!).findIndex((a) => a.id === r.id);
		return at === fn.usage || at === fn.vcpu;
	};
	params.forEach((p, i) => {
		if (!p.name) return;
		const refs = references(body, p.name);
		const live = refs.filter((r) => !isRemoved(r) && !((p.name === usageParam || p.name === vcpuParam) && passedOn(r)));
		if (p.name === usageParam) {
			for (const r of live) refuse(ctx, f, r.startIndex, `\`${p.name}\` is still used here after the usage checks are gone`);
			dropsHere.paramNames.add(p.name);
		} else if (p.name === vcpuParam) {
			if (live.length) vcpuStillUsed.add(fn.name);
			else dropsHere.paramNames.add(p.name);
		} else if (!isUsageDef && refs.length && !live.length) {
			dropsHere.indexes.add(i);
			dropsHere.paramNames.add(p.name);
		}
	});
	if (!dropsHere.usage && dropsHere.indexes.size) drops.set(fn.name, dropsHere);
}

/** Enum members, or a removed field read through `->` / `.`. */
function mentionsMachinery(ctx: Ctx, text: string): boolean {
	ctx.mentionRe ??= new RegExp(`\\b(?:${[...ctx.members.keys()].join('|')})\\b|(?:->|\\.)\\s*(?:${[...ctx.removedFields].join('|')})\\b`);
	return ctx.mentionRe.test(text);
}

function usageFieldName(ctx: Ctx): string {
	// The usage field is whichever removed field is not a vCPU pointer; upstream calls it "usage".
	return [...ctx.removedFields].find((n) => n !== 'vcpu') ?? 'usage';
}

interface Local {
	name: string;
	decl: SyntaxNode;
	init?: SyntaxNode;
}

/** Single-name declarations in a body, and `DECLARE_BITMAP(name, ...)`-style macros. */
function locals(body: SyntaxNode): Local[] {
	const out: Local[] = [];
	for (const n of descendants(body)) {
		if (n.type === 'declaration') {
			const ds = n.childrenForFieldName('declarator');
			if (ds.length !== 1) continue;
			const d = ds[0];
			const init = d.type === 'init_declarator' ? d.childForFieldName('value') ?? undefined : undefined;
			const nameNode = d.type === 'init_declarator' ? d.childForFieldName('declarator') : d;
			const name = nameNode?.text.replace(/^[\s*]+/, '');
			if (name && /^\w+$/.test(name)) out.push({ name, decl: n, init });
		} else if (n.type === 'expression_statement') {
			const call = n.namedChild(0);
			const callee = call?.type === 'call_expression' ? calleeIdentifier(call) : undefined;
			const first = call && callee && /^(DECLARE|DEFINE)_[A-Z_]+$/.test(callee) ? listItems(call.childForFieldName('arguments')!)[0] : undefined;
			if (first?.type === 'identifier') out.push({ name: first.text, decl: n });
		}
	}
	return out;
}

function references(body: SyntaxNode, name: string): SyntaxNode[] {
	return [...descendants(body)].filter((n) => n.type === 'identifier' && n.text === name);
}

/** Read, not written: not an assignment target, not `&x`, not `x++`. */
function isPureRead(ref: SyntaxNode): boolean {
	const p = ref.parent;
	if (!p) return true;
	if (p.type === 'assignment_expression' && p.childForFieldName('left')?.id === ref.id) return false;
	if (p.type === 'update_expression') return false;
	if (p.type === 'pointer_expression' && p.childForFieldName('operator')?.text === '&') return false;
	return true;
}

/** Replaces `if (c) ...` by the branch that runs when `c` is `value`. */
function foldIf(ctx: Ctx, f: UsageFile, s: SyntaxNode, value: boolean, groupId: string): void {
	const text = f.text;
	if (!startsLine(text, s.startIndex) || !endsLine(text, s.endIndex)) {
		refuse(ctx, f, s.startIndex, 'the usage test shares its line with other code; edit it by hand');
		return;
	}
	const consequence = s.childForFieldName('consequence');
	const alternative = s.childForFieldName('alternative');
	const branch = value ? consequence : alternative?.namedChildren.find((c) => c?.type !== 'comment');
	const start = lineStart(text, s.startIndex);
	const end = lineEndIncl(text, s.endIndex);
	if (!branch) {
		deleteStatement(ctx, f, s, groupId);
		return;
	}
	const indent = text.slice(start, s.startIndex);
	let lines: string[];
	if (branch.type === 'compound_statement') {
		const open = lineEndIncl(text, branch.startIndex);
		const close = lineStart(text, branch.endIndex - 1);
		if (!endsLine(text, branch.startIndex + 1) || !startsLine(text, branch.endIndex - 1)) {
			refuse(ctx, f, branch.startIndex, 'braces of the usage branch share lines with code; edit it by hand');
			return;
		}
		lines = close > open ? text.slice(open, close).replace(/\n$/, '').split('\n').map(unindent) : [];
	} else if (branch.type === 'if_statement') {
		// `else if (...)`: the chain keeps its indentation, its first line moves to the `if`.
		lines = (indent + text.slice(branch.startIndex, branch.endIndex)).split('\n');
	} else {
		lines = text.slice(lineStart(text, branch.startIndex), lineEndIncl(text, branch.endIndex)).replace(/\n$/, '').split('\n').map(unindent);
	}
	lines = lines.map((l) => l.replace(/[ \t]+$/, ''));
	if (!lines.some((l) => !isBlank(l))) {
		deleteStatement(ctx, f, s, groupId);
		return;
	}
	edit(ctx, f, start, end, lines.join('\n') + '\n', groupId);
	// What is gone: the test and the branch that never runs; the kept branch stays referenced.
	markRemoved(ctx, f, s.startIndex, branch.startIndex);
	markRemoved(ctx, f, branch.endIndex, s.endIndex);
	if (branch.type === 'compound_statement') {
		markRemoved(ctx, f, branch.startIndex, branch.startIndex + 1);
		markRemoved(ctx, f, branch.endIndex - 1, branch.endIndex);
	}
}

// ---- prototypes, definitions and calls ----

function rewriteSignaturesAndCalls(ctx: Ctx, f: UsageFile, drops: Map<string, Drop>): void {
	// A declaration of a function that loses parameters spells its name.
	const losing = [...drops.values()].filter((d) => d.indexes.size).map((d) => d.name);
	const mentions = new RegExp(`\\b(?:${losing.join('|') || '(?!)'})\\b`);
	for (const node of mentions.test(f.text) ? nodesOf(f, 'declaration', 'function_definition') : []) {
		if (!mentions.test(node.text)) continue;
		const fn = declaredFunction(node);
		const drop = fn && drops.get(fn.name);
		if (!fn || !drop || !drop.indexes.size) continue;
		const params = parametersOf(fn.declarator);
		const list = fn.declarator.childForFieldName('parameters')!;
		if (!drop.usage && params.length !== (paramCount(ctx, drop.name) ?? params.length)) {
			refuse(ctx, f, node.startIndex, `${fn.name}() is declared here with ${params.length} parameters; cannot tell which to drop`);
			continue;
		}
		const indexes = drop.usage ? usageIndexes(ctx, drop, params) : drop.indexes;
		const id = node.type === 'function_definition'
			? drop.usage ? `def:${fn.name}` : `fn:${fn.name}`
			: drop.usage ? `proto:${f.file}:${node.startPosition.row}` : `fn:${fn.name}`;
		const names = [...indexes].map((i) => params[i]?.name).filter((n): n is string => !!n);
		if (id.startsWith('proto:')) group(ctx, id, 'prototype', `Remove ${names.join(', ')} from the ${fn.name}() prototype`);
		else group(ctx, id, id.startsWith('def:') ? 'definition' : 'function', id.startsWith('def:') ? `Remove the usage machinery from ${fn.name}()` : `Remove the guest-usage code from ${fn.name}()`);
		relayout(ctx, f, list, params.map((p) => p.node), indexes, id);
		if (!ctx.options.reportsOnly) dropKernelDoc(ctx, f, node, names, id);
	}
	const phrase = censusPhrase(ctx.census);
	for (const call of callsOf(f, losing)) {
		const name = calleeIdentifier(call)!;
		const drop = drops.get(name)!;
		const list = call.childForFieldName('arguments')!;
		const args = listItems(list);
		const usageFn = drop.usage ? ctx.census.functions.get(name) : undefined;
		const expected = usageFn ? undefined : paramCount(ctx, name);
		if (expected !== undefined && args.length !== expected) {
			refuse(ctx, f, call.startIndex, `${name}() is called here with ${args.length} arguments, its definition takes ${expected}`);
			continue;
		}
		const indexes = [...drop.indexes].filter((i) => i < args.length);
		const dirty = indexes.map((i) => args[i]).filter((a) => !sideEffectFree(a));
		if (dirty.length) {
			refuse(ctx, f, dirty[0].startIndex, `the argument \`${oneLine(dirty[0].text)}\` has side effects; remove it by hand`);
			continue;
		}
		const id = drop.usage ? `call:${f.file}:${call.startIndex}` : `fn:${name}`;
		if (drop.usage) {
			const dropped = indexes.sort((a, b) => a - b).map((i) => oneLine(args[i].text));
			group(ctx, id, 'call', `Remove ${dropped.join(', ')} from this ${name}() call`);
			const site = ctx.census.sites.find((s) => s.file === f.file && s.line === args[usageFn!.usage]?.startPosition.row && s.callee === name);
			const usageArg = args[usageFn!.usage];
			if (usageArg && ancestor(call, 'function_definition')) {
				const vcpuArg = usageFn!.vcpu !== undefined ? args[usageFn!.vcpu] : undefined;
				const from = vcpuArg && indexes.includes(usageFn!.vcpu!) && vcpuArg.startPosition.row === usageArg.startPosition.row ? vcpuArg : usageArg;
				const message = site
					? `dead usage argument: ${phrase}`
					: `forwards the dead usage argument: ${phrase}`;
				ctx.plan.reports.push({ file: f.file, range: span(from, usageArg), message, group: id });
			}
		}
		relayout(ctx, f, list, args, new Set(indexes), id);
	}
	// A function that loses parameters must only ever be called: its address fixes its type.
	for (const id of identifiersNamed(f, losing)) {
		const p = id.parent;
		if (p?.type === 'call_expression' && p.childForFieldName('function')?.id === id.id) continue;
		if (p?.type === 'function_declarator') continue;
		if (p?.type === 'argument_list' && /^EXPORT_SYMBOL/.test(calleeIdentifier(p.parent!) ?? '')) continue;
		if (ancestor(id, 'preproc_def') || ancestor(id, 'preproc_function_def')) continue;
		refuse(ctx, f, id.startIndex, `${id.text}() is used here other than by a call; cannot drop its parameters`);
	}
}

/** The usage parameter, and the vCPU one when it goes: by position, checked by type. */
function usageIndexes(ctx: Ctx, drop: Drop, params: Param[]): Set<number> {
	const fn = ctx.census.functions.get(drop.name) as UsageFunction;
	const out = new Set<number>();
	const u = params.findIndex(isUsageParam);
	if (u >= 0) out.add(u);
	if (fn.vcpu !== undefined && drop.indexes.has(fn.vcpu)) {
		const v = params.findIndex(isVcpuParam);
		if (v >= 0) out.add(v);
	}
	return out;
}

/** The parameter count of a plumbing function's definition (asked at every call: remembered per plan). */
function paramCount(ctx: Ctx, name: string): number | undefined {
	if (!ctx.paramCounts.has(name)) ctx.paramCounts.set(name, findParamCount(ctx, name));
	return ctx.paramCounts.get(name);
}

function findParamCount(ctx: Ctx, name: string): number | undefined {
	for (const f of ctx.files.all()) {
		for (const def of nodesOf(f, 'function_definition')) {
			const fn = def && declaredFunction(def);
			if (fn?.name === name && def!.childForFieldName('body')!.namedChildCount > 0) return parametersOf(fn.declarator).length;
		}
	}
	return undefined;
}

function relayout(ctx: Ctx, f: UsageFile, list: SyntaxNode, items: SyntaxNode[], drop: ReadonlySet<number>, groupId: string): void {
	const text = relayoutList(f.text, list, drop);
	if (text === undefined) {
		refuse(ctx, f, list.startIndex, 'the list continues a macro line; edit it by hand');
		return;
	}
	edit(ctx, f, list.startIndex, list.endIndex, text, groupId);
	for (const i of drop) if (items[i]) markRemoved(ctx, f, items[i].startIndex, items[i].endIndex);
}

/** ` * @usage: ...` entries (with their continuation lines) in the kernel-doc above a declaration. */
function dropKernelDoc(ctx: Ctx, f: UsageFile, node: SyntaxNode, names: string[], groupId: string): void {
	const doc = node.previousNamedSibling;
	if (!doc || doc.type !== 'comment' || !doc.text.startsWith('/**') || doc.endPosition.row < node.startPosition.row - 1) return;
	const lines = f.text.slice(doc.startIndex, doc.endIndex).split('\n');
	let offset = doc.startIndex;
	const starts = lines.map((l) => {
		const at = offset;
		offset += l.length + 1;
		return at;
	});
	for (let i = 0; i < lines.length; i++) {
		const m = /^\s*\*\s*@(\w+)\s*:/.exec(lines[i]);
		if (!m || !names.includes(m[1])) continue;
		let j = i + 1;
		while (j < lines.length && !/^\s*\*\s*(@\w+\s*:|$)|^\s*\*\//.test(lines[j])) j++;
		edit(ctx, f, lineStart(f.text, starts[i]), lineStart(f.text, starts[j] ?? doc.endIndex), '', groupId, true);
		i = j - 1;
	}
}

// ---- verification ----

/** Every mention of the machinery must be inside removed text. */
function verify(ctx: Ctx, f: UsageFile, drops: Map<string, Drop>): void {
	const removed = ctx.removed.get(f.file) ?? [];
	const gone = (n: SyntaxNode) => removed.some(([s, e]) => n.startIndex >= s && n.endIndex <= e);
	const leftover = (n: SyntaxNode, what: string) => {
		const err = errorAt(f, n.startIndex, n.endIndex);
		refuse(ctx, f, n.startIndex, err
			? `tree-sitter could not parse the region around ${where(f, err[0])}, which mentions ${what}; edit it by hand`
			: `${what} is still used here; gpcscope does not know how to remove it`);
	};
	for (const n of descendants(f.tree.rootNode)) {
		if ((n.type === 'identifier' && ctx.members.has(n.text)) || (n.type === 'type_identifier' && n.text === USAGE_ENUM)) {
			if (!gone(n)) leftover(n, `\`${n.text}\``);
		} else if (n.type === 'function_definition') {
			const fn = declaredFunction(n);
			const drop = fn && drops.get(fn.name);
			const body = n.childForFieldName('body');
			if (!fn || !drop || !body) continue;
			const params = parametersOf(fn.declarator);
			const indexes = drop.usage ? usageIndexes(ctx, drop, params) : drop.indexes;
			for (const i of indexes) {
				const name = params[i]?.name;
				if (name) for (const r of references(body, name)) if (!gone(r)) leftover(r, `the dropped parameter \`${name}\``);
			}
		} else if (n.type === 'field_expression' && ctx.removedFields.has(n.childForFieldName('field')?.text ?? '')) {
			const def = ancestor(n, 'function_definition');
			const base = n.childForFieldName('argument');
			if (!def || !base) continue;
			const types = ctx.types.get(def.id) ?? variableTypes(def);
			ctx.types.set(def.id, types);
			const gpc = (base.type === 'identifier' && types.get(base.text) === 'gfn_to_pfn_cache') ||
				(base.type === 'field_expression' && ctx.gpcMembers.has(base.childForFieldName('field')?.text ?? ''));
			if (gpc && !gone(n)) leftover(n, `\`${oneLine(n.text)}\``);
		}
	}
}

// ---- plumbing ----

function group(ctx: Ctx, id: string, kind: GroupKind, title: string): void {
	if (!ctx.plan.groups.has(id)) ctx.plan.groups.set(id, { id, kind, title });
}

function edit(ctx: Ctx, f: UsageFile, start: number, end: number, text: string, groupId: string, lines = false): void {
	ctx.plan.edits.push({ file: f.file, start, end, text, group: groupId, lines: lines || undefined });
	if (text === '') markRemoved(ctx, f, start, end);
}

function markRemoved(ctx: Ctx, f: UsageFile, start: number, end: number): void {
	const list = ctx.removed.get(f.file) ?? [];
	list.push([start, end]);
	ctx.removed.set(f.file, list);
}

/** Deletes a statement with its own lines and the comment right above it. */
function deleteStatement(ctx: Ctx, f: UsageFile, s: SyntaxNode, groupId: string, endIndex = s.endIndex): void {
	const text = f.text;
	if (startsLine(text, s.startIndex) && endsLine(text, endIndex)) {
		let start = lineStart(text, s.startIndex);
		const above = s.previousNamedSibling;
		if (above?.type === 'comment' && above.endPosition.row === s.startPosition.row - 1 && startsLine(text, above.startIndex)) {
			start = lineStart(text, above.startIndex);
		}
		edit(ctx, f, start, lineEndIncl(text, endIndex), '', groupId, true);
	} else {
		let end = endIndex;
		while (text[end] === ' ' || text[end] === '\t') end++;
		edit(ctx, f, s.startIndex, end, '', groupId);
	}
}

function report(ctx: Ctx, f: UsageFile, node: SyntaxNode, message: string, groupId: string): void {
	ctx.plan.reports.push({ file: f.file, range: firstLine(node), message, group: groupId });
}

/** On the `if` line: from `if` to the end of the condition (or of its first line). */
function reportLine(ctx: Ctx, f: UsageFile, s: SyntaxNode, cond: SyntaxNode, message: string, groupId: string): void {
	ctx.plan.reports.push({ file: f.file, range: span(s, cond), message, group: groupId });
}

function refuse(ctx: Ctx, f: UsageFile, offset: number, message: string): void {
	ctx.plan.refusals.push({ file: f.file, line: f.text.slice(0, offset).split('\n').length - 1, message });
}

function dedupeRefusals(list: Refusal[]): Refusal[] {
	const seen = new Set<string>();
	return list
		.filter((r) => {
			const key = `${r.file}:${r.line}:${r.message}`;
			return !seen.has(key) && !!seen.add(key);
		})
		.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

function where(f: UsageFile, offset: number): string {
	return `${f.file}:${f.text.slice(0, offset).split('\n').length}`;
}

function firstLine(node: SyntaxNode): Range {
	const nl = node.text.indexOf('\n');
	const start = { line: node.startPosition.row, character: node.startPosition.column };
	if (nl < 0) return { start, end: endOf(node) };
	// A CRLF line ends before its '\r' (LSP positions past it are outside the line).
	return { start, end: { line: start.line, character: start.character + (nl > 0 && node.text[nl - 1] === '\r' ? nl - 1 : nl) } };
}

/** From `a` to `b`, clipped to `a`'s line. */
function span(a: SyntaxNode, b: SyntaxNode): Range {
	const start = { line: a.startPosition.row, character: a.startPosition.column };
	if (b.endPosition.row === a.startPosition.row) return { start, end: endOf(b) };
	return firstLine(a);
}

/** Where `node` ends, before a '\r' it ends with (an unterminated string takes in a CRLF line's '\r'). */
function endOf(node: SyntaxNode): { line: number; character: number } {
	const cr = node.endPosition.column > 0 && node.text.endsWith('\r') ? 1 : 0;
	return { line: node.endPosition.row, character: node.endPosition.column - cr };
}

function oneLine(text: string): string {
	return text.replace(/\s+/g, ' ');
}


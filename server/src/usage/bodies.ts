// The plan's first step, per file: function bodies. Usage tests fold to
// constants (the guest branch goes, the host branch stays, un-indented), the
// usage WARN_ON_ONCE()s and field stores go, then what only they kept alive:
// locals like `evict_vcpus` and `vcpu_bitmap`, and parameters like `may_block`
// (the request plumbing). What a file's bodies decide for the whole tree (which
// parameters go) is part of its result, for the join.
import { variableTypes } from '../parse/declarations';
import type { SyntaxNode } from '../parse/parser';
import type { UsageFunction } from './census';
import { evaluate, mentionsAtom, type EvalEnv } from './evaluate';
import { nodesMatching, wordsPattern, type UsageFile } from './files';
import {
	deleteStatement, edit, emptyPart, group, isRemoved, markRemoved, oneLine, refuse, report, reportLine, type FilePart,
} from './output';
import { endsLine, isBlank, isUsageParam, sideEffectFree, startsLine, unindent } from './syntax';
import { calleeIdentifier, descendants, isInside, listItems } from '../parse/nodes';
import { declaredFunction, parametersOf } from '../parse/declarations';
import { lineEndIncl, lineStart } from '../parse/positions';

/** What the bodies need to know of the whole tree (the part's memo key). */
export interface BodyContext {
	functions: ReadonlyMap<string, UsageFunction>;
	members: ReadonlyMap<string, number>;
	/** Value every cache's usage has (every caller passes the host flag). */
	usageValue: number;
	/** Names of struct members of type struct gfn_to_pfn_cache (typing `v->arch.pv_time.usage`). */
	gpcMembers: ReadonlySet<string>;
	/** Fields of struct gfn_to_pfn_cache that go: the usage field, "vcpu". */
	removedFields: ReadonlySet<string>;
	phrase: string;
}

export interface BodiesPart extends FilePart {
	/** Parameters that only removed code used, per function definition in document order. */
	drops: { name: string; indexes: number[] }[];
	/** Usage functions whose vCPU parameter is still used once usage is gone. */
	vcpuStillUsed: string[];
	/** Usage functions defined here (with their usage parameter). */
	defined: string[];
}

interface BodyPlanning extends BodyContext {
	out: BodiesPart;
	/** Enum members, or a removed field read through `->` / `.`. */
	mentions: RegExp;
	/** The usage field is whichever removed field is not a vCPU pointer; upstream calls it "usage". */
	usageField: string;
}

/** Looks a function's part up by its text, else computes it (the memo's parts of the file's functions). */
export type RememberedBy<T> = (text: string, compute: () => T) => T;

export function planBodies(f: UsageFile, context: BodyContext, remembered: RememberedBy<BodiesPart>): BodiesPart {
	const ctx: BodyPlanning = {
		...context,
		out: emptyBodiesPart(),
		mentions: new RegExp(`\\b(?:${[...context.members.keys()].join('|')})\\b|(?:->|\\.)\\s*(?:${[...context.removedFields].join('|')})\\b`),
		usageField: [...context.removedFields].find((n) => n !== 'vcpu') ?? 'usage',
	};
	const out = emptyBodiesPart();
	// Only a usage function's definition, or a body that mentions the machinery, has anything to plan.
	const candidates = new RegExp(`${ctx.mentions.source}|${wordsPattern(context.functions.keys()).source}`, 'g');
	for (const def of nodesMatching(f, candidates, 'function_definition')) {
		// A body's plan depends only on its text (from the start of its first line), so it is
		// remembered relative to that start: an edit elsewhere in the file only moves it. Not
		// with an ERROR inside: how tree-sitter recovered may depend on the text around it.
		const row = def.startPosition.row;
		const from = lineStart(f.text, def.startIndex);
		const plan = () => {
			ctx.out = emptyBodiesPart();
			rewriteBody(ctx, f, def);
			return moved(ctx.out, -row, -from);
		};
		append(out, moved(def.hasError ? plan() : remembered(f.text.slice(from, def.endIndex), plan), row, from));
	}
	return out;
}

function emptyBodiesPart(): BodiesPart {
	return { ...emptyPart(), drops: [], vcpuStillUsed: [], defined: [] };
}

function moved(part: BodiesPart, rows: number, offset: number): BodiesPart {
	const line = (p: { line: number; character: number }) => ({ line: p.line + rows, character: p.character });
	return {
		...part,
		edits: part.edits.map((e) => ({ ...e, start: e.start + offset, end: e.end + offset })),
		reports: part.reports.map((r) => ({ ...r, range: { start: line(r.range.start), end: line(r.range.end) } })),
		refusals: part.refusals.map((r) => ({ ...r, line: r.line + rows })),
		removed: part.removed.map(([s, e]) => [s + offset, e + offset]),
	};
}

function append(out: BodiesPart, part: BodiesPart): void {
	for (const g of part.groups) group(out, g.id, g.kind, g.title);
	out.edits.push(...part.edits);
	out.reports.push(...part.reports);
	out.refusals.push(...part.refusals);
	out.removed.push(...part.removed);
	out.drops.push(...part.drops);
	out.vcpuStillUsed.push(...part.vcpuStillUsed);
	out.defined.push(...part.defined);
}

function rewriteBody(ctx: BodyPlanning, f: UsageFile, def: SyntaxNode): void {
	const fn = declaredFunction(def);
	const body = def.childForFieldName('body');
	if (!fn || !body) return;
	const usageFn = ctx.functions.get(fn.name);
	// A quick look before the walk: most functions have nothing to do with usage.
	const bodyText = f.text.slice(body.startIndex, body.endIndex);
	if (!usageFn && !ctx.mentions.test(bodyText)) return;
	const params = parametersOf(fn.declarator);
	const isUsageDef = !!usageFn && params.some(isUsageParam);
	const usageParam = isUsageDef ? params.find(isUsageParam)!.name : undefined;
	const vcpuParam = isUsageDef && usageFn!.vcpu !== undefined ? params[usageFn!.vcpu]?.name : undefined;
	if (isUsageDef) ctx.out.defined.push(fn.name);
	if (!isUsageDef && !ctx.mentions.test(bodyText)) return;
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
	const usageField = (n: SyntaxNode) => removedField(n) && n.childForFieldName('field')?.text === ctx.usageField;
	const inUsageCall = (n: SyntaxNode) => {
		for (let p = n.parent; p && p.id !== body.id; p = p.parent) {
			if (p.type === 'call_expression' && ctx.functions.has(calleeIdentifier(p) ?? '')) return true;
		}
		return false;
	};
	const env: EvalEnv = {
		identifier: (n) => ctx.members.get(n.text) ?? (n.text === usageParam ? ctx.usageValue : undefined) ?? (knownFalse.has(n.text) ? 0 : undefined),
		field: (n) => (usageField(n) ? ctx.usageValue : undefined),
		// The cheap tests first: inUsageCall() walks up to the body.
		isAtom: (n) =>
			((n.type === 'identifier' && (ctx.members.has(n.text) || n.text === usageParam || n.text === vcpuParam || knownFalse.has(n.text))) ||
				removedField(n)) &&
			!inUsageCall(n),
	};
	const groupId = isUsageDef ? `def:${fn.name}` : `fn:${fn.name}`;
	const removedBefore = ctx.out.removed.length;
	const removed = (n: SyntaxNode) => isRemoved(ctx.out, n);
	const phrase = ctx.phrase;
	const handled = new Set<number>();
	const ensureGroup = () =>
		group(ctx.out, groupId, isUsageDef ? 'definition' : 'function', isUsageDef ? `Remove the usage machinery from ${fn.name}()` : `Remove the guest-usage code from ${fn.name}()`);

	for (let changed = true; changed; ) {
		changed = false;
		for (const n of descendants(body)) {
			if (handled.has(n.id) || removed(n)) continue;
			if (n.type === 'if_statement') {
				const cond = n.childForFieldName('condition');
				if (!cond || !mentionsAtom(cond, env)) continue;
				handled.add(n.id);
				const v = evaluate(cond, env);
				if (v.kind === 'unknown') {
					refuse(ctx.out, f, cond.startIndex, `cannot decide the usage test \`${oneLine(cond.text)}\``);
					continue;
				}
				ensureGroup();
				const dead = [...descendants(cond)].find((c) => c.type === 'identifier' && knownFalse.has(c.text));
				const message = dead
					? `${dead.text} is never set, so this vCPU request on invalidation never runs: only guest-usage caches set it, and ${phrase}`
					: v.kind === 'const' && v.value
						? `usage test always true: every cache is a host cache (${phrase})`
						: `guest-usage code never runs: ${phrase}`;
				reportLine(ctx.out, f, n, cond, message, groupId);
				if (v.kind === 'const') foldIf(ctx, f, n, !!v.value, groupId);
				else if (v.changed) {
					edit(ctx.out, f, cond.startIndex + 1, cond.endIndex - 1, v.text, groupId);
					for (const d of v.dropped) markRemoved(ctx.out, d.startIndex, d.endIndex);
				}
				changed = true;
			} else if (n.type === 'expression_statement') {
				const e = n.namedChildren.find((c) => c?.type !== 'comment');
				if (!e || !mentionsAtom(e, env)) continue;
				if (e.type === 'call_expression' && /^(WARN_ON|WARN_ON_ONCE|WARN|WARN_ONCE|BUG_ON|KVM_BUG_ON)$/.test(calleeIdentifier(e) ?? '')) {
					handled.add(n.id);
					const v = evaluate(e, env);
					if (v.kind !== 'const' || v.value) {
						refuse(ctx.out, f, n.startIndex, `cannot show that \`${oneLine(n.text)}\` never fires once usage is gone`);
						continue;
					}
					ensureGroup();
					report(ctx.out, f, n, `usage sanity check is dead: ${phrase}`, groupId);
					deleteStatement(ctx.out, f, n, groupId);
					changed = true;
				} else if (e.type === 'assignment_expression' && removedField(e.childForFieldName('left')!) && sideEffectFree(e.childForFieldName('right')!)) {
					handled.add(n.id);
					ensureGroup();
					const field = e.childForFieldName('left')!.childForFieldName('field')!.text;
					report(ctx.out, f, n, `stores the dead ${field === ctx.usageField ? 'usage flag' : 'vCPU for guest usage'}: ${phrase}`, groupId);
					deleteStatement(ctx.out, f, n, groupId);
					changed = true;
				}
			}
		}
		if (!changed && ctx.out.removed.length === removedBefore) break;
		// Locals that only the removed code set or read.
		for (const local of locals(body)) {
			if (handled.has(local.decl.id) || removed(local.decl)) continue;
			const refs = references(body, local.name).filter((r) => !isInside(r, local.decl.startIndex, local.decl.endIndex));
			const live = refs.filter((r) => !removed(r));
			if (live.length === refs.length) continue;
			if (!live.length) {
				if (!local.init || sideEffectFree(local.init)) {
					handled.add(local.decl.id);
					ensureGroup();
					deleteStatement(ctx.out, f, local.decl, groupId);
					changed = true;
				}
			} else if (!knownFalse.has(local.name) && local.init && /^(false|0)$/.test(local.init.text) && live.every(isPureRead) && refs.some((r) => !isPureRead(r))) {
				// Only removed code ever set it: it stays false.
				knownFalse.add(local.name);
				changed = true;
			}
		}
	}

	if (!isUsageDef && ctx.out.removed.length === removedBefore) return;
	// Parameters that only removed code used go, with their arguments at every call.
	const dropped: number[] = [];
	// An argument of another usage call that the call rewrite drops is not a use either (a wrapper passing it on).
	const passedOn = (r: SyntaxNode) => {
		const call = r.parent?.type === 'argument_list' ? r.parent.parent : undefined;
		const fn = call && ctx.functions.get(calleeIdentifier(call) ?? '');
		if (!call || !fn) return false;
		const at = listItems(r.parent!).findIndex((a) => a.id === r.id);
		return at === fn.usage || at === fn.vcpu;
	};
	params.forEach((p, i) => {
		if (!p.name) return;
		const refs = references(body, p.name);
		const live = refs.filter((r) => !removed(r) && !((p.name === usageParam || p.name === vcpuParam) && passedOn(r)));
		if (p.name === usageParam) {
			for (const r of live) refuse(ctx.out, f, r.startIndex, `\`${p.name}\` is still used here after the usage checks are gone`);
		} else if (p.name === vcpuParam) {
			if (live.length) ctx.out.vcpuStillUsed.push(fn.name);
		} else if (!isUsageDef && refs.length && !live.length) {
			dropped.push(i);
		}
	});
	if (dropped.length) ctx.out.drops.push({ name: fn.name, indexes: dropped });
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

export function references(body: SyntaxNode, name: string): SyntaxNode[] {
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
function foldIf(ctx: BodyPlanning, f: UsageFile, s: SyntaxNode, value: boolean, groupId: string): void {
	const text = f.text;
	if (!startsLine(text, s.startIndex) || !endsLine(text, s.endIndex)) {
		refuse(ctx.out, f, s.startIndex, 'the usage test shares its line with other code; edit it by hand');
		return;
	}
	const consequence = s.childForFieldName('consequence');
	const alternative = s.childForFieldName('alternative');
	const branch = value ? consequence : alternative?.namedChildren.find((c) => c?.type !== 'comment');
	const start = lineStart(text, s.startIndex);
	const end = lineEndIncl(text, s.endIndex);
	if (!branch) {
		deleteStatement(ctx.out, f, s, groupId);
		return;
	}
	const indent = text.slice(start, s.startIndex);
	let lines: string[];
	if (branch.type === 'compound_statement') {
		const open = lineEndIncl(text, branch.startIndex);
		const close = lineStart(text, branch.endIndex - 1);
		if (!endsLine(text, branch.startIndex + 1) || !startsLine(text, branch.endIndex - 1)) {
			refuse(ctx.out, f, branch.startIndex, 'braces of the usage branch share lines with code; edit it by hand');
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
		deleteStatement(ctx.out, f, s, groupId);
		return;
	}
	edit(ctx.out, f, start, end, lines.join('\n') + '\n', groupId);
	// What is gone: the test and the branch that never runs; the kept branch stays referenced.
	markRemoved(ctx.out, s.startIndex, branch.startIndex);
	markRemoved(ctx.out, branch.endIndex, s.endIndex);
	if (branch.type === 'compound_statement') {
		markRemoved(ctx.out, branch.startIndex, branch.startIndex + 1);
		markRemoved(ctx.out, branch.endIndex - 1, branch.endIndex);
	}
}


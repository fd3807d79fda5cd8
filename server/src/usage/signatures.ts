// The plan's second step, per file, once the bodies have decided which
// parameters go: prototypes, definitions and kernel-doc lose them, every call
// loses the arguments; the enum and the struct's usage fields go.
import { enclosingDefinition } from '../parse/definitions';
import type { SyntaxNode } from '../parse/parser';
import type { UsageFunction, UsageSite } from './census';
import { nodesMatching, wordsPattern, type UsageFile } from './files';
import { relayoutList } from './layout';
import { deleteStatement, edit, emptyPart, group, markRemoved, oneLine, refuse, report, span, type FilePart } from './output';
import { fieldAsParam, gpcStructFields } from './struct';
import {
	ancestor, calleeIdentifier, callsOf, declaredFunction, identifiersNamed, isUsageParam, isVcpuParam, lineStart, listItems,
	parametersOf, sideEffectFree, USAGE_ENUM, type Param,
} from './syntax';

/** Function parameters to drop, everywhere the function is declared, defined and called. */
export interface Drop {
	name: string;
	indexes: Set<number>;
	/** A usage function (else request plumbing: a parameter only removed code used). */
	usage: boolean;
}

/** What the step needs to know of the whole tree (the part's memo key, with the file's sites). */
export interface SignatureContext {
	functions: ReadonlyMap<string, UsageFunction>;
	drops: ReadonlyMap<string, Drop>;
	/** Parameter counts of the plumbing functions' definitions. */
	paramCounts: ReadonlyMap<string, number | undefined>;
	removedFields: ReadonlySet<string>;
	phrase: string;
	/** Findings only: skip what only the rewrite needs. */
	reportsOnly: boolean;
}

interface SignaturePlanning extends SignatureContext {
	/** The census's sites in this file. */
	sites: readonly UsageSite[];
	out: FilePart;
}

export function planSignatures(f: UsageFile, context: SignatureContext, sites: readonly UsageSite[]): FilePart {
	const ctx: SignaturePlanning = { ...context, sites, out: emptyPart() };
	rewriteSignaturesAndCalls(ctx, f);
	rewriteEnumAndFields(ctx, f);
	return ctx.out;
}

function rewriteSignaturesAndCalls(ctx: SignaturePlanning, f: UsageFile): void {
	const drops = ctx.drops;
	// A declaration of a function that loses parameters spells its name.
	const losing = [...drops.values()].filter((d) => d.indexes.size).map((d) => d.name);
	for (const node of nodesMatching(f, wordsPattern(losing), 'declaration', 'function_definition')) {
		const fn = declaredFunction(node);
		const drop = fn && drops.get(fn.name);
		if (!fn || !drop || !drop.indexes.size) continue;
		const params = parametersOf(fn.declarator);
		const list = fn.declarator.childForFieldName('parameters')!;
		if (!drop.usage && params.length !== (ctx.paramCounts.get(drop.name) ?? params.length)) {
			refuse(ctx.out, f, node.startIndex, `${fn.name}() is declared here with ${params.length} parameters; cannot tell which to drop`);
			continue;
		}
		const indexes = drop.usage ? usageIndexes(ctx, drop, params) : drop.indexes;
		const id = node.type === 'function_definition'
			? drop.usage ? `def:${fn.name}` : `fn:${fn.name}`
			: drop.usage ? `proto:${f.file}:${node.startPosition.row}` : `fn:${fn.name}`;
		const names = [...indexes].map((i) => params[i]?.name).filter((n): n is string => !!n);
		if (id.startsWith('proto:')) group(ctx.out, id, 'prototype', `Remove ${names.join(', ')} from the ${fn.name}() prototype`);
		else group(ctx.out, id, id.startsWith('def:') ? 'definition' : 'function', id.startsWith('def:') ? `Remove the usage machinery from ${fn.name}()` : `Remove the guest-usage code from ${fn.name}()`);
		relayout(ctx, f, list, params.map((p) => p.node), indexes, id);
		if (!ctx.reportsOnly) dropKernelDoc(ctx, f, node, names, id);
	}
	const phrase = ctx.phrase;
	for (const call of callsOf(f, losing)) {
		const name = calleeIdentifier(call)!;
		const drop = drops.get(name)!;
		const list = call.childForFieldName('arguments')!;
		const args = listItems(list);
		const usageFn = drop.usage ? ctx.functions.get(name) : undefined;
		const expected = usageFn ? undefined : ctx.paramCounts.get(name);
		if (expected !== undefined && args.length !== expected) {
			refuse(ctx.out, f, call.startIndex, `${name}() is called here with ${args.length} arguments, its definition takes ${expected}`);
			continue;
		}
		const indexes = [...drop.indexes].filter((i) => i < args.length);
		const dirty = indexes.map((i) => args[i]).filter((a) => !sideEffectFree(a));
		if (dirty.length) {
			refuse(ctx.out, f, dirty[0].startIndex, `the argument \`${oneLine(dirty[0].text)}\` has side effects; remove it by hand`);
			continue;
		}
		const id = drop.usage ? `call:${f.file}:${call.startIndex}` : `fn:${name}`;
		if (drop.usage) {
			const dropped = indexes.sort((a, b) => a - b).map((i) => oneLine(args[i].text));
			group(ctx.out, id, 'call', `Remove ${dropped.join(', ')} from this ${name}() call`);
			const site = ctx.sites.find((s) => s.line === args[usageFn!.usage]?.startPosition.row && s.callee === name);
			const usageArg = args[usageFn!.usage];
			if (usageArg && enclosingDefinition(call)) {
				const vcpuArg = usageFn!.vcpu !== undefined ? args[usageFn!.vcpu] : undefined;
				const from = vcpuArg && indexes.includes(usageFn!.vcpu!) && vcpuArg.startPosition.row === usageArg.startPosition.row ? vcpuArg : usageArg;
				const message = site
					? `dead usage argument: ${phrase}`
					: `forwards the dead usage argument: ${phrase}`;
				ctx.out.reports.push({ file: f.file, range: span(from, usageArg), message, group: id });
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
		refuse(ctx.out, f, id.startIndex, `${id.text}() is used here other than by a call; cannot drop its parameters`);
	}
}

/** The usage parameter, and the vCPU one when it goes: by position, checked by type. */
export function usageIndexes(ctx: { functions: ReadonlyMap<string, UsageFunction> }, drop: Drop, params: Param[]): Set<number> {
	const fn = ctx.functions.get(drop.name) as UsageFunction;
	const out = new Set<number>();
	const u = params.findIndex(isUsageParam);
	if (u >= 0) out.add(u);
	if (fn.vcpu !== undefined && drop.indexes.has(fn.vcpu)) {
		const v = params.findIndex(isVcpuParam);
		if (v >= 0) out.add(v);
	}
	return out;
}

function relayout(ctx: SignaturePlanning, f: UsageFile, list: SyntaxNode, items: SyntaxNode[], drop: ReadonlySet<number>, groupId: string): void {
	const text = relayoutList(f.text, list, drop);
	if (text === undefined) {
		refuse(ctx.out, f, list.startIndex, 'the list continues a macro line; edit it by hand');
		return;
	}
	edit(ctx.out, f, list.startIndex, list.endIndex, text, groupId);
	for (const i of drop) if (items[i]) markRemoved(ctx.out, items[i].startIndex, items[i].endIndex);
}

/** ` * @usage: ...` entries (with their continuation lines) in the kernel-doc above a declaration. */
function dropKernelDoc(ctx: SignaturePlanning, f: UsageFile, node: SyntaxNode, names: string[], groupId: string): void {
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
		edit(ctx.out, f, lineStart(f.text, starts[i]), lineStart(f.text, starts[j] ?? doc.endIndex), '', groupId, true);
		i = j - 1;
	}
}


function rewriteEnumAndFields(ctx: SignaturePlanning, f: UsageFile): void {
	const phrase = ctx.phrase;
	for (const e of nodesMatching(f, wordsPattern([USAGE_ENUM]), 'enum_specifier')) {
		if (e.childForFieldName('name')?.text !== USAGE_ENUM) continue;
		// `enum pfn_cache_usage { ... };` is a declaration, or (at the top of a file) the specifier and its `;`.
		const decl = e.parent;
		const semicolon = e.nextSibling;
		group(ctx.out, 'enum', 'enum', `Remove enum ${USAGE_ENUM}`);
		if (decl?.type === 'declaration' && !decl.childrenForFieldName('declarator').length) deleteStatement(ctx.out, f, decl, 'enum');
		else if (semicolon?.type === ';') deleteStatement(ctx.out, f, e, 'enum', semicolon.endIndex);
		else continue;
		const body = e.childForFieldName('body');
		if (!body) continue;
		report(ctx.out, f, e, `enum ${USAGE_ENUM} is dead: ${phrase}`, 'enum');
		for (const m of body.namedChildren) {
			if (m?.type !== 'enumerator') continue;
			const name = m.childForFieldName('name')?.text;
			report(ctx.out, f, m, `${name} is dead: ${phrase}`, 'enum');
		}
	}
	for (const decl of gpcStructFields(f)) {
		const param = fieldAsParam(decl);
		if (!param || !ctx.removedFields.has(param.name) || !(isUsageParam(param) || isVcpuParam(param))) continue;
		const id = `field:${param.name}`;
		group(ctx.out, id, 'field', `Remove the ${param.name} field of struct gfn_to_pfn_cache`);
		deleteStatement(ctx.out, f, decl, id);
		const why = isUsageParam(param) ? 'is dead' : 'only names the vCPU to kick for guest usage';
		report(ctx.out, f, decl, `gfn_to_pfn_cache.${param.name} ${why}: ${phrase}`, id);
	}
}


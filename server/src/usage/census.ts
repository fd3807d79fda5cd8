// The usage census: the usage value passed at every init/activate call of the
// tree (and at calls of wrappers that take a usage parameter of their own).
// Only when no call passes the guest bit is the machinery dead; one guest
// caller, or one value gpcscope cannot evaluate, keeps it alive.
import { gpcFunctionsFor, type ApiEra } from '../analysis/api';
import type { Range } from '../analysis/findings';
import { enclosingDefinition } from '../parse/definitions';
import type { SyntaxNode } from '../parse/parser';
import { evaluate, type EvalEnv } from './evaluate';
import { nodesMatching, wordsPattern, type UsageFile } from './files';
import {
	calleeIdentifier, callsOf, declaredFunction, descendants, isUsageParam, isVcpuParam, listItems, parametersOf, USAGE_ENUM,
} from './syntax';

export const GUEST = 'KVM_GUEST_USES_PFN';
export const HOST = 'KVM_HOST_USES_PFN';

/** A function with an `enum pfn_cache_usage` parameter (the API, or a wrapper of it). */
export interface UsageFunction {
	name: string;
	usage: number;
	/** The `struct kvm_vcpu *` parameter next to it, if the signature has one. */
	vcpu?: number;
	/** Where the tree declares or defines it ("file:line"), empty when only the era table knows it. */
	declaredAt: string[];
}

export type UsageKind = 'guest' | 'host' | 'forwarded' | 'unknown';

export interface UsageSite {
	file: string;
	/** 0-based line of the usage argument. */
	line: number;
	callee: string;
	value: string;
	kind: UsageKind;
	/** The usage argument, or from the vCPU argument to it when both are on one line. */
	range: Range;
}

export interface UsageEnum {
	file: string;
	line: number;
	/** Member values (`KVM_GUEST_USES_PFN` → 1). */
	members: Map<string, number>;
}

export interface UsageCensus {
	usageEnum?: UsageEnum;
	functions: Map<string, UsageFunction>;
	/** Calls that pass a usage value of their own (wrappers forwarding their parameter are not counted). */
	sites: UsageSite[];
	guest: UsageSite[];
	unknown: UsageSite[];
	/** Nothing in the tree needs the machinery. */
	dead: boolean;
}

/** A usage function as one file declares or defines it. */
export interface DeclaredUsageFunction {
	name: string;
	usage: number;
	vcpu?: number;
	/** 0-based. */
	line: number;
}

/** The census from the files' parts: the first enum, the usage functions, and every file's sites in file order. */
export function takeCensus(usageEnum: UsageEnum | undefined, functions: Map<string, UsageFunction>, sitesPerFile: readonly UsageSite[][]): UsageCensus {
	const counted = sitesPerFile.flat().filter((s) => s.kind !== 'forwarded');
	const guest = counted.filter((s) => s.kind === 'guest');
	const unknown = counted.filter((s) => s.kind === 'unknown');
	return { usageEnum, functions, sites: counted, guest, unknown, dead: !!usageEnum && !guest.length && !unknown.length };
}

/** The enum's member values, or the upstream ones when the tree has no enum. */
export function usageMembers(usageEnum: UsageEnum | undefined): Map<string, number> {
	return usageEnum?.members ?? new Map<string, number>([[GUEST, 1], [HOST, 2], ['KVM_GUEST_AND_HOST_USE_PFN', 3]]);
}

/** One file's calls of the usage functions (a wrapper forwarding its own parameter is a 'forwarded' site). */
export function usageSites(f: UsageFile, functions: Map<string, UsageFunction>, members: Map<string, number>): UsageSite[] {
	const guestBit = members.get(GUEST) ?? 1;
	const env: EvalEnv = { identifier: (n) => members.get(n.text), field: () => undefined, isAtom: () => false };
	const sites: UsageSite[] = [];
	for (const call of callsOf(f, [...functions.keys()])) {
		const fn = functions.get(calleeIdentifier(call)!)!;
		if (!enclosingDefinition(call)) continue;
		const args = listItems(call.childForFieldName('arguments')!);
		const arg = args[fn.usage];
		if (!arg) continue;
		const vcpu = fn.vcpu !== undefined ? args[fn.vcpu] : undefined;
		const v = evaluate(arg, env);
		let kind: UsageKind = 'unknown';
		if (v.kind === 'const') kind = v.value & guestBit ? 'guest' : 'host';
		else if (mentionsGuest(arg, members, guestBit)) kind = 'guest';
		else if (arg.type === 'identifier' && forwardsParameter(call, arg.text)) kind = 'forwarded';
		const start = vcpu && vcpu.startPosition.row === arg.startPosition.row ? vcpu : arg;
		sites.push({
			file: f.file, line: arg.startPosition.row, callee: fn.name, value: arg.text.replace(/\s+/g, ' '), kind,
			range: {
				start: { line: start.startPosition.row, character: start.startPosition.column },
				end: { line: arg.endPosition.row, character: arg.endPosition.row === arg.startPosition.row ? arg.endPosition.column : arg.startPosition.column + arg.text.indexOf('\n') },
			},
		});
	}
	return sites;
}

/** `none of the 5 calls of kvm_gpc_activate() passes KVM_GUEST_USES_PFN`: the reason every finding carries. */
export function censusPhrase(census: UsageCensus): string {
	const n = census.sites.length;
	const names = [...new Set(census.sites.map((s) => `${s.callee}()`))];
	const of = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names[0];
	if (n === 0) return `no call passes ${GUEST}`;
	return n === 1 ? `the one call of ${of} does not pass ${GUEST}` : `none of the ${n} calls of ${of} passes ${GUEST}`;
}

export function siteLocation(s: UsageSite): string {
	return `${s.file}:${s.line + 1}`;
}

/** The file's `enum pfn_cache_usage` definition, if it has one. */
export function usageEnumOf(f: UsageFile): UsageEnum | undefined {
	for (const e of nodesMatching(f, wordsPattern([USAGE_ENUM]), 'enum_specifier')) {
		if (e.childForFieldName('name')?.text !== USAGE_ENUM) continue;
		const body = e.childForFieldName('body');
		if (!body) continue;
		const members = new Map<string, number>();
		let next = 0;
		const env: EvalEnv = { identifier: (n) => members.get(n.text), field: () => undefined, isAtom: () => false };
		for (const m of body.namedChildren) {
			if (m?.type !== 'enumerator') continue;
			const name = m.childForFieldName('name')?.text;
			const valueNode = m.childForFieldName('value');
			const v = valueNode ? evaluate(valueNode, env) : undefined;
			const value = v ? (v.kind === 'const' ? v.value : NaN) : next;
			if (name) members.set(name, value);
			next = value + 1;
		}
		return { file: f.file, line: e.startPosition.row, members };
	}
	return undefined;
}

/** The functions the file declares or defines with a usage parameter, in document order. */
export function declaredUsageFunctions(f: UsageFile): DeclaredUsageFunction[] {
	const out: DeclaredUsageFunction[] = [];
	// A usage parameter spells the enum's name.
	for (const node of nodesMatching(f, new RegExp(USAGE_ENUM, 'g'), 'declaration', 'function_definition')) {
		const fn = declaredFunction(node);
		if (!fn) continue;
		const params = parametersOf(fn.declarator);
		const usage = params.findIndex(isUsageParam);
		if (usage < 0) continue;
		const vcpu = params.findIndex(isVcpuParam);
		out.push({ name: fn.name, usage, vcpu: vcpu < 0 ? undefined : vcpu, line: node.startPosition.row });
	}
	return out;
}

/** The tree's usage functions from its files' declarations in file order (the first fixes the positions), else the era's. */
export function usageFunctions(declared: readonly { file: string; functions: readonly DeclaredUsageFunction[] }[], era: ApiEra): Map<string, UsageFunction> {
	const out = new Map<string, UsageFunction>();
	for (const { file, functions } of declared) {
		for (const d of functions) {
			const known = out.get(d.name) ?? { name: d.name, usage: d.usage, vcpu: d.vcpu, declaredAt: [] };
			known.declaredAt.push(`${file}:${d.line + 1}`);
			out.set(d.name, known);
		}
	}
	if (!out.size) {
		// No declaration indexed (a lone file): the era's own signatures.
		for (const g of gpcFunctionsFor(era).values()) {
			if (g.usage !== undefined) out.set(g.name, { name: g.name, usage: g.usage, vcpu: g.vcpu, declaredAt: [] });
		}
	}
	return out;
}

function mentionsGuest(node: SyntaxNode, members: Map<string, number>, guestBit: number): boolean {
	for (const n of descendants(node)) if (n.type === 'identifier' && ((members.get(n.text) ?? 0) & guestBit)) return true;
	return false;
}

/** `usage` passed on by a function that has an `enum pfn_cache_usage usage` parameter itself. */
function forwardsParameter(call: SyntaxNode, name: string): boolean {
	const def = enclosingDefinition(call);
	const fn = def && declaredFunction(def);
	return !!fn && parametersOf(fn.declarator).some((p) => p.name === name && isUsageParam(p));
}

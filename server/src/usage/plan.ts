// The whole-tree removal of the usage machinery, planned as text edits on the
// original files and grouped so that one finding's quick fix, one file's
// fix-all and the tree-wide refactor all come from the same plan:
//   - the enum and the `usage`/`vcpu` fields of struct gfn_to_pfn_cache;
//   - the usage (and vCPU) parameters of every function that takes one, in
//     prototypes, definitions and kernel-doc, and the arguments at every call;
//   - in function bodies, the usage tests and what only they kept alive
//     (bodies.ts), including parameters like `may_block` with their arguments
//     at every call, in any file: the request plumbing.
// Anything it cannot account for is a refusal naming file:line, never a guess.
//
// Each step is planned per file (a part, remembered by the memo while the
// file's text and the step's tree-wide context stay the same) and joined here:
// the census and the struct's fields from every file's declarations, then the
// bodies (which decide the parameters that go), then signatures and calls.
import { ALL_GPC_FUNCTION_NAMES, type ApiEra } from '../analysis/api';
import { planBodies, type BodyContext } from './bodies';
import {
	censusPhrase, declaredUsageFunctions, HOST, takeCensus, usageEnumOf, usageFunctions, usageMembers, usageSites, type UsageCensus,
	type UsageFunction,
} from './census';
import { errorAt, nodesMatching, wordsPattern, type FileSource, type ParsedFiles, type UsageFile } from './files';
import { UsagePlanMemo } from './memo';
import { emptyPart, refuse, where, type FilePart, type Group, type PlannedEdit, type Refusal, type Report } from './output';
import { planSignatures, type Drop, type SignatureContext } from './signatures';
import { joinStructFacts, structFactsOf } from './struct';
import { declaredFunction, parametersOf } from '../parse/declarations';
import { USAGE_TEXT } from '../vocabulary';
import { verifyFile } from './verify';

export type { Group, GroupKind, PlannedEdit, Refusal, Report } from './output';

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
	/** The same search, in the background (the whole tree is read): for planUsageRemovalSearching(). */
	search?(names: string[]): Promise<FileSource[]>;
	/** Findings only: skip what only the rewrite needs. */
	reportsOnly?: boolean;
	/** Parts of earlier plans to reuse (else every file is planned afresh). */
	memo?: UsagePlanMemo;
}

/** The plan; `options.grep` searches the whole tree. */
export function planUsageRemoval(files: ParsedFiles, sources: readonly FileSource[], options: PlanOptions): UsagePlan {
	const steps = planSteps(files, sources, options, !!options.grep);
	for (let step = steps.next(); ; step = steps.next(options.grep!(step.value))) if (step.done) return step.value;
}

/** The plan; `options.search` searches the whole tree, off this thread. */
export async function planUsageRemovalSearching(files: ParsedFiles, sources: readonly FileSource[], options: PlanOptions): Promise<UsagePlan> {
	const steps = planSteps(files, sources, options, !!options.search);
	for (let step = steps.next(); ; step = steps.next(await options.search!(step.value))) if (step.done) return step.value;
}

/** The plan, one step at a time: each whole-tree search it needs is yielded (the names), and answered with the files found. */
function* planSteps(files: ParsedFiles, sources: readonly FileSource[], options: PlanOptions, searches: boolean): Generator<string[], UsagePlan, FileSource[]> {
	const memo = options.memo ?? new UsagePlanMemo();
	const declared = (f: UsageFile) =>
		memo.part('declared', f, '', () => ({ usageEnum: usageEnumOf(f), functions: declaredUsageFunctions(f), struct: structFactsOf(f) }));
	const functionsOf = (all: UsageFile[]) => usageFunctions(all.map((f) => ({ file: f.file, functions: declared(f).functions })), options.era);

	// The files that mention the machinery, then the callers of the usage functions.
	for (const s of sources) if (USAGE_TEXT.test(s.read())) files.add(s);
	// Only the usage functions' names are needed to find their callers: the sites come after.
	const callees = functionsOf(files.all());
	const callers = new RegExp(`\\b(?:${[...callees.keys()].join('|') || '(?!)'})\\b`);
	for (const s of sources) if (!files.get(s.file) && callers.test(s.read())) files.add(s);
	if (searches && callees.size) for (const s of yield [...callees.keys()]) files.add(s);

	const counted = files.all();
	const functions = functionsOf(counted);
	const usageEnum = counted.map((f) => declared(f).usageEnum).find((e) => !!e);
	const members = usageMembers(usageEnum);
	const sitesKey = key(signatures(functions), numbers(members));
	const sites = new Map(counted.map((f) => [f.file, memo.part('sites', f, sitesKey, () => usageSites(f, functions, members))]));
	const census = takeCensus(usageEnum, functions, [...sites.values()]);

	const plan: UsagePlan = { census, groups: new Map(), edits: [], reports: [], refusals: [], texts: new Map() };
	for (const f of counted) plan.texts.set(f.file, f.text);
	if (!census.dead) return finish(plan, files, memo);

	// Function bodies first: they decide which vCPU and plumbing parameters go.
	const struct = joinStructFacts(counted.map((f) => declared(f).struct));
	const bodyContext: BodyContext = { functions, members, usageValue: members.get(HOST) ?? 2, ...struct, phrase: censusPhrase(census) };
	const bodyKey = key(signatures(functions), numbers(members), [...struct.gpcMembers], [...struct.removedFields], bodyContext.phrase);
	const bodies = counted.map((f) => memo.part('bodies', f, bodyKey, () => planBodies(f, bodyContext, memo.byFunction('bodies', f, bodyKey))));
	const drops = dropsOf(functions, bodies);

	// Plumbing: a function that lost a parameter is declared and called elsewhere too.
	const plumbing = [...drops.values()].filter((d) => !d.usage).map((d) => d.name);
	if (plumbing.length && searches && !options.reportsOnly) for (const s of yield plumbing) files.add(s);
	const all = files.all();
	for (const f of all) if (!plan.texts.has(f.file)) plan.texts.set(f.file, f.text);

	const signatureContext: SignatureContext = {
		functions, drops, paramCounts: paramCounts(all, plumbing, memo), removedFields: struct.removedFields, phrase: bodyContext.phrase,
		reportsOnly: !!options.reportsOnly,
	};
	const signatureKey = key(
		signatures(functions), [...drops.values()].map((d) => [d.name, [...d.indexes], d.usage]), [...signatureContext.paramCounts],
		[...struct.removedFields], bodyContext.phrase, signatureContext.reportsOnly,
	);
	const signatureParts = all.map((f) => {
		// The census's sites in this file (none in a file only the plumbing search found).
		const here = (sites.get(f.file) ?? []).filter((s) => s.kind !== 'forwarded');
		return memo.part('signatures', f, key(signatureKey, here), () => planSignatures(f, signatureContext, here));
	});
	for (const part of [...bodies, ...signatureParts]) add(plan, part);

	if (!options.reportsOnly) {
		const removed = new Map<string, [number, number][]>();
		counted.forEach((f, i) => removed.set(f.file, [...bodies[i].removed]));
		all.forEach((f, i) => removed.set(f.file, [...(removed.get(f.file) ?? []), ...signatureParts[i].removed]));
		const verifyContext = { functions, drops, members, ...struct };
		for (const f of all) add(plan, verifyFile(f, verifyContext, removed.get(f.file)!));
		const unparsed = emptyPart();
		for (const e of plan.edits) {
			const f = files.get(e.file)!;
			const err = errorAt(f, e.start, e.end);
			if (err) refuse(unparsed, f, e.start, `tree-sitter could not parse the region around ${where(f, err[0])}; edit it by hand`);
		}
		add(plan, unparsed);
	}
	plan.refusals = dedupeRefusals(plan.refusals);
	return finish(plan, files, memo);
}

/** The usage functions lose their usage parameter, and their vCPU one unless a body still uses it; the bodies add the plumbing. */
function dropsOf(functions: ReadonlyMap<string, UsageFunction>, bodies: ReturnType<typeof planBodies>[]): Map<string, Drop> {
	const drops = new Map<string, Drop>();
	for (const fn of functions.values()) drops.set(fn.name, { name: fn.name, indexes: new Set([fn.usage]), usage: true });
	for (const part of bodies) {
		for (const d of part.drops) {
			const drop = drops.get(d.name) ?? { name: d.name, indexes: new Set<number>(), usage: false };
			for (const i of d.indexes) drop.indexes.add(i);
			if (!drop.usage) drops.set(d.name, drop);
		}
	}
	const vcpuStillUsed = new Set(bodies.flatMap((b) => b.vcpuStillUsed));
	const defined = new Set(bodies.flatMap((b) => b.defined));
	for (const fn of functions.values()) {
		const keepVcpu = fn.vcpu === undefined || vcpuStillUsed.has(fn.name) || (!defined.has(fn.name) && !ALL_GPC_FUNCTION_NAMES.has(fn.name));
		if (!keepVcpu) drops.get(fn.name)!.indexes.add(fn.vcpu!);
	}
	return drops;
}

/** The parameter count of each plumbing function's first definition with a body, in file order. */
function paramCounts(files: UsageFile[], names: string[], memo: UsagePlanMemo): Map<string, number | undefined> {
	const out = new Map<string, number | undefined>(names.map((n) => [n, undefined]));
	if (!names.length) return out;
	const parts = files.map((f) => memo.part('paramCounts', f, names.join(','), () => definedParamCounts(f, new Set(names))));
	for (const name of names) out.set(name, parts.find((p) => p.has(name))?.get(name));
	return out;
}

function definedParamCounts(f: UsageFile, names: ReadonlySet<string>): Map<string, number> {
	const out = new Map<string, number>();
	for (const def of nodesMatching(f, wordsPattern(names), 'function_definition')) {
		const fn = declaredFunction(def);
		if (fn && names.has(fn.name) && !out.has(fn.name) && def.childForFieldName('body')!.namedChildCount > 0) {
			out.set(fn.name, parametersOf(fn.declarator).length);
		}
	}
	return out;
}

/** Appends a part in planning order; a group keeps its first title. */
function add(plan: UsagePlan, part: FilePart): void {
	for (const g of part.groups) if (!plan.groups.has(g.id)) plan.groups.set(g.id, g);
	plan.edits.push(...part.edits);
	plan.reports.push(...part.reports);
	plan.refusals.push(...part.refusals);
}

function finish(plan: UsagePlan, files: ParsedFiles, memo: UsagePlanMemo): UsagePlan {
	memo.retain(new Set(files.all().map((f) => f.file)));
	return plan;
}

/** What a step's parts depend on besides their file's text, as a memo key. */
function key(...parts: unknown[]): string {
	return JSON.stringify(parts);
}

/** The usage functions' positions (where they are declared does not matter to the steps). */
function signatures(functions: ReadonlyMap<string, UsageFunction>): unknown[] {
	return [...functions.values()].map((f) => [f.name, f.usage, f.vcpu ?? null]);
}

/** Enum members with values JSON cannot tell apart (NaN, Infinity) spelled out. */
function numbers(members: ReadonlyMap<string, number>): string[][] {
	return [...members].map(([name, value]) => [name, String(value)]);
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

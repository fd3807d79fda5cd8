// The one engine behind the CLI and the language server:
//   pass 1  facts of every file (era, gpc fields, call graph, may-sleep seeds);
//   pass 2  per-function dataflow with the rules, in rounds: each round learns
//           what callers pass their callees (atomic context, gpc locks held)
//           and the next round re-analyses with it;
//   then    the cross-file rules over the merged lifecycle facts.
import type { Parser } from 'web-tree-sitter';
import { createCParser, type SyntaxNode, type Tree } from '../parse/parser';
import { ALL_GPC_FUNCTION_NAMES, GPC_API_NAME, type ApiEra, type GpcFunction } from './api';
import { atomicContexts } from './contexts';
import { apiTable, detectEra, type EraDecision } from './era';
import { dirtyExemptions, type DirtyExemption } from './exemptions';
import { extractFacts, type FileFacts } from './facts';
import { compareFindings, type Finding, type Range, type RelatedLocation } from './findings';
import { NodeCache } from '../parse/cachedNodes';
import { analyzeFunction, functionHeader, functionName, variableTypes, type TreeKnowledge } from './flow';
import { functionNode, Outlines, type FileOutline, type FunctionOutline } from './outline';
import { FunctionMemo, type FunctionResult, type FunctionSummary } from './memo';
import type { AtomicContext } from './observations';
import { baseIdentifier, lastSegment } from './paths';
import { FUNCTION_RULES, IMPLEMENTED_RULES, RULES, TREE_RULES } from './rules';
import { sleepSummaries, type SleepSummaries } from './sleep';
import type { LifecycleSite } from './rules/treeRule';
import type { Related, RuleId, Severity } from './rules/types';
import { deadUsageFindings } from '../usage/findings';
import { UsagePlanMemo } from '../usage/memo';

export interface SourceFile {
	/** Path relative to the analysed root, with forward slashes. */
	file: string;
	/** Read on demand so that a whole tree is never held in memory. */
	read(): string;
	/** An up-to-date tree the caller owns (an open document's); the engine never deletes it. */
	tree?(): Tree | undefined;
	/** Only its call graph is needed (a neighbour of a gpc file, for may-sleep summaries). */
	summariesOnly?: boolean;
	/** Pass-1 facts computed earlier for this exact text (an on-disk cache, a worker). */
	facts?: FileFacts;
}

export interface EngineHooks {
	/** Pass-1 facts of a file, once computed (to cache them). */
	onFacts?(file: string, facts: FileFacts): void;
	/** Progress through pass 1 (files) then pass 2 (rounds × gpc files). */
	onProgress?(phase: 'facts' | 'dataflow', done: number, total: number): void;
}

export interface EngineOptions {
	era?: ApiEra;
	/** Rules to run; all implemented rules when absent. */
	rules?: ReadonlySet<RuleId>;
	severity?: Partial<Record<RuleId, Severity | 'off'>>;
	/** Field names whose writes need no mark-dirty (replaces the built-in table). */
	dirtyExemptions?: readonly string[];
	/** Wall-clock budget per file and pass, in ms (default DEFAULT_FILE_BUDGET_MS); a file over it is skipped. */
	fileBudgetMs?: number;
}

/** A file (or one function of it) the engine gave up on, and why; callers log these. */
export interface EngineSkip {
	file: string;
	reason: string;
}

export interface EngineStats {
	filesAnalysed: number;
	functionsAnalysed: number;
	/** ERROR regions inside analysed functions (skipped quietly). */
	unparsedRegions: number;
	/** gpc API call sites in the analysed files, and those the dataflow reached. */
	apiCallSites: number;
	apiCallSitesAnalysed: number;
	findingsSuppressed: number;
	rounds: number;
	ms: number;
}

export interface EngineResult {
	era: EraDecision;
	findings: Finding[];
	facts: FileFacts[];
	lifecycle: Map<string, LifecycleSite[]>;
	stats: EngineStats;
	/** What the last round knew about the tree, seen from outside every file (API table, fields). */
	knowledge: TreeKnowledge;
	/** The same seen from one file (its `static` functions are its own): to re-run one of its functions for hover and the simulator. */
	knowledgeFor(file: string): TreeKnowledge;
	instanceId(path: string, types: Map<string, string>): string | undefined;
	/** Files over the time budget, functions nested too deeply to analyse: skipped, never a crash. */
	skipped: EngineSkip[];
}

const IGNORE_COMMENT = /gpcscope-ignore:\s*([\w-]+(?:\s*,\s*[\w-]+)*)/;
const MENTIONS_GPC = /\b(gfn_to_pfn_cache|kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+|khva)\b|->lock\b/;
const MAX_ROUNDS = 3;
/** No single file may hang the engine (and with it a whole tree, or the language server). */
export const DEFAULT_FILE_BUDGET_MS = 20_000;
/**
 * The CFG builder and the interpreter recurse along the syntax tree: deeper functions (5,000
 * nested blocks, a 1,000-term `else if` chain) would overflow the JS stack. Real kernel
 * functions stay far below this.
 */
export const MAX_FUNCTION_DEPTH = 400;

class BudgetExceeded extends Error {}
class ParseOverBudget extends Error {}

/** What every file's analysis shares. */
interface TreeContext {
	knowledge: TreeKnowledge;
	knowledgeFor(file: string): TreeKnowledge;
	enabled: ReadonlySet<RuleId>;
	options: EngineOptions;
	exemptions: Map<string, DirtyExemption>;
	era: ApiEra;
	hasMarkDirtyHelper: boolean;
	implementationFiles: Set<string>;
	/** Functions worth analysing: gpc users and their callers. */
	relevant: Set<string>;
	instanceId(path: string, types: Map<string, string>): string | undefined;
	/** The settings and tree facts every function's result depends on (part of its memo key). */
	fingerprint: string;
}

interface FilePass {
	findings: Finding[];
	lifecycle: LifecycleSite[];
	analyses: { analysis: FunctionSummary; types: Map<string, string>; file: string }[];
	/** Functions not analysed, with why. */
	skipped: string[];
	functions: number;
	unparsedRegions: number;
	apiCallsAnalysed: number;
	suppressed: number;
}

export class Engine {
	/** Pass 2 of unchanged functions, reused across analyses (an edit re-analyses what it changed). */
	private readonly memo = new FunctionMemo();
	private readonly outlines = new Outlines();
	/** The gpc-dead-usage-flag plan per file, likewise (an edit re-plans the edited file). */
	private readonly usagePlans = new UsagePlanMemo();
	private lastSleep?: { keys: string[]; summaries: SleepSummaries };

	private constructor(readonly parser: Parser) {}

	static async create(): Promise<Engine> {
		return new Engine(await createCParser());
	}

	dispose(): void {
		this.parser.delete();
	}

	analyze(sources: readonly SourceFile[], options: EngineOptions = {}, hooks: EngineHooks = {}): EngineResult {
		const steps = this.steps(sources, options, hooks);
		for (;;) {
			const step = steps.next();
			if (step.done) return step.value;
		}
	}

	/**
	 * The same analysis, giving the event loop a turn every `sliceMs` (a language server
	 * answers requests meanwhile). Undefined when `cancelled()` turned true at such a turn;
	 * no tree is held across a turn, so the caller may edit or drop trees meanwhile.
	 */
	async analyzeYielding(sources: readonly SourceFile[], options: EngineOptions, hooks: EngineHooks, control: { sliceMs: number; cancelled(): boolean }): Promise<EngineResult | undefined> {
		const steps = this.steps(sources, options, hooks);
		let sliceStart = performance.now();
		for (;;) {
			const step = steps.next();
			if (step.done) return step.value;
			if (performance.now() - sliceStart < control.sliceMs) continue;
			await new Promise((resolve) => setImmediate(resolve));
			sliceStart = performance.now();
			if (control.cancelled()) {
				steps.return(undefined as never);
				return undefined;
			}
		}
	}

	/** The analysis, one file at a time: it pauses (yields) between files, holding no tree. */
	private *steps(sources: readonly SourceFile[], options: EngineOptions, hooks: EngineHooks): Generator<void, EngineResult> {
		const started = performance.now();
		this.memo.nextGeneration();
		const budgetMs = options.fileBudgetMs ?? DEFAULT_FILE_BUDGET_MS;
		const skipped = new Map<string, string>();
		const overBudget = (file: string, phase: string) => skipped.set(file, `over the ${budgetMs} ms time budget (${phase}); not analysed`);
		const facts: FileFacts[] = [];
		const texts = new Map<string, string>();
		for (const [i, source] of sources.entries()) {
			if (!source.facts) yield;
			if (source.facts) facts.push(source.facts);
			else {
				const text = source.read();
				const parsed = this.withTree(source, text, performance.now() + budgetMs, (tree) => {
					const fileFacts = extractFacts(source.file, tree);
					facts.push(fileFacts);
					hooks.onFacts?.(source.file, fileFacts);
				});
				if (!parsed) overBudget(source.file, 'parsing');
				else if (!source.summariesOnly && MENTIONS_GPC.test(text) && texts.size < 256) texts.set(source.file, text);
			}
			hooks.onProgress?.('facts', i + 1, sources.length);
		}
		const analysable = new Set(sources.filter((s) => !s.summariesOnly && !skipped.has(s.file)).map((s) => s.file));
		const gpcFacts = facts.filter((f) => analysable.has(f.file));
		const era = detectEra(gpcFacts, options.era);
		const api = apiTable(era.era, gpcFacts);
		const maySleep = this.sleepSummariesOf(facts);

		const atomicEntry = new Map<string, AtomicContext>();
		const gpcUsers = new Set(gpcFacts.flatMap((f) => f.functions.filter((fn) => fn.usesGpc).map((fn) => fn.name)));
		const entryContexts = atomicContexts(facts, (name) => gpcUsers.has(name));
		const callerHolds = new Map<string, 'none' | 'some'>();
		let learntCallers = false;
		let deadline = Infinity;
		const ctx: TreeContext = {
			knowledge: {
				api,
				gpcFields: new Set(gpcFacts.flatMap((f) => f.gpcFields.map((g) => g.field))),
				maySleep: (name) => maySleep.from(undefined, name),
				atomicEntry: (name) => atomicEntry.get(name),
				callersHoldGpc: (name) => (learntCallers ? callerHolds.get(name) ?? 'none' : 'unknown'),
				checkWrapper: checkWrappers(gpcFacts, api),
				entryContexts: (name) => entryContexts.get(name) ?? [],
				checkBudget: () => {
					if (performance.now() > deadline) throw new BudgetExceeded();
				},
			},
			enabled: options.rules ?? IMPLEMENTED_RULES,
			options,
			exemptions: dirtyExemptions(options.dirtyExemptions),
			era: era.era,
			hasMarkDirtyHelper: hasMarkDirtyHelper(api, gpcFacts),
			implementationFiles: new Set(gpcFacts.filter((f) => f.functions.some((fn) => ALL_GPC_FUNCTION_NAMES.has(fn.name) && api.has(fn.name))).map((f) => f.file)),
			relevant: relevantFunctions(gpcFacts),
			instanceId: instanceIdentity(gpcFacts),
			fingerprint: '',
			knowledgeFor: (file) => ({ ...ctx.knowledge, maySleep: (name) => maySleep.from(file, name) }),
		};
		ctx.fingerprint = JSON.stringify([
			ctx.era, [...ctx.enabled].sort(), options.severity ?? {}, [...ctx.exemptions], ctx.hasMarkDirtyHelper, [...api],
			gpcFacts.flatMap((f) => f.gpcFields.map((g) => [g.field, g.struct])).sort(),
		]);

		const byFile = new Map(sources.map((s) => [s.file, s]));
		const gpcFiles = gpcFacts.filter((f) => f.functions.some((fn) => ctx.relevant.has(fn.name))).map((f) => f.file);
		let perFile = new Map<string, FilePass>();
		let rounds = 0;
		for (let changed = true; changed && rounds < MAX_ROUNDS; rounds++) {
			perFile = new Map();
			for (const [i, file] of gpcFiles.entries()) {
				yield;
				hooks.onProgress?.('dataflow', rounds * gpcFiles.length + i, MAX_ROUNDS * gpcFiles.length);
				if (skipped.has(file)) continue;
				const source = byFile.get(file)!;
				const text = texts.get(file) ?? source.read();
				deadline = performance.now() + budgetMs;
				const tree = this.lazyTree(source, text, deadline);
				try {
					perFile.set(file, analyzeFile(file, text, tree.get, ctx, this.memo, this.outlines.get(file, text, tree.get, functionName)));
				} catch (e) {
					if (e instanceof ParseOverBudget) overBudget(file, 'parsing');
					else if (e instanceof BudgetExceeded) overBudget(file, `dataflow, round ${rounds + 1}`);
					else throw e;
				} finally {
					tree.dispose();
					deadline = Infinity;
				}
			}
			changed = learnFromCalls([...perFile.values()], atomicEntry, callerHolds) || !learntCallers;
			learntCallers = true;
		}
		this.outlines.retain(new Set(gpcFiles));

		const findings: Finding[] = [];
		const lifecycle = new Map<string, LifecycleSite[]>();
		const stats: EngineStats = {
			filesAnalysed: perFile.size, functionsAnalysed: 0, unparsedRegions: 0, apiCallSites: 0, apiCallSitesAnalysed: 0,
			findingsSuppressed: 0, rounds, ms: 0,
		};
		const passes = [...perFile.values()];
		for (const site of [...passes.flatMap((p) => p.lifecycle), ...helperLifecycle(passes, ctx)]) {
			if (!lifecycle.has(site.instance)) lifecycle.set(site.instance, []);
			lifecycle.get(site.instance)!.push(site);
		}
		for (const pass of passes) {
			findings.push(...pass.findings);
			stats.functionsAnalysed += pass.functions;
			stats.unparsedRegions += pass.unparsedRegions;
			stats.apiCallSitesAnalysed += pass.apiCallsAnalysed;
			stats.findingsSuppressed += pass.suppressed;
		}
		for (const f of gpcFacts) stats.apiCallSites += f.apiCalls.length;
		// Cross-file findings honour `gpcscope-ignore` comments at their line like the others.
		const lines = new Map<string, string[]>();
		const lineOf = (file: string, line: number) => {
			if (!lines.has(file)) lines.set(file, (texts.get(file) ?? byFile.get(file)?.read() ?? '').split('\n'));
			return lines.get(file)![line] ?? '';
		};
		for (const f of treeFindings(lifecycle, ctx)) {
			if (isIgnored(f.rule, [lineOf(f.file, f.range.start.line), lineOf(f.file, f.range.start.line - 1)])) stats.findingsSuppressed++;
			else findings.push(f);
		}
		const deadUsage = ctx.enabled.has('gpc-dead-usage-flag') ? severityOf('gpc-dead-usage-flag', options) : undefined;
		if (deadUsage) findings.push(...deadUsageFindings(sources, facts, era.era, this.parser, deadUsage, this.usagePlans));

		findings.sort(compareFindings);
		stats.ms = Math.round(performance.now() - started);
		const skips: EngineSkip[] = [...skipped].map(([file, reason]) => ({ file, reason }));
		for (const [file, pass] of perFile) for (const reason of pass.skipped) skips.push({ file, reason });
		return { era, findings: onePerCheckSite(dedupe(findings)), facts, lifecycle, stats, knowledge: ctx.knowledge, knowledgeFor: ctx.knowledgeFor, instanceId: ctx.instanceId, skipped: skips };
	}

	/**
	 * May-sleep summaries of the tree's call graph, kept while no file's functions, callees and
	 * sleeping calls changed: an edit inside a function that adds no call reuses them (the
	 * fixed point over all the indexed files' functions costs ~3 ms per analysis).
	 */
	private sleepSummariesOf(facts: readonly FileFacts[]): SleepSummaries {
		const keys = facts.map(sleepKey);
		if (this.lastSleep && this.lastSleep.keys.length === keys.length && this.lastSleep.keys.every((k, i) => k === keys[i])) return this.lastSleep.summaries;
		const summaries = sleepSummaries(facts);
		this.lastSleep = { keys, summaries };
		return summaries;
	}

	/**
	 * The source's own tree, or one parsed on first use and deleted by dispose(); get() throws
	 * ParseOverBudget when parsing did not finish before `deadline`.
	 */
	private lazyTree(source: SourceFile, text: string, deadline: number): { get: () => Tree; dispose: () => void } {
		let parsed: Tree | undefined;
		return {
			get: () => {
				const tree = source.tree?.() ?? (parsed ??= this.parseBefore(text, deadline));
				if (!tree) throw new ParseOverBudget();
				return tree;
			},
			dispose: () => parsed?.delete(),
		};
	}

	/** A fresh tree of `text`, or undefined when parsing ran past `deadline`. */
	private parseBefore(text: string, deadline: number): Tree | undefined {
		const progressCallback = () => performance.now() > deadline;
		const tree = this.parser.parse(text, null, Number.isFinite(deadline) ? { progressCallback } : undefined);
		// Cancelled: the next parse must start afresh, not resume this one.
		if (!tree) this.parser.reset();
		return tree ?? undefined;
	}

	/**
	 * Runs `use` on the source's own tree, or on a fresh one that is deleted afterwards.
	 * False when parsing did not finish before `deadline` (the file is then skipped).
	 */
	private withTree(source: SourceFile, text: string, deadline: number, use: (tree: Tree) => void): boolean {
		const borrowed = source.tree?.();
		const tree = borrowed ?? this.parseBefore(text, deadline);
		if (!tree) return false;
		try {
			use(tree);
		} finally {
			if (!borrowed) tree.delete();
		}
		return true;
	}
}

/** What sleepSummaries() reads of a file's facts, as a string (computed once per facts object). */
const sleepKeys = new WeakMap<FileFacts, string>();
function sleepKey(f: FileFacts): string {
	let key = sleepKeys.get(f);
	if (key === undefined) {
		key = JSON.stringify([f.file, f.functions.map((fn) => [fn.name, fn.file, fn.isStatic, fn.dropsCallerLock, fn.sleeps, fn.callees])]);
		sleepKeys.set(f, key);
	}
	return key;
}

function hasMarkDirtyHelper(api: Map<string, unknown>, facts: FileFacts[]): boolean {
	if (!api.has('kvm_gpc_mark_dirty_in_slot')) return false;
	const declares = facts.some((f) => f.declarations.length > 0);
	return !declares || facts.some((f) => f.declarations.some((d) => d.name === 'kvm_gpc_mark_dirty_in_slot'));
}

/** Functions that return a check of one of their parameters, and which parameter. */
function checkWrappers(facts: FileFacts[], api: Map<string, GpcFunction>): (name: string) => number | undefined {
	const wrappers = new Map<string, number>();
	for (const f of facts) {
		for (const fn of f.functions) {
			const check = fn.returnsCheck && api.get(fn.returnsCheck.callee);
			const index = check ? fn.params.indexOf(fn.returnsCheck!.args[check.gpc]?.replace(/^&/, '') ?? '') : -1;
			if (index >= 0) wrappers.set(fn.name, index);
		}
	}
	return (name) => wrappers.get(name);
}

/** gpc users, and their callers (whose call sites carry the context the users run in). */
function relevantFunctions(facts: FileFacts[]): Set<string> {
	const users = new Set(facts.flatMap((f) => f.functions.filter((fn) => fn.usesGpc).map((fn) => fn.name)));
	const relevant = new Set(users);
	for (const f of facts) for (const fn of f.functions) if (fn.callees.some((c) => users.has(c))) relevant.add(fn.name);
	return relevant;
}

/**
 * An instance is its owner struct and field: "kvm_vcpu_xen.runstate_cache" from the
 * struct that declares the field, or the base variable's type plus the path.
 */
function instanceIdentity(facts: FileFacts[]): (path: string, types: Map<string, string>) => string | undefined {
	const declaringStruct = new Map<string, string | undefined>();
	for (const g of facts.flatMap((f) => f.gpcFields)) {
		// A field name two structs declare cannot name an instance on its own.
		declaringStruct.set(g.field, declaringStruct.has(g.field) && declaringStruct.get(g.field) !== g.struct ? undefined : g.struct);
	}
	return (path, types) => {
		const field = lastSegment(path);
		const struct = declaringStruct.get(field);
		return struct && path.includes('.') ? `${struct}.${field}` : ownerKey(path, types);
	};
}

/** "v.arch.xen.runstate_cache" with v: kvm_vcpu → "kvm_vcpu.arch.xen.runstate_cache". */
export function ownerKey(path: string, types: Map<string, string>): string | undefined {
	const base = baseIdentifier(path);
	const type = types.get(base);
	if (!type || type === 'gfn_to_pfn_cache') return undefined;
	return `${type}${path.slice(base.length)}`.replace(/^kvm_vcpu\.kvm\./, 'kvm.');
}

/** Updates what callees learn from their callers; true when something new was learnt. */
function learnFromCalls(passes: FilePass[], atomicEntry: Map<string, AtomicContext>, callerHolds: Map<string, 'none' | 'some'>): boolean {
	let changed = false;
	for (const pass of passes) {
		for (const { analysis, file } of pass.analyses) {
			for (const call of analysis.calls) {
				const held = call.heldGpc.length > 0;
				const before = callerHolds.get(call.callee);
				const after = held || before === 'some' ? 'some' : 'none';
				if (before !== after) {
					callerHolds.set(call.callee, after);
					changed = true;
				}
				const ctx = call.atomic ?? (held ? { why: `called with ${call.heldGpc[0]}.lock held`, site: call.node } : undefined);
				if (ctx && !atomicEntry.has(call.callee)) {
					atomicEntry.set(call.callee, { why: `${analysis.name}() calls it while ${ctx.why}`, site: call.node, file });
					changed = true;
				}
			}
		}
	}
	return changed;
}

/** A `gpcscope-ignore: rule-a, rule-b` comment on one of these lines names the rule. */
function isIgnored(rule: RuleId, lines: string[]): boolean {
	return lines.some((l) => {
		const m = IGNORE_COMMENT.exec(l);
		return !!m && m[1].split(/\s*,\s*/).includes(rule);
	});
}

/** Pass 2 of one file; `tree` is asked for only when a function is not in the memo. */
function analyzeFile(file: string, text: string, tree: () => Tree, ctx: TreeContext, memo: FunctionMemo, outline: FileOutline): FilePass {
	const pass: FilePass = { findings: [], lifecycle: [], analyses: [], skipped: [], functions: 0, unparsedRegions: 0, apiCallsAnalysed: 0, suppressed: 0 };
	const { errors, lines } = outline;
	const ignored = (line: number, rule: RuleId) => isIgnored(rule, [lines[line] ?? '', lines[line - 1] ?? '']);
	const isImplementation = ctx.implementationFiles.has(file);
	const fileKnowledge = ctx.knowledgeFor(file);

	for (const fn of outline.functions) {
		const name = fn.name;
		if (!name || !ctx.relevant.has(name)) continue;
		fileKnowledge.checkBudget?.();
		const origin = { row: fn.startRow, index: fn.startIndex };
		const key = memoKey(fn);
		const result = memo.lookup(key, fileKnowledge, origin) ?? memo.record(key, fileKnowledge, origin, (knowledge) => analyzeOne(functionNode(tree(), fn), name, knowledge));
		if (!result) continue;
		pass.findings.push(...result.findings);
		pass.lifecycle.push(...result.lifecycle);
		pass.suppressed += result.suppressed;
		pass.analyses.push({ analysis: result.summary, types: result.summary.types, file });
		pass.functions++;
		pass.unparsedRegions += result.unparsedRegions;
		pass.apiCallsAnalysed += result.apiCallsAnalysed;
	}
	const seenSites = new Set<string>();
	pass.lifecycle = pass.lifecycle.filter((s) => {
		const key = `${s.instance}@${s.range.start.line}:${s.range.start.character}`;
		return !seenSites.has(key) && !!seenSites.add(key);
	});
	return pass;

	/**
	 * Everything the function's result depends on besides the tree's answers (recorded by the
	 * memo): its text, the lines a `gpcscope-ignore` comment for it may sit on, the ERROR
	 * regions over it, and the settings and tree facts shared by the whole analysis.
	 */
	function memoKey(fn: FunctionOutline): string {
		const [start, end] = [fn.startIndex, fn.endIndex];
		const overErrors = errors.filter(([s, e]) => s < end && e > start).map(([s, e]) => `${s - start}-${e - start}`);
		const around = [lines[fn.startRow - 1], lines[fn.startRow], lines[fn.endRow]];
		return JSON.stringify([ctx.fingerprint, file, isImplementation, overErrors, around, text.slice(start, end)]);
	}

	/** Pass 2 of one function, in the file's coordinates; undefined when it cannot be analysed. */
	function analyzeOne(fn: SyntaxNode, name: string, knowledge: TreeKnowledge): FunctionResult | undefined {
		if (deeperThan(fn, MAX_FUNCTION_DEPTH)) {
			pass.skipped.push(`${name}() at line ${fn.startPosition.row + 1} is nested more than ${MAX_FUNCTION_DEPTH} levels deep; not analysed`);
			return undefined;
		}
		const out: FunctionResult = {
			findings: [], localRelated: [], lifecycle: [], suppressed: 0, unparsedRegions: 0, apiCallsAnalysed: 0,
			summary: { name, params: [], calls: [], types: new Map() },
		};
		try {
			analyzeInto(out, fn, name, knowledge);
		} catch (e) {
			if (!(e instanceof RangeError && /call stack/.test(e.message))) throw e;
			// Fallback for recursion the depth limit did not foresee: drop the function's partial results.
			pass.skipped.push(`${name}() at line ${fn.startPosition.row + 1} is too deeply nested to analyse (${e.message})`);
			return undefined;
		}
		return out;
	}

	function analyzeInto(out: FunctionResult, definition: SyntaxNode, name: string, knowledge: TreeKnowledge): void {
		// The scope and the dataflow read the same nodes, many times: memoised ones.
		const fn = new NodeCache().of(definition);
		const types = variableTypes(fn);
		const seen = new Set<string>();
		const checkers = FUNCTION_RULES.filter((r) => ctx.enabled.has(r.meta.id) && !(isImplementation && r.meta.readerOnly)).flatMap((rule) => {
			const severity = severityOf(rule.meta.id, ctx.options);
			if (!severity) return [];
			return [rule.create({
				file,
				era: ctx.era,
				functionName: name,
				acquiresLock: /\b__acquires\s*\(/.test(functionHeader(fn)),
				hasMarkDirtyHelper: ctx.hasMarkDirtyHelper,
				dirtyExemption: (field) => ctx.exemptions.get(field)?.reason,
				report: (node, message, related = []) => {
					const key = `${rule.meta.id}@${node.startIndex}`;
					if (seen.has(key)) return;
					seen.add(key);
					if (errors.some(([s, e]) => node.startIndex >= s && node.endIndex <= e) || ignored(node.startPosition.row, rule.meta.id)) {
						out.suppressed++;
						return;
					}
					out.findings.push({ rule: rule.meta.id, severity, file, range: rangeOf(node), message, related: related.map((r) => relatedOf(file, r)) });
					out.localRelated.push(related.map((r) => r.file === undefined));
				},
			})];
		});

		const analysis = analyzeFunction(fn, knowledge, (o) => {
			for (const c of checkers) c.observe(o);
			if (o.kind === 'gpcCall' && ['init', 'activate', 'deactivate', 'check', 'refresh'].includes(o.api.role)) {
				const instance = ctx.instanceId(o.instance, types);
				if (instance) {
					out.lifecycle.push({
						instance, role: o.api.role as LifecycleSite['role'], file, range: rangeOf(o.node), functionName: name,
						len: o.api.len !== undefined ? o.args[o.api.len]?.text : undefined,
						gpa: o.api.gpa !== undefined ? o.args[o.api.gpa]?.text : undefined,
					});
				}
			}
		});
		for (const c of checkers) c.finish?.();
		out.unparsedRegions = analysis.cfg.unparsed.length;
		out.apiCallsAnalysed = new Set(analysis.calls.filter((c) => GPC_API_NAME.test(c.callee)).map((c) => c.node.startIndex)).size;
		// Only the calls and parameters outlive the function's analysis (the next rounds learn from
		// them), and never the nodes: the tree is deleted after this file's pass, and reading a
		// deleted tree's node is a use after free in the wasm heap.
		out.summary = {
			name: analysis.name,
			params: analysis.params,
			types,
			calls: analysis.calls.map((call) => ({
				...call,
				node: detached(call.node),
				atomic: call.atomic?.site ? { ...call.atomic, site: detached(call.atomic.site) } : call.atomic,
			})),
		};
	}
}

/**
 * Where a node is, without its tree: the positions, and the text up to the end of its first
 * line (all that rangeOf() and a "line N" link need), copied so that no file text is kept.
 */
function detached(node: SyntaxNode): SyntaxNode {
	const text = node.text;
	const nl = text.indexOf('\n');
	const first = JSON.parse(JSON.stringify(nl < 0 ? text : text.slice(0, nl + 1))) as string;
	return { type: node.type, startIndex: node.startIndex, endIndex: node.endIndex, startPosition: node.startPosition, endPosition: node.endPosition, text: first } as unknown as SyntaxNode;
}

/** Whether the syntax tree under `node` is more than `limit` levels deep (an iterative walk: no recursion). */
export function deeperThan(node: SyntaxNode, limit: number): boolean {
	const cursor = node.walk();
	try {
		for (let depth = 0; ; ) {
			if (cursor.gotoFirstChild()) {
				if (++depth > limit) return true;
				continue;
			}
			while (!cursor.gotoNextSibling()) {
				if (depth === 0 || !cursor.gotoParent()) return false;
				depth--;
			}
		}
	} finally {
		cursor.delete();
	}
}

/**
 * A helper that deactivates (or activates) the cache it is given stands for that
 * lifecycle step at each of its call sites: `release(&vcpu->arch.xen.vcpu_info_cache)`.
 */
function helperLifecycle(passes: FilePass[], ctx: TreeContext): LifecycleSite[] {
	const helpers = new Map<string, { role: LifecycleSite['role']; parameter: number }[]>();
	for (const pass of passes) {
		for (const { analysis } of pass.analyses) {
			for (const call of analysis.calls) {
				const api = ctx.knowledge.api.get(call.callee);
				if (!api || !['activate', 'deactivate', 'init'].includes(api.role)) continue;
				const parameter = analysis.params.indexOf(call.argPaths[api.gpc] ?? '');
				if (parameter < 0) continue;
				const list = helpers.get(analysis.name) ?? [];
				list.push({ role: api.role as LifecycleSite['role'], parameter });
				helpers.set(analysis.name, list);
			}
		}
	}
	const sites: LifecycleSite[] = [];
	for (const pass of passes) {
		for (const { analysis, types, file } of pass.analyses) {
			for (const call of analysis.calls) {
				for (const h of helpers.get(call.callee) ?? []) {
					const path = call.argPaths[h.parameter];
					const instance = path && ctx.instanceId(path, types);
					if (instance) sites.push({ instance, role: h.role, file, range: rangeOf(call.node), functionName: analysis.name });
				}
			}
		}
	}
	return sites;
}

function treeFindings(lifecycle: Map<string, LifecycleSite[]>, ctx: TreeContext): Finding[] {
	const out: Finding[] = [];
	for (const rule of TREE_RULES) {
		if (!ctx.enabled.has(rule.meta.id)) continue;
		const severity = severityOf(rule.meta.id, ctx.options);
		if (!severity) continue;
		rule.check(lifecycle, (at, message, related = []) => {
			if (ctx.implementationFiles.has(at.file) && rule.meta.readerOnly) return;
			out.push({
				rule: rule.meta.id, severity, file: at.file, range: at.range, message,
				related: related.map((r) => ({ file: r.site.file, range: r.site.range, message: r.message })),
			});
		});
	}
	return out;
}

function severityOf(rule: RuleId, options: EngineOptions): Severity | undefined {
	const configured = options.severity?.[rule];
	if (configured === 'off') return undefined;
	return configured ?? RULES.get(rule)!.severity;
}

export function rangeOf(node: SyntaxNode): Range {
	const end = node.startPosition.row === node.endPosition.row ? node.endPosition : { row: node.startPosition.row, column: node.startPosition.column + firstLineLength(node) };
	return {
		start: { line: node.startPosition.row, character: node.startPosition.column },
		end: { line: end.row, character: end.column },
	};
}

function firstLineLength(node: SyntaxNode): number {
	const nl = node.text.indexOf('\n');
	// A CRLF line ends before its '\r' (LSP positions past it are outside the line).
	return nl < 0 ? node.text.length : nl > 0 && node.text[nl - 1] === '\r' ? nl - 1 : nl;
}

function relatedOf(file: string, r: Related): RelatedLocation {
	return { file: r.file ?? file, range: rangeOf(r.node), message: r.message };
}

/** Rules that can all fire on one check call; the first in this order explains the others. */
const CHECK_SITE_PRECEDENCE: RuleId[] = ['gpc-use-unchecked', 'gpc-check-unlocked', 'gpc-use-before-activate', 'gpc-len-mismatch'];

/** One finding per check line: a check of the wrong cache is also unlocked and has the wrong length. */
function onePerCheckSite(findings: Finding[]): Finding[] {
	const best = new Map<string, number>();
	const rank = (f: Finding) => CHECK_SITE_PRECEDENCE.indexOf(f.rule);
	for (const f of findings) {
		if (rank(f) < 0) continue;
		const key = `${f.file}:${f.range.start.line}`;
		best.set(key, Math.min(best.get(key) ?? Infinity, rank(f)));
	}
	return findings.filter((f) => rank(f) < 0 || best.get(`${f.file}:${f.range.start.line}`) === rank(f));
}

function dedupe(findings: Finding[]): Finding[] {
	const out: Finding[] = [];
	let last = '';
	for (const f of findings) {
		const key = `${f.file}:${f.range.start.line}:${f.range.start.character}:${f.rule}:${f.message}`;
		if (key !== last) out.push(f);
		last = key;
	}
	return out;
}

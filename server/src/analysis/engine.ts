// The one engine behind the CLI and the language server:
//   pass 1  facts of every file (era, gpc fields, call graph, may-sleep seeds);
//   pass 2  per-function dataflow with the rules, in rounds: each round learns
//           what callers pass their callees (atomic context, gpc locks held)
//           and the next round re-analyses with it;
//   then    the cross-file rules over the merged lifecycle facts (lifecycle.ts)
//           and the rules over the analysed files as a whole (gpc-dead-usage-flag).
// Pass 2 of one file is filePass.ts; what each function learns of the tree, knowledge.ts.
import type { Parser } from 'web-tree-sitter';
import { createCParser, type Tree } from '../parse/parser';
import { ALL_GPC_FUNCTION_NAMES, type ApiEra } from './api';
import { CallerLocks } from './callerLocks';
import { callingContexts } from './contexts';
import { apiTable, detectEra, type EraDecision } from './era';
import { dirtyExemptions } from './exemptions';
import { Escapes } from './escapes';
import { extractFacts, type FileFacts } from './facts';
import { compareFindings, dedupe, onePerCheckSite, type Finding, type UnparsedNotice } from './findings';
import { analyzeFileSteps, severityOf, type FilePass, type TreeContext } from './filePass';
import type { HoverFact } from './hoverFacts';
import type { TreeKnowledge } from './flow';
import { checkWrappers, hasMarkDirtyHelper, instanceIdentity, learnFromCalls, relevantFunctions } from './knowledge';
import { helperLifecycle, treeCallGraph, treeFindings } from './lifecycle';
import { functionName } from '../parse/declarations';
import { Outlines } from './outline';
import { FunctionMemo } from './memo';
import { OpsTables } from './ops';
import type { AtomicContext } from './observations';
import { IMPLEMENTED_RULES, SOURCE_RULES } from './rules';
import { sleepSummaries, type SleepSummaries } from './sleep';
import { isSuppressed } from './suppressions';
import type { SourceFile } from './source';
import type { LifecycleSite } from './rules/treeRule';
import type { RuleNotes, SourceRule } from './rules/types';
import { unparsedNotices } from './unparsed';
import { ruleInfo, type RuleId, type Severity } from '../catalogue';
import { GPC_API_MENTION, LOCK_MENTION } from '../vocabulary';

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
	/** `rwlock_t` sleeps, as on PREEMPT_RT kernels: enables gpc-lock-in-hardirq. */
	preemptRt?: boolean;
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
	/** What rules leave for the editor features (the usage census for the hover). */
	notes: RuleNotes;
	/** Per file, gpc code tree-sitter could not parse: what the analysis could not see. */
	unparsed: UnparsedNotice[];
	/** What a hover shows in an analysed function, if it still has the text the analysis saw (hoverFacts.ts). */
	hoverFacts(file: string, name: string, text: string): HoverFact[] | undefined;
}

const MAX_ROUNDS = 3;
/** No single file may hang the engine (and with it a whole tree, or the language server). */
export const DEFAULT_FILE_BUDGET_MS = 20_000;
class BudgetExceeded extends Error {}
class ParseOverBudget extends Error {}

export class Engine {
	/** Pass 2 of unchanged functions, reused across analyses (an edit re-analyses what it changed). */
	private readonly memo = new FunctionMemo();
	private readonly outlines = new Outlines();
	/** Rules over the analysed files as a whole, each keeping its own state between analyses. */
	private readonly sourceRules: { rule: SourceRule; checker: ReturnType<SourceRule['create']> }[];
	private lastSleep?: { keys: string[]; summaries: SleepSummaries };

	private constructor(readonly parser: Parser) {
		this.sourceRules = SOURCE_RULES.map((rule) => ({ rule, checker: rule.create(parser) }));
	}

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
	 * answers requests meanwhile). Undefined when `cancelled()` turned true at such a turn.
	 * A turn may fall between two functions of one file, with that file's tree in use: whoever
	 * edits or drops a tree meanwhile must cancel the analysis in the same turn (the language
	 * server's workspace requests a newer one, which cancels it), and `cancelled()` is asked
	 * before the analysis touches anything again.
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

	/** The analysis, in steps: it pauses (yields) between files, between the functions of a file, and between its phases. */
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
				else if (!source.summariesOnly && (GPC_API_MENTION.test(text) || LOCK_MENTION.test(text)) && texts.size < 256) texts.set(source.file, text);
			}
			hooks.onProgress?.('facts', i + 1, sources.length);
		}
		const analysable = new Set(sources.filter((s) => !s.summariesOnly && !skipped.has(s.file)).map((s) => s.file));
		const gpcFacts = facts.filter((f) => analysable.has(f.file));
		const era = detectEra(gpcFacts, options.era);
		const api = apiTable(era.era, gpcFacts);
		// Calls through vendor ops tables reach the implementations the tables name (ops.ts).
		const ops = new OpsTables(facts);
		yield;
		const maySleep = this.sleepSummariesOf(facts, ops);
		yield;

		const atomicEntry = new Map<string, AtomicContext>();
		const gpcUsers = new Set(gpcFacts.flatMap((f) => f.functions.filter((fn) => fn.usesGpc).map((fn) => fn.name)));
		const entryContexts = callingContexts(ops.expanded(facts), (name) => gpcUsers.has(name));
		const callerHolds = new Map<string, 'none' | 'some'>();
		const callerLocks = new CallerLocks(facts);
		const escapes = new Escapes();
		let learntCallers = false;
		let deadline = Infinity;
		const ctx: TreeContext = {
			knowledge: {
				api,
				gpcFields: new Set(gpcFacts.flatMap((f) => f.gpcFields.map((g) => g.field))),
				maySleep: (name) => maySleep.from(undefined, name),
				atomicEntry: (name) => atomicEntry.get(name),
				callersHoldGpc: (name) => (learntCallers ? callerHolds.get(name) ?? 'none' : 'unknown'),
				callerLocks: (name) => callerLocks.of(undefined, name),
				khvaHolder: (field) => escapes.holder(field),
				lockedKhvaReturn: (name) => escapes.lockedReturn(name),
				checkWrapper: checkWrappers(gpcFacts, api),
				entryContexts: (name) => entryContexts.get(name) ?? [],
				checkBudget: () => {
					if (performance.now() > deadline) throw new BudgetExceeded();
				},
			},
			enabled: enabledRules(options),
			options,
			exemptions: dirtyExemptions(options.dirtyExemptions),
			era: era.era,
			hasMarkDirtyHelper: hasMarkDirtyHelper(api, gpcFacts),
			implementationFiles: new Set(gpcFacts.filter((f) => f.functions.some((fn) => ALL_GPC_FUNCTION_NAMES.has(fn.name) && api.has(fn.name))).map((f) => f.file)),
			relevant: relevantFunctions(ops.expanded(gpcFacts)),
			escapes,
			instanceId: instanceIdentity(gpcFacts),
			fingerprint: '',
			knowledgeFor: (file) => ({ ...ctx.knowledge, maySleep: (name) => maySleep.from(file, name), callerLocks: (name) => callerLocks.of(file, name) }),
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
					const pass = analyzeFileSteps(file, text, tree.get, ctx, this.memo, this.outlines.get(file, text, tree.get, functionName));
					for (let step = pass.next(); ; step = pass.next()) {
						if (step.done) {
							perFile.set(file, step.value);
							break;
						}
						// A pause between two functions: the time spent away is not the file's.
						const away = performance.now();
						yield;
						deadline += performance.now() - away;
					}
				} catch (e) {
					if (e instanceof ParseOverBudget) overBudget(file, 'parsing');
					else if (e instanceof BudgetExceeded) overBudget(file, `dataflow, round ${rounds + 1}`);
					else throw e;
				} finally {
					tree.dispose();
					deadline = Infinity;
				}
			}
			yield;
			const summaries = [...perFile.values()].flatMap((p) => p.analyses);
			changed = [learnFromCalls([...perFile.values()], atomicEntry, callerHolds, ops), callerLocks.learn(summaries), escapes.learn(summaries)].includes(true) || !learntCallers;
			learntCallers = true;
		}
		this.outlines.retain(new Set(gpcFiles));

		yield;
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
		const linesOf = (file: string) => {
			if (!lines.has(file)) lines.set(file, (texts.get(file) ?? byFile.get(file)?.read() ?? '').split('\n'));
			return lines.get(file)!;
		};
		for (const f of treeFindings(lifecycle, ctx, treeCallGraph(facts, [...api.values()].some((fn) => fn.role === 'init')))) {
			if (isSuppressed(f.rule, f.range.start.line, (row) => linesOf(f.file)[row])) stats.findingsSuppressed++;
			else findings.push(f);
		}
		const notes: RuleNotes = {};
		const analysed = sources.filter((s) => !s.summariesOnly);
		for (const { rule, checker } of this.sourceRules) {
			const severity = ctx.enabled.has(rule.id) ? severityOf(rule.id, options) : undefined;
			if (!severity) continue;
			yield;
			Object.assign(notes, checker.check({
				sources: analysed, facts, era: era.era,
				report: (file, range, message, fix) => findings.push({ rule: rule.id, severity, file, range, message, related: [], ...(fix && { fix }) }),
			}));
		}

		findings.sort(compareFindings);
		stats.ms = Math.round(performance.now() - started);
		const skips: EngineSkip[] = [...skipped].map(([file, reason]) => ({ file, reason }));
		for (const [file, pass] of perFile) for (const reason of pass.skipped) skips.push({ file, reason });
		const unparsed = unparsedNotices(gpcFacts, perFile, linesOf);
		const hover = new Map([...perFile].map(([file, pass]) => [file, pass.hover]));
		const hoverFacts = (file: string, name: string, text: string) => hover.get(file)?.find((h) => h.name === name && h.text === text)?.facts;
		return { era, findings: onePerCheckSite(dedupe(findings)), facts, lifecycle, notes, stats, knowledge: ctx.knowledge, knowledgeFor: ctx.knowledgeFor, instanceId: ctx.instanceId, skipped: skips, unparsed, hoverFacts };
	}

	/**
	 * May-sleep summaries of the tree's call graph, kept while no file's functions, callees and
	 * sleeping calls changed: an edit inside a function that adds no call reuses them (the
	 * fixed point over all the indexed files' functions costs ~3 ms per analysis).
	 */
	private sleepSummariesOf(facts: readonly FileFacts[], ops: OpsTables): SleepSummaries {
		const keys = facts.map(sleepKey);
		if (this.lastSleep && this.lastSleep.keys.length === keys.length && this.lastSleep.keys.every((k, i) => k === keys[i])) return this.lastSleep.summaries;
		const summaries = sleepSummaries(facts, ops);
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

/** The rules asked for (all by default), less those whose engine option is off. */
function enabledRules(options: EngineOptions): ReadonlySet<RuleId> {
	const asked = options.rules ?? IMPLEMENTED_RULES;
	return new Set([...asked].filter((id) => ruleInfo(id).requires !== 'preemptRt' || options.preemptRt));
}

/** What sleepSummaries() reads of a file's facts, as a string (computed once per facts object). */
const sleepKeys = new WeakMap<FileFacts, string>();
function sleepKey(f: FileFacts): string {
	let key = sleepKeys.get(f);
	if (key === undefined) {
		key = JSON.stringify([f.file, f.functions.map((fn) => [fn.name, fn.file, fn.isStatic, fn.dropsCallerLock, fn.sleeps, fn.callees]), f.opsTables ?? []]);
		sleepKeys.set(f, key);
	}
	return key;
}

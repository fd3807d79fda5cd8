// Pass 2 of one file: each relevant function's dataflow with the rules, from the
// memo when neither its text nor the tree's answers to it changed.
import type { ApiEra } from './api';
import type { EngineOptions } from './engine';
import type { Escapes } from './escapes';
import type { DirtyExemption } from './exemptions';
import type { Finding, RelatedLocation } from './findings';
import { analyzeFunctionSteps, type TreeKnowledge } from './flow';
import { hoverFact, type HoverFact } from './hoverFacts';
import type { FunctionMemo, FunctionResult, FunctionSummary } from './memo';
import { functionNode, type FileOutline, type FunctionOutline } from './outline';
import { FUNCTION_RULES } from './rules';
import type { LifecycleSite } from './rules/treeRule';
import type { Related } from './rules/types';
import { isSuppressed } from './suppressions';
import { unparsedFunctions, type UnparsedFunction } from './unparsed';
import { NodeCache } from '../parse/cachedNodes';
import { functionHeader, variableTypes } from '../parse/declarations';
import { deeperThan } from '../parse/nodes';
import type { SyntaxNode, Tree } from '../parse/parser';
import { detach, rangeOf } from '../parse/positions';
import { ruleInfo, type RuleId, type Severity } from '../catalogue';
import { GPC_API_NAME } from '../vocabulary';

/**
 * The CFG builder and the interpreter recurse along the syntax tree: deeper functions (5,000
 * nested blocks, a 1,000-term `else if` chain) would overflow the JS stack. Real kernel
 * functions stay far below this.
 */
export const MAX_FUNCTION_DEPTH = 400;

/** What every file's analysis shares. */
export interface TreeContext {
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
	/** And those that dereference a field some function stored a khva in. */
	escapes: Escapes;
	instanceId(path: string, types: Map<string, string>): string | undefined;
	/** The settings and tree facts every function's result depends on (part of its memo key). */
	fingerprint: string;
}

export interface FilePass {
	findings: Finding[];
	lifecycle: LifecycleSite[];
	analyses: { analysis: FunctionSummary; types: Map<string, string>; file: string }[];
	/** Functions not analysed, with why. */
	skipped: string[];
	functions: number;
	unparsedRegions: number;
	apiCallsAnalysed: number;
	suppressed: number;
	/** Functions that use the gpc API and overlap an ERROR region. */
	unparsed: UnparsedFunction[];
	/** Each analysed function's text and hover facts (hoverFacts.ts). */
	hover: FunctionHover[];
}

export interface FunctionHover {
	name: string;
	text: string;
	facts: HoverFact[];
}

/** Pass 2 of one file; `tree` is asked for only when a function is not in the memo. */
export function analyzeFile(file: string, text: string, tree: () => Tree, ctx: TreeContext, memo: FunctionMemo, outline: FileOutline): FilePass {
	const steps = analyzeFileSteps(file, text, tree, ctx, memo, outline);
	for (;;) {
		const step = steps.next();
		if (step.done) return step.value;
	}
}

/**
 * The same, pausing (yielding) before each function it analyses afresh, so that a language
 * server answers requests between two functions of a large file (x86.c, xen.c) rather than
 * after the whole file. `tree` is asked for again after every pause.
 */
export function* analyzeFileSteps(file: string, text: string, tree: () => Tree, ctx: TreeContext, memo: FunctionMemo, outline: FileOutline): Generator<void, FilePass> {
	// gpc code tree-sitter could not parse: not analysed there, and said so (unparsed.ts).
	const pass: FilePass = { findings: [], lifecycle: [], analyses: [], skipped: [], functions: 0, unparsedRegions: 0, apiCallsAnalysed: 0, suppressed: 0, unparsed: unparsedFunctions(outline, text), hover: [] };
	const { errors, lines } = outline;
	const isImplementation = ctx.implementationFiles.has(file);
	const fileKnowledge = ctx.knowledgeFor(file);

	let looked = 0;
	for (const fn of outline.functions) {
		const name = fn.name;
		if (!name || !(ctx.relevant.has(name) || ctx.escapes.mentionsHolder(text.slice(fn.startIndex, fn.endIndex)))) continue;
		fileKnowledge.checkBudget?.();
		const origin = { row: fn.startRow, index: fn.startIndex };
		const key = memoKey(fn);
		// Remembered results cost little each, but x86.c has a hundred: a pause every few.
		if (++looked % LOOKUPS_PER_PAUSE === 0) yield;
		let result = memo.lookup(key, fileKnowledge, origin);
		if (!result) {
			yield;
			result = yield* memo.record(key, fileKnowledge, origin, (knowledge) => analyzeOne(functionNode(tree(), fn), name, knowledge));
		}
		if (!result) continue;
		pass.findings.push(...result.findings);
		pass.lifecycle.push(...result.lifecycle);
		pass.suppressed += result.suppressed;
		pass.analyses.push({ analysis: result.summary, types: result.summary.types, file });
		pass.functions++;
		pass.unparsedRegions += result.unparsedRegions;
		pass.apiCallsAnalysed += result.apiCallsAnalysed;
		pass.hover.push({ name, text: text.slice(fn.startIndex, fn.endIndex), facts: result.hover });
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
		const context = JSON.stringify([ctx.fingerprint, file, isImplementation, overErrors, around]);
		// An outline entry stands for one text of the function: its key is built once, not per round.
		const known = memoKeys.get(fn);
		if (known?.context === context) return known.key;
		const key = `${context}\n${text.slice(start, end)}`;
		memoKeys.set(fn, { context, key });
		return key;
	}

	/** Pass 2 of one function, in the file's coordinates (pausing within it); undefined when it cannot be analysed. */
	function* analyzeOne(fn: SyntaxNode, name: string, knowledge: TreeKnowledge): Generator<void, FunctionResult | undefined> {
		if (deeperThan(fn, MAX_FUNCTION_DEPTH)) {
			pass.skipped.push(`${name}() at line ${fn.startPosition.row + 1} is nested more than ${MAX_FUNCTION_DEPTH} levels deep; not analysed`);
			return undefined;
		}
		const out: FunctionResult = {
			findings: [], localRelated: [], lifecycle: [], suppressed: 0, unparsedRegions: 0, apiCallsAnalysed: 0, hover: [],
			summary: { name, params: [], calls: [], stores: [], types: new Map() },
		};
		try {
			yield* analyzeInto(out, fn, name, knowledge);
		} catch (e) {
			if (!(e instanceof RangeError && /call stack/.test(e.message))) throw e;
			// Fallback for recursion the depth limit did not foresee: drop the function's partial results.
			pass.skipped.push(`${name}() at line ${fn.startPosition.row + 1} is too deeply nested to analyse (${e.message})`);
			return undefined;
		}
		return out;
	}

	function* analyzeInto(out: FunctionResult, definition: SyntaxNode, name: string, knowledge: TreeKnowledge): Generator<void, void> {
		// The scope and the dataflow read the same nodes, many times: memoised ones.
		const fn = new NodeCache().of(definition);
		const types = variableTypes(fn);
		const seen = new Set<string>();
		const checkers = FUNCTION_RULES.filter((r) => ctx.enabled.has(r.id) && !(isImplementation && ruleInfo(r.id).readerOnly)).flatMap((rule) => {
			const severity = severityOf(rule.id, ctx.options);
			if (!severity) return [];
			return [rule.create({
				file,
				era: ctx.era,
				functionName: name,
				acquiresLock: /\b__acquires\s*\(/.test(functionHeader(fn)),
				hasMarkDirtyHelper: ctx.hasMarkDirtyHelper,
				dirtyExemption: (field) => ctx.exemptions.get(field)?.reason,
				report: (node, message, related = [], fix) => {
					const key = `${rule.id}@${node.startIndex}`;
					if (seen.has(key)) return;
					seen.add(key);
					if (errors.some(([s, e]) => node.startIndex >= s && node.endIndex <= e) || isSuppressed(rule.id, node.startPosition.row, (row) => lines[row])) {
						out.suppressed++;
						return;
					}
					out.findings.push({ rule: rule.id, severity, file, range: rangeOf(node), message, related: related.map((r) => relatedOf(file, r)), ...(fix ? { fix } : {}) });
					out.localRelated.push(related.map((r) => r.file === undefined));
				},
			})];
		});

		const origin = { row: fn.startPosition.row, index: fn.startIndex };
		const analysis = yield* analyzeFunctionSteps(fn, knowledge, (o) => {
			for (const c of checkers) c.observe(o);
			const fact = hoverFact(o, origin);
			if (fact) out.hover.push(fact);
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
			stores: analysis.stores.map((st) => ({ ...st, node: detach(st.node) })),
			returnsLocked: analysis.returnsLocked,
			calls: analysis.calls.map((call) => ({
				...call,
				node: detach(call.node),
				atomic: call.atomic?.site ? { ...call.atomic, site: detach(call.atomic.site) } : call.atomic,
			})),
		};
	}
}

const LOOKUPS_PER_PAUSE = 8;

/** Memo keys by outline entry (outlines are kept per file text, so an unchanged function keeps its entry). */
const memoKeys = new WeakMap<FunctionOutline, { context: string; key: string }>();

export function severityOf(rule: RuleId, options: EngineOptions): Severity | undefined {
	const configured = options.severity?.[rule];
	if (configured === 'off') return undefined;
	return configured ?? ruleInfo(rule).severity;
}

function relatedOf(file: string, r: Related): RelatedLocation {
	if (!('node' in r)) return { file: r.file, range: { start: { line: r.line, character: 0 }, end: { line: r.line, character: 0 } }, message: r.message };
	return { file: r.file ?? file, range: rangeOf(r.node), message: r.message };
}

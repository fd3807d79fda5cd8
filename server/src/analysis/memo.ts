// Pass 2 per function, remembered across analyses: an edit re-analyses only the
// functions whose text changed, or whose answers from the rest of the tree did.
//
// A result is stored relative to its function's start (rows and offsets), so an
// edit above the function only moves it. What the analysis asked the tree
// (may-sleep chains, callers' contexts, ...) is recorded with the answers; the
// result is reused only while every answer is still the same. No SyntaxNode is
// kept: trees are deleted after each pass.
import { movedSpan, type NodeSpan } from '../parse/positions';
import type { Finding, Range } from './findings';
import type { FunctionAnalysis, TreeKnowledge } from './flow';
import type { LifecycleSite } from './rules/treeRule';
import type { HoverFact } from './hoverFacts';
import { relocated } from './relocate';

/** A call as pass 2 keeps it: its node detached from the tree (deleted after each file's pass). */
export type CallSummary = Omit<FunctionAnalysis['calls'][number], 'node'> & { node: NodeSpan };

/** A khva stored in a field, likewise detached. */
export type StoreSummary = Omit<FunctionAnalysis['stores'][number], 'node'> & { node: NodeSpan };

/** What pass 2 keeps of one function: the calls and parameters for the next rounds, the khva it stores or returns locked, and the lifecycle. */
export type FunctionSummary = Pick<FunctionAnalysis, 'name' | 'params' | 'returnsLocked'> & { calls: CallSummary[]; stores: StoreSummary[]; types: Map<string, string> };

/** One function's pass-2 output, in the file's coordinates. */
export interface FunctionResult {
	findings: Finding[];
	/** Per finding, per related location: in this function (it moves with it) or elsewhere. */
	localRelated: boolean[][];
	lifecycle: LifecycleSite[];
	summary: FunctionSummary;
	suppressed: number;
	unparsedRegions: number;
	apiCallsAnalysed: number;
	/** What a hover shows at the function's gpc calls, locks and khva uses (relative to its start, like nothing else here). */
	hover: HoverFact[];
}

/** Where a function starts: the origin its memoised result is relative to. */
export interface Origin {
	row: number;
	index: number;
}

type Question = 'maySleep' | 'atomicEntry' | 'callersHoldGpc' | 'callerLocks' | 'checkWrapper' | 'entryContexts' | 'khvaHolder' | 'lockedKhvaReturn';
const QUESTIONS: Question[] = ['maySleep', 'atomicEntry', 'callersHoldGpc', 'callerLocks', 'checkWrapper', 'entryContexts', 'khvaHolder', 'lockedKhvaReturn'];

interface Entry {
	/** `${question}\0${name}` → the answer, as JSON. */
	answers: Map<string, string | undefined>;
	/** Relative to the origin (row 0, offset 0). */
	result: FunctionResult;
	/** The result last placed at an origin: a function an edit did not move gets the same object again (results are never modified). */
	placed?: { origin: Origin; result: FunctionResult };
	lastUsed: number;
}

/** Entries unused for this many analyses are dropped (an undone edit still finds its old entries). */
const KEEP_GENERATIONS = 3;
/** Variants per function text: the rounds of one analysis ask with different knowledge. */
const MAX_VARIANTS = 4;

export class FunctionMemo {
	private readonly entries = new Map<string, Entry[]>();
	private generation = 0;
	/** Functions analysed, and results reused with other functions' positions moved (relocate.ts). */
	readonly counts = { analysed: 0, relocated: 0 };

	/** Starts an analysis: forgets entries no recent analysis used. */
	nextGeneration(): void {
		this.generation++;
		for (const [key, list] of this.entries) {
			const kept = list.filter((e) => this.generation - e.lastUsed <= KEEP_GENERATIONS);
			if (kept.length) this.entries.set(key, kept);
			else this.entries.delete(key);
		}
	}

	/**
	 * The remembered result for this key whose recorded answers all still hold, at `origin`.
	 * Failing that, one whose answers changed only in where other functions sit (an edit above
	 * a caller moved its lines): its result with those locations moved (relocate.ts).
	 */
	lookup(key: string, knowledge: TreeKnowledge, origin: Origin): FunctionResult | undefined {
		const list = this.entries.get(key);
		if (!list) return undefined;
		let entry = list.find((e) => stillAnswered(e.answers, knowledge));
		if (!entry) {
			for (const candidate of list) {
				const now = currentAnswers(candidate.answers, knowledge);
				const result = relocated(candidate.answers, now, candidate.result);
				if (!result) continue;
				candidate.answers = now;
				candidate.result = result;
				candidate.placed = undefined;
				entry = candidate;
				this.counts.relocated++;
				break;
			}
		}
		if (!entry) return undefined;
		entry.lastUsed = this.generation;
		if (entry.placed?.origin.row !== origin.row || entry.placed.origin.index !== origin.index) entry.placed = { origin, result: moved(entry.result, origin) };
		return entry.placed.result;
	}

	/**
	 * Runs `analyze` (in steps: it may pause) with a knowledge that records what it is asked,
	 * remembers the result under `key`, and returns it. Results that `analyze` declines
	 * (undefined) are not kept.
	 */
	*record(key: string, knowledge: TreeKnowledge, origin: Origin, analyze: (k: TreeKnowledge) => Generator<void, FunctionResult | undefined>): Generator<void, FunctionResult | undefined> {
		const answers = new Map<string, string | undefined>();
		this.counts.analysed++;
		const result = yield* analyze(recording(knowledge, answers));
		if (!result) return undefined;
		const list = this.entries.get(key) ?? [];
		list.unshift({ answers, result: moved(result, { row: -origin.row, index: -origin.index }), lastUsed: this.generation });
		if (list.length > MAX_VARIANTS) list.length = MAX_VARIANTS;
		this.entries.set(key, list);
		return result;
	}

	get size(): number {
		let n = 0;
		for (const list of this.entries.values()) n += list.length;
		return n;
	}
}

function recording(knowledge: TreeKnowledge, answers: Map<string, string | undefined>): TreeKnowledge {
	const recorded = { ...knowledge };
	for (const question of QUESTIONS) {
		const ask = knowledge[question] as ((name: string) => unknown) | undefined;
		if (!ask) continue;
		(recorded as Record<Question, unknown>)[question] = (name: string) => {
			const answer = ask(name);
			// A knowledge answers a question the same way each time: recorded once (the dataflow asks at every call it passes).
			const key = `${question}\0${name}`;
			if (!answers.has(key)) answers.set(key, JSON.stringify(answer));
			return answer;
		};
	}
	return recorded;
}

function stillAnswered(answers: Map<string, string | undefined>, knowledge: TreeKnowledge): boolean {
	for (const [question, answer] of answers) if (answerNow(question, knowledge) !== answer) return false;
	return true;
}

/** The knowledge's answers to the questions `answers` records, as JSON. */
function currentAnswers(answers: Map<string, string | undefined>, knowledge: TreeKnowledge): Map<string, string | undefined> {
	return new Map([...answers.keys()].map((question) => [question, answerNow(question, knowledge)]));
}

function answerNow(question: string, knowledge: TreeKnowledge): string | undefined {
	// One knowledge answers the same way all round: each question is asked of it once.
	let known = asked.get(knowledge);
	if (!known) asked.set(knowledge, (known = new Map()));
	let now = known.get(question);
	if (now === undefined && !known.has(question)) {
		const [kind, name] = question.split('\0') as [Question, string];
		const ask = knowledge[kind] as ((name: string) => unknown) | undefined;
		now = JSON.stringify(ask?.(name));
		known.set(question, now);
	}
	return now;
}

/** Answers already asked of a knowledge, as JSON, by `${question}\0${name}`. */
const asked = new WeakMap<TreeKnowledge, Map<string, string | undefined>>();

/**
 * A copy of `result` moved by `by` rows and offsets. Locations in other functions (an
 * atomic caller's call site, which names its file) are where the tree's answers put them.
 */
function moved(result: FunctionResult, by: Origin): FunctionResult {
	const range = (r: Range): Range => ({
		start: { line: r.start.line + by.row, character: r.start.character },
		end: { line: r.end.line + by.row, character: r.end.character },
	});
	const node = (n: NodeSpan): NodeSpan => movedSpan(n, by.row, by.index);
	const { summary } = result;
	return {
		...result,
		findings: result.findings.map((f, i) => ({
			...f,
			range: range(f.range),
			related: f.related.map((r, j) => (result.localRelated[i][j] ? { ...r, range: range(r.range) } : { ...r })),
			...(f.fix ? { fix: { ...f.fix, edits: f.fix.edits.map((e) => ({ ...e, range: range(e.range) })) } } : {}),
		})),
		lifecycle: result.lifecycle.map((s) => ({ ...s, range: range(s.range) })),
		summary: {
			...summary,
			calls: summary.calls.map((c) => ({
				...c,
				node: node(c.node),
				atomic: c.atomic && (c.atomic.site && !c.atomic.file ? { ...c.atomic, site: node(c.atomic.site) } : c.atomic),
			})),
			stores: summary.stores.map((st) => ({ ...st, node: node(st.node) })),
		},
	};
}

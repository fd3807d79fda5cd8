// "Simulate function at cursor" and "Show interleaving": the function around a
// position runs through the simulator in each of its calling contexts, on the
// indexed tree's own pfncache algorithm; the run shown is the one the request
// asks for (a context, or the finding's rule), its lines resolved in the
// indexed tree, and the tree's refresh and invalidation call chains come along
// for the webview's paths pane.
import type { EngineResult } from '../analysis/engine';
import type { FileFacts } from '../analysis/facts';
import type { Tree } from '../parse/parser';
import type { CallChain, SimulateResponse, SimulateRunSummary } from '../protocol';
import { resolveLines, runReader, type RunResult } from '../simulator';
import { simulateFunction } from '../simulator/fromFunction';
import { ExtractError, declineReason, extractReader, functionAtRow } from '../simulator/fromSource';
import { pfncacheFor, treeReader } from '../simulator/shape';

export interface SimulateContext {
	tree: Tree;
	file: string;
	result: EngineResult;
	/** Folder the result's paths are relative to; undefined for a loose file. */
	root?: string;
}

export interface SimulateRequest {
	variant?: string;
	scenario?: string;
	context?: string;
	rule?: string;
	run?: number;
}

/** What a finding of each rule looks like in a run: the calling context and the property that break. */
const RULE_RUNS: Record<string, { kind?: string; property?: string }> = {
	'gpc-lock-in-sched-out': { kind: 'sched-out', property: 'deadlock' },
	'gpc-lock-in-hardirq': { kind: 'hardirq' },
	'gpc-refresh-in-atomic': { property: 'sleep-under-lock' },
	'gpc-sleep-under-lock': { property: 'sleep-under-lock' },
	'gpc-use-after-unlock': { property: 'stale-access' },
	'gpc-use-unchecked': { property: 'stale-access' },
	'gpc-check-unlocked': { property: 'stale-access' },
	'gpc-lock-imbalance': { property: 'lock-balance' },
};

/** The run to show: the context asked for, else the one that shows the finding's rule, else the first violation, else the first run. */
export function pickRun(runs: RunResult[], req: Pick<SimulateRequest, 'context' | 'rule' | 'run'>): number {
	if (req.run !== undefined && Number.isInteger(req.run) && req.run >= 0 && req.run < runs.length) return req.run;
	const inContext = (r: RunResult) => !req.context || r.context?.kind === req.context;
	const want = req.rule ? RULE_RUNS[req.rule] : undefined;
	const order: ((r: RunResult) => boolean)[] = [
		...(want ? [(r: RunResult) => r.verdict === 'violation' && (!want.kind || r.context?.kind === want.kind) && (!want.property || r.property === want.property)] : []),
		...(want?.kind ? [(r: RunResult) => r.context?.kind === want.kind] : []),
		(r) => r.verdict === 'violation',
		() => true,
	];
	for (const p of order) {
		const i = runs.findIndex((r) => inContext(r) && p(r));
		if (i >= 0) return i;
	}
	return 0;
}

export function summarizeRun(r: RunResult, index: number): SimulateRunSummary {
	return {
		index,
		context: r.context?.label ?? 'process context',
		kind: r.context?.kind ?? 'process',
		adversaries: r.threads.slice(1).join(', '),
		verdict: r.verdict,
		...(r.property ? { property: r.property } : {}),
		liveness: r.liveness ?? 'holds',
		states: r.states,
	};
}

export function simulateAt(ctx: SimulateContext, line: number, req: SimulateRequest = {}): SimulateResponse {
	const fn = functionAtRow(ctx.tree.rootNode, line);
	if (!fn) return { error: 'The cursor is not inside a function.' };
	const declined = declineReason(fn);
	if (declined) return { error: declined };
	const read = treeReader(ctx.root);
	const pfncache = pfncacheFor(req.variant, read);
	if (typeof pfncache === 'string') return { error: pfncache };
	const knowledge = ctx.result.knowledgeFor(ctx.file);
	let runs: RunResult[];
	let reader: string;
	let instances: string[];
	try {
		if (req.scenario) {
			// A built-in scenario's adversaries: the function in process context against them.
			const x = extractReader(fn, ctx.file, knowledge);
			if (!x) return { error: 'This function does not lock, check or use a gfn_to_pfn_cache.' };
			const run = runReader(x.program, req.scenario, pfncache.variant);
			run.pfncache = pfncache;
			runs = [run];
			reader = x.program.function;
			instances = x.names;
		} else {
			const sim = simulateFunction(fn, ctx.file, knowledge, { pfncache });
			if (!sim?.runs.length) return { error: 'This function does not lock, check or use a gfn_to_pfn_cache.' };
			runs = sim.runs;
			reader = sim.function;
			instances = sim.instances;
		}
	} catch (e) {
		return { error: e instanceof ExtractError ? e.message : (e as Error).message };
	}
	const shown = pickRun(runs, req);
	return {
		result: resolveLines(runs[shown], read, pfncache.trees),
		runs: runs.map(summarizeRun),
		shown,
		reader,
		instances,
		root: ctx.root,
		chains: callChains(ctx.result.facts),
	};
}

const CHAIN_ROOTS: { title: string; from: string[]; to: RegExp }[] = [
	{ title: 'refresh', from: ['kvm_gpc_refresh', 'kvm_gfn_to_pfn_cache_refresh'], to: /^hva_to_pfn$|^hva_to_pfn_retry$/ },
	{ title: 'invalidate', from: ['kvm_mmu_notifier_invalidate_range_start'], to: /^gfn_to_pfn_cache_invalidate_start$/ },
	{ title: 'activate', from: ['kvm_gpc_activate', 'kvm_gpc_activate_hva'], to: /^hva_to_pfn_retry$/ },
];

/** Shortest call chains, in the indexed files, from the API entry points to the steps the model abstracts. */
export function callChains(facts: FileFacts[]): CallChain[] {
	const byName = new Map(facts.flatMap((f) => f.functions.map((fn) => [fn.name, fn] as const)));
	const chains: CallChain[] = [];
	for (const root of CHAIN_ROOTS) {
		const start = root.from.find((n) => byName.has(n));
		if (!start) continue;
		const prev = new Map<string, string>([[start, '']]);
		const queue = [start];
		let end: string | undefined;
		while (queue.length && !end) {
			const name = queue.shift()!;
			for (const callee of byName.get(name)?.callees ?? []) {
				if (prev.has(callee) || !byName.has(callee)) continue;
				prev.set(callee, name);
				if (root.to.test(callee)) {
					end = callee;
					break;
				}
				queue.push(callee);
			}
		}
		if (!end) continue;
		const names: string[] = [];
		for (let n = end; n; n = prev.get(n)!) names.unshift(n);
		chains.push({
			title: root.title,
			steps: names.map((n) => ({ label: `${n}()`, location: { file: byName.get(n)!.file, function: n, line: byName.get(n)!.line + 1 } })),
		});
	}
	return chains;
}

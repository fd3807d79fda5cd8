// "Simulate function at cursor" and "Show interleaving": the function around a
// position becomes the simulator's reader and runs against the adversaries;
// the trace's lines are resolved in the indexed tree, and the tree's refresh
// and invalidation call chains come along for the webview's paths pane.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineResult } from '../analysis/engine';
import type { FileFacts } from '../analysis/facts';
import type { Tree } from '../parse/parser';
import type { CallChain, SimulateResponse } from '../protocol';
import { resolveLines, runReader } from '../simulator';
import { declineReason, extractReader, functionAtRow } from '../simulator/fromSource';

export interface SimulateContext {
	tree: Tree;
	file: string;
	result: EngineResult;
	/** Folder the result's paths are relative to; undefined for a loose file. */
	root?: string;
}

export function simulateAt(ctx: SimulateContext, line: number, variant = 'upstream', scenario?: string): SimulateResponse {
	const fn = functionAtRow(ctx.tree.rootNode, line);
	if (!fn) return { error: 'The cursor is not inside a function.' };
	const declined = declineReason(fn);
	if (declined) return { error: declined };
	const reader = extractReader(fn, ctx.file, ctx.result.knowledgeFor(ctx.file));
	if (!reader) return { error: 'This function does not lock, check or use a gfn_to_pfn_cache.' };
	let run;
	try {
		run = runReader(reader.program, scenario ?? { threads: ['invalidate'], caches: reader.instances.length }, variant);
	} catch (e) {
		return { error: (e as Error).message };
	}
	const read = (file: string) => {
		if (!ctx.root) return undefined;
		try {
			return readFileSync(join(ctx.root, file), 'utf8');
		} catch {
			return undefined;
		}
	};
	return {
		result: resolveLines(run, read),
		reader: reader.program.function,
		instances: reader.instances,
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

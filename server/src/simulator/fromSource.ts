// The function at the cursor as a simulator reader: its control-flow graph,
// reduced to the gpc operations the engine observed on it (lock, trylock,
// check, refresh, use, mark-dirty, unlock, sleeping calls), with jumps where
// the code branches on a check, a trylock or a refresh result. Other branches
// are resolved to the side that reaches a use of the mapping, and `atomic`
// guards to their sleepable side, so the reader is the path that matters.
import { functionDefinitions } from '../parse/definitions';
import type { SyntaxNode } from '../parse/parser';
import { buildCfg, type CfgNode } from '../analysis/cfg';
import { MAX_FUNCTION_DEPTH } from '../analysis/filePass';
import { deeperThan } from '../parse/nodes';
import { analyzeFunction, type TreeKnowledge } from '../analysis/flow';
import { functionName } from '../parse/declarations';
import type { Observation } from '../analysis/observations';
import { calleeName, stripParens } from '../parse/nodes';
import { RWLOCK_PRIMITIVES } from '../analysis/api';
import type { ReaderOp, ReaderProgram } from './reader';

export interface ExtractedReader {
	program: ReaderProgram;
	/** Instances in cache-index order (the simulator's caches 0..n-1). */
	instances: string[];
}

type Op = Observation['kind'];
const label = (id: number) => `n${id}`;

/** The innermost function definition around a 0-based row. */
export function functionAtRow(root: SyntaxNode, row: number): SyntaxNode | undefined {
	let best: SyntaxNode | undefined;
	for (const fn of functionDefinitions(root)) {
		if (fn.startPosition.row <= row && fn.endPosition.row >= row) best = fn;
	}
	return best;
}

/**
 * Why the simulator declines `fn`, if it does: extraction runs the CFG builder and the
 * dataflow, which recurse along the tree, so it keeps to the engine's nesting limit.
 */
export function declineReason(fn: SyntaxNode): string | undefined {
	if (!deeperThan(fn, MAX_FUNCTION_DEPTH)) return undefined;
	return `${functionName(fn) ?? '<anonymous>'}() at line ${fn.startPosition.row + 1} is nested more than ${MAX_FUNCTION_DEPTH} levels deep; it is neither analysed nor simulated.`;
}

export function extractReader(fn: SyntaxNode, file: string, knowledge: TreeKnowledge): ExtractedReader | undefined {
	const name = functionName(fn) ?? '<anonymous>';
	// What the dataflow saw at each node: the instance each gpc operation touches.
	const seen = new Map<number, { kind: Op; instance: string; node: SyntaxNode; api?: string }>();
	analyzeFunction(fn, knowledge, (o) => {
		if (o.kind === 'exit' || o.kind === 'sleep') {
			if (o.kind === 'sleep' && !seen.has(o.node.startIndex)) seen.set(o.node.startIndex, { kind: 'sleep', instance: '', node: o.node, api: o.callee });
			return;
		}
		seen.set(o.node.startIndex, { kind: o.kind, instance: o.instance, node: o.node, api: o.kind === 'gpcCall' ? o.api.role : undefined });
	});
	const instances = [...new Set([...seen.values()].map((s) => s.instance).filter(Boolean))];
	if (!instances.length) return undefined;
	const cacheOf = (inst: string) => Math.max(0, instances.indexOf(inst));

	const cfg = buildCfg(fn);
	const inside = (n: CfgNode) => (n.ast ? [...seen.values()].filter((s) => s.node.startIndex >= n.ast!.startIndex && s.node.endIndex <= n.ast!.endIndex).sort((a, b) => a.node.startIndex - b.node.startIndex) : []);
	const reachesUse = usesReachable(cfg.nodes, (n) => inside(n).some((s) => s.kind === 'use'));

	const ops: ReaderOp[] = [];
	const where = (n: SyntaxNode) => ({ text: n.text.split('\n')[0].trim().slice(0, 80), line: n.startPosition.row + 1 });
	const visited = new Set<number>();
	const order: number[] = [];
	const visit = (id: number) => {
		if (visited.has(id)) return;
		visited.add(id);
		order.push(id);
		for (const s of cfg.nodes[id].succ) visit(s);
	};
	visit(cfg.entry);

	for (const id of order) {
		const n = cfg.nodes[id];
		ops.push({ op: 'label', name: label(id) });
		if (n.kind === 'return' || n.kind === 'exit') {
			ops.push({ op: 'return', ...(n.ast ? where(n.ast) : {}) });
			continue;
		}
		if (n.kind === 'cond') {
			const [t, f] = n.succ;
			const atom = stripParens(n.ast!);
			const call = atom.type === 'call_expression' ? atom : undefined;
			const callee = call ? calleeName(call) : undefined;
			const obs = call ? seen.get(call.startIndex) : undefined;
			if (obs?.kind === 'gpcCall' && obs.api === 'check') {
				ops.push({ op: 'check', else: label(f), cache: cacheOf(obs.instance), ...where(call!) }, { op: 'goto', target: label(t) });
			} else if (obs?.kind === 'gpcCall' && (obs.api === 'refresh' || obs.api === 'activate')) {
				// `if (kvm_gpc_refresh(...))` is true on failure.
				ops.push({ op: obs.api, else: label(t), cache: cacheOf(obs.instance), ...where(call!) }, { op: 'goto', target: label(f) });
			} else if (callee && RWLOCK_PRIMITIVES[callee]?.op === 'trylock' && obs?.kind === 'lock') {
				ops.push({ op: 'trylock', else: label(f), cache: cacheOf(obs.instance), ...where(call!) }, { op: 'goto', target: label(t) });
			} else {
				const atomicGuard = /atomic|in_atomic|irqs_disabled/.test(atom.text);
				const pick = atomicGuard ? f : reachesUse.has(t) && !reachesUse.has(f) ? t : reachesUse.has(f) && !reachesUse.has(t) ? f : f;
				for (const s of inside(n)) pushOp(ops, s, cacheOf, where);
				ops.push({ op: 'goto', target: label(pick) });
			}
			continue;
		}
		for (const s of inside(n)) pushOp(ops, s, cacheOf, where);
		if (n.succ.length) ops.push({ op: 'goto', target: label(n.succ[0]) });
	}
	return { program: { name, file, function: name, ops }, instances };
}

function pushOp(
	ops: ReaderOp[],
	s: { kind: Op; instance: string; node: SyntaxNode; api?: string },
	cacheOf: (inst: string) => number,
	where: (n: SyntaxNode) => { text: string; line: number },
): void {
	const cache = cacheOf(s.instance);
	switch (s.kind) {
		case 'lock':
			ops.push({ op: 'lock', cache, ...where(s.node) });
			break;
		case 'unlock':
			ops.push({ op: 'unlock', cache, ...where(s.node) });
			break;
		case 'use':
			ops.push({ op: 'use', cache, ...where(s.node) });
			break;
		case 'sleep':
			ops.push({ op: 'sleep', ...where(s.node) });
			break;
		case 'gpcCall':
			if (s.api === 'check') {
				// A check whose result is ignored: the reader goes on either way.
				const next = `c${s.node.startIndex}`;
				ops.push({ op: 'check', else: next, cache, ...where(s.node) }, { op: 'label', name: next });
			} else if (s.api === 'refresh' || s.api === 'activate') ops.push({ op: s.api, cache, ...where(s.node) });
			else if (s.api === 'deactivate') ops.push({ op: 'deactivate', cache, ...where(s.node) });
			else if (s.api === 'markDirty') ops.push({ op: 'markDirty', cache, ...where(s.node) });
			break;
		default:
	}
}

/** Nodes from which a node satisfying `isUse` is reachable. */
function usesReachable(nodes: CfgNode[], isUse: (n: CfgNode) => boolean): Set<number> {
	const preds = new Map<number, number[]>();
	for (const n of nodes) for (const s of n.succ) preds.set(s, [...(preds.get(s) ?? []), n.id]);
	const out = new Set<number>();
	const work = nodes.filter(isUse).map((n) => n.id);
	while (work.length) {
		const id = work.pop()!;
		if (out.has(id)) continue;
		out.add(id);
		work.push(...(preds.get(id) ?? []));
	}
	return out;
}

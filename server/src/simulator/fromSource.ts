// The function at the cursor as a simulator thread, from the engine's
// control-flow graph (analysis/cfg.ts). The program starts at the function's
// entry and keeps every path: a branch on a check, a trylock or a refresh is
// decided by the model; a branch on anything else is explored both ways,
// unless the calling context's constants or an earlier test on the same
// variable decide it (`if (user_len2)` twice, `state == RUNSTATE_runnable`).
// Each program point is a CFG node together with what the path knows there:
// which cache each pointer variable names (`gpc = &vcpu->arch.xen.
// vcpu_info_cache` reassigns it), which pointers point into a cache's mapping,
// which variables hold a check's outcome, and the known values. The dataflow
// (analysis/flow.ts) says where the gpc operations are; their cache is
// resolved here, per path. Loops the model does not decide run at most
// LOOP_BOUND times round; loops it decides (the check-and-refresh retry loop)
// stay loops.
import { functionDefinitions } from '../parse/definitions';
import type { SyntaxNode } from '../parse/parser';
import type { Cfg, CfgNode } from '../analysis/cfg';
import { MAX_FUNCTION_DEPTH } from '../analysis/filePass';
import { analyzeFunction, type TreeKnowledge } from '../analysis/flow';
import type { GpcRole, LockVariant } from '../analysis/api';
import { canonicalPath, displayPath, lastSegment } from '../analysis/paths';
import { declaratorName, functionHeader, functionName } from '../parse/declarations';
import { callArguments, calleeName, deeperThan, stripParens } from '../parse/nodes';
import type { ReaderOp, ReaderProgram } from './reader';

/** How a calling context decides conditions: its kind and the constants it binds the function's parameters to. */
export interface ExtractContext {
	kind: 'process' | 'sched-out' | 'hardirq' | 'atomic';
	values?: Record<string, string>;
}

export interface ExtractedReader {
	program: ReaderProgram;
	/** Cache instances in cache-index order (the simulator's caches 0..n-1), as access paths (`v.arch.xen.runstate_cache`). */
	instances: string[];
	/** The same, as a kernel developer writes them (`v->arch.xen.runstate_cache`). */
	names: string[];
	/** Program points (CFG node × what the path knows) and nondeterministic branches kept. */
	points: number;
	branches: number;
}

/** A loop whose exit the model does not decide goes round at most this many times. */
export const LOOP_BOUND = 2;

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

/** Why a function the engine understands cannot be a simulator thread. */
export class ExtractError extends Error {}

/** A gpc operation the dataflow saw in the function. */
interface Site {
	kind: 'lock' | 'trylock' | 'unlock' | 'gpc' | 'use' | 'fieldRead' | 'sleep' | 'irqSave' | 'irqRestore' | 'srcuLock' | 'srcuUnlock';
	node: SyntaxNode;
	/** the expression naming the cache (`&gpc->lock` → `gpc`), resolved per path */
	cacheExpr?: SyntaxNode;
	/** a use through a pointer derived from khva */
	derived?: string;
	role?: GpcRole;
	variant?: LockVariant;
	mode?: 'read' | 'write';
	field?: string;
}

interface PathState {
	/** pointer variable → access path it names (`gpc` → `kvm.arch.xen.shinfo_cache`) */
	aliases: Record<string, string>;
	/** pointer variable → the cache instance whose mapping it points into */
	derived: Record<string, string>;
	/** variable → known value: 'true', 'false', or a constant's name */
	known: Record<string, string>;
	/** variables holding a check, trylock or refresh outcome the model computed */
	stored: Record<string, true>;
	/** loop (CFG component) → times round without a model decision */
	loops: Record<number, number>;
}

const CONSTANT = /^([A-Z][A-Za-z0-9_]*|-?\d+[uUlL]*|0x[0-9a-fA-F]+|true|false|NULL)$/;
const FALSY = /^(0+[uUlL]*|0x0+|false|NULL)$/;
const IRQ_SAVE = new Set(['local_irq_save', 'local_irq_disable']);
const IRQ_RESTORE = new Set(['local_irq_restore', 'local_irq_enable']);
const SRCU_LOCK = /^(srcu_read_lock|kvm_vcpu_srcu_read_lock)$/;
const SRCU_UNLOCK = /^(srcu_read_unlock|kvm_vcpu_srcu_read_unlock)$/;

/**
 * The function as a simulator thread in one calling context. Undefined when it
 * touches no gfn_to_pfn_cache; an ExtractError when it does so in a way the
 * model's threads cannot (a gpc write lock outside pfncache.c).
 */
export function extractReader(fn: SyntaxNode, file: string, knowledge: TreeKnowledge, context: ExtractContext = { kind: 'process' }): ExtractedReader | undefined {
	const name = functionName(fn) ?? '<anonymous>';
	const sites: Site[] = [];
	const seen = new Set<string>();
	const add = (s: Site) => {
		const key = `${s.node.startIndex}:${s.node.endIndex}:${s.kind}:${s.derived ?? ''}`;
		if (seen.has(key)) return;
		seen.add(key);
		sites.push(s);
	};
	const analysis = analyzeFunction(fn, knowledge, (o) => {
		switch (o.kind) {
			case 'lock':
			case 'unlock': {
				const args = o.node.type === 'call_expression' ? callArguments(o.node) : [];
				const guardArgs = guardLockArgument(o.node);
				const kind = o.primitive.op === 'trylock' ? 'trylock' : o.kind;
				add({ kind, node: o.node, cacheExpr: lockOwner(guardArgs ?? args[0]), variant: o.primitive.variant, mode: o.primitive.mode });
				break;
			}
			case 'gpcCall':
				add({ kind: 'gpc', node: o.node, cacheExpr: o.args[o.api.gpc], role: o.api.role });
				break;
			case 'use':
				if (o.derived) add({ kind: 'use', node: o.node, derived: o.derived.name });
				else add({ kind: 'use', node: o.node, cacheExpr: khvaOwner(o.node) });
				break;
			case 'fieldRead':
				add({ kind: 'fieldRead', node: o.node, cacheExpr: o.node.childForFieldName('argument') ?? undefined, field: o.field });
				break;
			case 'sleep':
				if (!knowledge.api.has(o.callee)) add({ kind: 'sleep', node: o.node });
				break;
			default:
		}
	});
	if (!sites.some((s) => s.kind !== 'sleep')) return undefined;
	if (sites.some((s) => (s.kind === 'lock' || s.kind === 'trylock') && s.mode === 'write')) {
		throw new ExtractError(`${name}() takes a gpc lock for write: it is pfncache.c's own code or a writer the model's threads do not cover (they take gpc->lock for read)`);
	}
	// Calls the dataflow does not report as gpc operations but the model runs: interrupts, SRCU.
	for (const call of fn.descendantsOfType('call_expression')) {
		const callee = call && calleeName(call);
		if (!call || !callee) continue;
		if (IRQ_SAVE.has(callee)) add({ kind: 'irqSave', node: call });
		else if (IRQ_RESTORE.has(callee)) add({ kind: 'irqRestore', node: call });
		else if (SRCU_LOCK.test(callee)) add({ kind: 'srcuLock', node: call });
		else if (SRCU_UNLOCK.test(callee)) add({ kind: 'srcuUnlock', node: call });
	}
	return new Extraction(name, file, fn, analysis.cfg, sites, knowledge, context).run();
}

/** `guard(read_lock_irqsave)(&gpc->lock)` / `scoped_guard(read_lock, &gpc->lock)`: the lock argument. */
function guardLockArgument(node: SyntaxNode): SyntaxNode | undefined {
	if (node.type !== 'call_expression') return undefined;
	if (calleeName(node) === 'scoped_guard') return callArguments(node)[1];
	const inner = node.childForFieldName('function');
	if (inner?.type === 'call_expression' && calleeName(inner) === 'guard') return callArguments(node)[0];
	return undefined;
}

/** `&gpc->lock` → `gpc`. */
function lockOwner(arg: SyntaxNode | undefined): SyntaxNode | undefined {
	if (!arg) return undefined;
	const e = stripParens(arg);
	const field = e.type === 'pointer_expression' ? e.childForFieldName('argument') : e;
	const f = field && stripParens(field);
	return f?.type === 'field_expression' && f.childForFieldName('field')?.text === 'lock' ? (f.childForFieldName('argument') ?? undefined) : undefined;
}

/** The cache expression of `gpc->khva` (or `gpc->pfn`) inside a use. */
function khvaOwner(node: SyntaxNode): SyntaxNode | undefined {
	const all = [node, ...node.descendantsOfType('field_expression')];
	for (const f of all) {
		if (f?.type !== 'field_expression') continue;
		const field = f.childForFieldName('field')?.text;
		if (field === 'khva' || field === 'pfn') return f.childForFieldName('argument') ?? undefined;
	}
	return undefined;
}

const within = (n: SyntaxNode, outer: SyntaxNode) => n.startIndex >= outer.startIndex && n.endIndex <= outer.endIndex;

/** Strongly connected components of the CFG that hold a cycle (loops), by Tarjan; -1 elsewhere. */
function loopComponents(cfg: Cfg): Int32Array {
	const n = cfg.nodes.length;
	const index = new Int32Array(n).fill(-1);
	const low = new Int32Array(n);
	const comp = new Int32Array(n).fill(-1);
	const onStack = new Uint8Array(n);
	const stack: number[] = [];
	let next = 0;
	let count = 0;
	for (let root = 0; root < n; root++) {
		if (index[root] >= 0) continue;
		const work: { v: number; e: number }[] = [{ v: root, e: 0 }];
		index[root] = low[root] = next++;
		stack.push(root);
		onStack[root] = 1;
		while (work.length) {
			const top = work[work.length - 1];
			const succ = cfg.nodes[top.v].succ;
			if (top.e < succ.length) {
				const w = succ[top.e++];
				if (index[w] < 0) {
					index[w] = low[w] = next++;
					stack.push(w);
					onStack[w] = 1;
					work.push({ v: w, e: 0 });
				} else if (onStack[w]) low[top.v] = Math.min(low[top.v], index[w]);
				continue;
			}
			work.pop();
			if (work.length) low[work[work.length - 1].v] = Math.min(low[work[work.length - 1].v], low[top.v]);
			if (low[top.v] === index[top.v]) {
				const members: number[] = [];
				for (;;) {
					const w = stack.pop()!;
					onStack[w] = 0;
					members.push(w);
					if (w === top.v) break;
				}
				const cyclic = members.length > 1 || cfg.nodes[top.v].succ.includes(top.v);
				if (cyclic) {
					for (const m of members) comp[m] = count;
					count++;
				}
			}
		}
	}
	return comp;
}

/** Back edges of a depth-first walk from the entry: `${from}>${to}`. */
function backEdges(cfg: Cfg): Set<string> {
	const out = new Set<string>();
	const state = new Uint8Array(cfg.nodes.length);
	const work: { v: number; e: number }[] = [{ v: cfg.entry, e: 0 }];
	state[cfg.entry] = 1;
	while (work.length) {
		const top = work[work.length - 1];
		const succ = cfg.nodes[top.v].succ;
		if (top.e < succ.length) {
			const w = succ[top.e++];
			if (state[w] === 1) out.add(`${top.v}>${w}`);
			else if (state[w] === 0) {
				state[w] = 1;
				work.push({ v: w, e: 0 });
			}
			continue;
		}
		state[top.v] = 2;
		work.pop();
	}
	return out;
}

const keyOf = (node: number, s: PathState) => `${node}|${JSON.stringify([sorted(s.aliases), sorted(s.derived), sorted(s.known), Object.keys(s.stored).sort(), sorted(s.loops)])}`;
const sorted = (o: Record<string | number, unknown>) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const clone = (s: PathState): PathState => ({ aliases: { ...s.aliases }, derived: { ...s.derived }, known: { ...s.known }, stored: { ...s.stored }, loops: { ...s.loops } });

/** Labels an op may continue at. */
function labelsOf(o: ReaderOp): string[] {
	switch (o.op) {
		case 'goto':
			return [o.target];
		case 'choose':
			return o.ways.map((w) => w.target);
		case 'check':
		case 'trylock':
		case 'refresh':
		case 'activate':
		case 'test':
		case 'active':
		case 'checkRequest':
			return o.else ? [o.else] : [];
		default:
			return [];
	}
}

/** An op without where it is (text, line): what it does, for comparing program points. */
function shapeOf(o: ReaderOp, cls: (label: string) => number): string {
	const { text: _t, line: _l, loc: _c, ...rest } = o as ReaderOp & { text?: string; line?: number; loc?: unknown };
	const r = rest as Record<string, unknown>;
	if (o.op === 'goto') return `goto ${cls(o.target)}`;
	if (o.op === 'choose') return `choose ${o.ways.map((w) => cls(w.target)).join(',')}`;
	if ('else' in r && typeof r.else === 'string') r.else = cls(r.else);
	return JSON.stringify(r);
}

/**
 * Branches the model need not take: both ways run the same operations on the
 * same caches (`IS_ENABLED(CONFIG_64BIT) && long_mode` choosing between the
 * 64-bit and the compat layout of the same page). Program points are
 * partitioned by what they do from there on (Moore's refinement, lines
 * ignored); a nondeterministic branch whose ways fall into one class becomes
 * a jump to its first way. Returns the branches kept.
 */
function collapseEquivalentBranches(bodies: Map<string, ReaderOp[]>): number {
	/** A point that only jumps on is the point it jumps to (CFG joins, statements without a gpc operation). */
	const resolve = (label: string): string => {
		const seen = new Set<string>();
		let l = label;
		for (;;) {
			const b = bodies.get(l)!;
			if (b.length !== 1 || b[0].op !== 'goto' || seen.has(l)) return l;
			seen.add(l);
			l = b[0].target;
		}
	};
	const labels = [...bodies.keys()].filter((l) => resolve(l) === l);
	for (;;) {
		let cls = new Map(labels.map((l) => [l, 0]));
		const of = (x: string) => cls.get(resolve(x))!;
		for (;;) {
			const sig = new Map<string, number>();
			const next = new Map<string, number>();
			for (const l of labels) {
				const key = `${cls.get(l)}|${bodies.get(l)!.map((o) => shapeOf(o, of)).join(';')}`;
				if (!sig.has(key)) sig.set(key, sig.size);
				next.set(l, sig.get(key)!);
			}
			const stable = new Set(next.values()).size === new Set(cls.values()).size;
			cls = next;
			if (stable) break;
		}
		let changed = false;
		let kept = 0;
		for (const l of labels) {
			const body = bodies.get(l)!;
			body.forEach((o, i) => {
				if (o.op !== 'choose') return;
				if (new Set(o.ways.map((w) => of(w.target))).size === 1) {
					body[i] = { op: 'goto', target: o.ways[0].target };
					changed = true;
				} else kept++;
			});
		}
		if (!changed) return kept;
	}
}

class Extraction {
	private ops: ReaderOp[] = [];
	private readonly points = new Map<string, string>();
	private readonly queue: { label: string; node: number; state: PathState }[] = [];
	private readonly instances: string[] = [];
	private readonly comp: Int32Array;
	private readonly back: Set<string>;
	/** identifiers some condition tests: only their values are worth knowing */
	private readonly tested = new Set<string>();
	private readonly lines: string[];

	constructor(
		private readonly name: string,
		private readonly file: string,
		private readonly fn: SyntaxNode,
		private readonly cfg: Cfg,
		private readonly sites: Site[],
		private readonly knowledge: TreeKnowledge,
		private readonly context: ExtractContext,
	) {
		this.lines = fn.text.split('\n');
		this.comp = loopComponents(cfg);
		this.back = backEdges(cfg);
		for (const n of cfg.nodes) {
			if (n.kind !== 'cond' || !n.ast) continue;
			const e = stripParens(n.ast);
			if (e.type === 'identifier') this.tested.add(e.text);
			for (const id of e.descendantsOfType('identifier')) if (id) this.tested.add(id.text);
		}
	}

	run(): ExtractedReader {
		const start: PathState = { aliases: {}, derived: {}, known: {}, stored: {}, loops: {} };
		for (const [k, v] of Object.entries(this.context.values ?? {})) start.known[k] = v;
		const head: ReaderOp[] = [];
		// A lock the callers hold at entry (lockdep_assert_held(), __must_hold()): the thread starts holding it.
		for (const inst of this.heldAtEntry()) head.push({ op: 'held', cache: this.cache(inst), text: `the caller holds ${displayPath(inst)}->lock`, line: this.fn.startPosition.row + 1 });
		const entry = this.point(this.cfg.entry, start);
		const bodies = new Map<string, ReaderOp[]>();
		while (this.queue.length) {
			const { label, node, state } = this.queue.shift()!;
			this.ops = [];
			this.emit(this.cfg.nodes[node], state);
			bodies.set(label, this.ops);
		}
		const kept = collapseEquivalentBranches(bodies);
		const ops: ReaderOp[] = [...head, { op: 'goto', target: entry }];
		const order: string[] = [];
		const seenLabels = new Set<string>();
		const walk = [entry];
		while (walk.length) {
			const l = walk.shift()!;
			if (seenLabels.has(l)) continue;
			seenLabels.add(l);
			order.push(l);
			walk.push(...bodies.get(l)!.flatMap(labelsOf));
		}
		for (const l of order) ops.push({ op: 'label', name: l }, ...bodies.get(l)!);
		const program: ReaderProgram = { name: this.name, file: this.file, function: this.name, ops };
		return { program, instances: this.instances, names: this.instances.map(displayPath), points: order.length, branches: kept };
	}

	/** The label of a program point, queued the first time it is reached. */
	private point(node: number, state: PathState): string {
		const key = keyOf(node, state);
		let label = this.points.get(key);
		if (!label) {
			label = `p${this.points.size}`;
			this.points.set(key, label);
			this.queue.push({ label, node, state });
		}
		return label;
	}

	/** Moving along a CFG edge: a loop's back edge counts one more time round. */
	private edge(from: number, to: number, s: PathState): string {
		if (this.back.has(`${from}>${to}`) && this.comp[to] >= 0) {
			const t = clone(s);
			t.loops[this.comp[to]] = Math.min((t.loops[this.comp[to]] ?? 0) + 1, LOOP_BOUND);
			return this.point(to, t);
		}
		return this.point(to, s);
	}

	private cache(inst: string): number {
		let i = this.instances.indexOf(inst);
		if (i < 0) {
			i = this.instances.length;
			this.instances.push(inst);
		}
		return i;
	}

	private instanceOf(expr: SyntaxNode | undefined, s: PathState): string | undefined {
		return expr ? canonicalPath(expr, s.aliases) : undefined;
	}

	/** The source line an operation is on, as the step's text. */
	private where(n: SyntaxNode): { text: string; line: number } {
		const row = n.startPosition.row - this.fn.startPosition.row;
		const line = (this.lines[row] ?? n.text.split('\n')[0]).replace(/\/\*.*?\*\//g, '').replace(/\/\/.*$/, '');
		return { text: line.trim().slice(0, 120), line: n.startPosition.row + 1 };
	}

	/** The gpc operations inside an AST range, in evaluation order (arguments before the call). */
	private sitesIn(ast: SyntaxNode, except?: SyntaxNode): Site[] {
		return this.sites
			.filter((x) => within(x.node, ast) && !(except && within(x.node, except)))
			.sort((a, b) => a.node.endIndex - b.node.endIndex || b.node.startIndex - a.node.startIndex);
	}

	private emit(n: CfgNode, s: PathState): void {
		switch (n.kind) {
			case 'return':
			case 'exit':
				this.ops.push({ op: 'return', balance: true, ...(n.ast ? this.where(n.ast) : { text: 'return' }) });
				return;
			case 'cond':
				return this.cond(n, s);
			case 'scopeEnd': {
				for (const g of n.guards ?? []) {
					const site = this.sites.find((x) => x.kind === 'lock' && x.node.startIndex === g.startIndex);
					const inst = site && this.instanceOf(site.cacheExpr, s);
					if (inst) this.ops.push({ op: 'unlock', cache: this.cache(inst), variant: site!.variant, text: `end of scope: ${g.text.split('\n')[0].trim()} released`, line: (n.ast ?? g).endPosition.row + 1 });
				}
				break;
			}
			case 'stmt': {
				const t = clone(s);
				this.statement(n.ast!, t);
				this.ops.push({ op: 'goto', target: this.edge(n.id, n.succ[0], t) });
				return;
			}
			default:
		}
		if (n.succ.length > 1) {
			// a switch's cases, both sides of an #if, the next round of a list_for_each_entry()
			const line = (n.ast ?? this.fn).startPosition.row + 1;
			this.choose(n, s, n.succ.map((to, i) => ({ to, label: `way ${i + 1} of ${n.succ.length}`, state: s })), 'switch, #if or an iterator: one of its ways', line);
			return;
		}
		if (n.succ.length) this.ops.push({ op: 'goto', target: this.edge(n.id, n.succ[0], s) });
		else this.ops.push({ op: 'return', balance: true, text: 'return' });
	}

	/** A statement: its gpc operations in order, then what it assigns. */
	private statement(ast: SyntaxNode, s: PathState): void {
		const stored = this.storedCall(ast);
		const addresses = this.pointerComputations(ast, s);
		for (const site of this.sitesIn(ast)) {
			// `vi = gpc->khva + off`, `p = (void *)&rs_times[1] - 1`: an address into the mapping, not an access; the access comes through the pointer.
			if (site.kind === 'use' && addresses.some((r) => within(site.node, r))) continue;
			this.op(site, s, stored && site.node.startIndex === stored.call.startIndex ? stored.name : undefined);
		}
		this.assignments(ast, s, stored?.name);
	}

	/** Right-hand sides that compute a pointer into a cache's mapping. */
	private pointerComputations(ast: SyntaxNode, s: PathState): SyntaxNode[] {
		const out: SyntaxNode[] = [];
		for (const n of [ast, ...ast.descendantsOfType(['init_declarator', 'assignment_expression'])]) {
			if (!n) continue;
			const value = n.type === 'init_declarator' ? n.childForFieldName('value') : n.type === 'assignment_expression' && n.childForFieldName('left')?.type === 'identifier' ? n.childForFieldName('right') : null;
			if (value && this.mappingBase(stripParens(value), s)) out.push(value);
		}
		return out;
	}

	/** `ret = kvm_gpc_refresh(...)`, `ok = kvm_gpc_check(...)`: the variable the model's outcome goes to. */
	private storedCall(ast: SyntaxNode): { name: string; call: SyntaxNode } | undefined {
		let lhs: SyntaxNode | null | undefined;
		let rhs: SyntaxNode | null | undefined;
		const e = ast.type === 'expression_statement' ? ast.namedChild(0) : ast;
		if (e?.type === 'assignment_expression' && e.childForFieldName('operator')?.text === '=') {
			lhs = e.childForFieldName('left');
			rhs = e.childForFieldName('right');
		} else if (e?.type === 'declaration') {
			const d = e.childrenForFieldName('declarator').find((x) => x.type === 'init_declarator');
			lhs = d?.childForFieldName('declarator');
			rhs = d?.childForFieldName('value');
		}
		const call = rhs && stripParens(rhs);
		if (lhs?.type !== 'identifier' || call?.type !== 'call_expression') return undefined;
		const site = this.sites.find((x) => x.node.startIndex === call.startIndex && x.node.endIndex === call.endIndex && (x.kind === 'trylock' || (x.kind === 'gpc' && (x.role === 'check' || x.role === 'refresh' || x.role === 'activate'))));
		return site ? { name: lhs.text, call } : undefined;
	}

	private op(site: Site, s: PathState, store?: string): void {
		const at = this.where(site.node);
		if (site.kind === 'sleep') return void this.ops.push({ op: 'sleep', ...at });
		if (site.kind === 'irqSave' || site.kind === 'irqRestore' || site.kind === 'srcuLock' || site.kind === 'srcuUnlock') return void this.ops.push({ op: site.kind, ...at });
		let inst: string | undefined;
		if (site.derived) {
			inst = s.derived[site.derived];
			// Not a pointer into a mapping on this path (`rs_state` points at the stack in the split case).
			if (!inst) return;
		} else inst = this.instanceOf(site.cacheExpr, s);
		if (!inst) return;
		const cache = this.cache(inst);
		switch (site.kind) {
			case 'lock':
				this.ops.push({ op: 'lock', cache, variant: site.variant, ...at });
				break;
			case 'trylock':
				this.ops.push({ op: 'trylock', cache, variant: site.variant, ...(store ? { store } : {}), ...at });
				break;
			case 'unlock':
				this.ops.push({ op: 'unlock', cache, variant: site.variant, ...at });
				break;
			case 'use':
				this.ops.push({ op: 'use', cache, ...at });
				break;
			case 'fieldRead':
				// gpa alone is not rewritten by a refresh (only by a new activation); memslot, uhva and generation are.
				if (site.field === 'gpa') return;
				this.ops.push({ op: 'fieldRead', cache, field: site.field ?? 'memslot', ...at });
				break;
			case 'gpc':
				switch (site.role) {
					case 'check':
						// A check whose result is thrown away: the path goes on either way.
						this.ops.push({ op: 'check', cache, ...(store ? { store } : {}), ...at });
						break;
					case 'refresh':
					case 'activate':
						this.ops.push({ op: site.role, cache, ...(store ? { store } : {}), ...at });
						break;
					case 'deactivate':
					case 'unmap':
						this.ops.push({ op: 'deactivate', cache, ...at });
						break;
					case 'markDirty':
						this.ops.push({ op: 'markDirty', cache, ...at });
						break;
					default:
				}
				break;
			default:
		}
	}

	/** What a statement assigns: aliases, pointers into a mapping, known values, stored outcomes. */
	private assignments(ast: SyntaxNode, s: PathState, storedName?: string): void {
		const found = [ast, ...ast.descendantsOfType(['init_declarator', 'assignment_expression', 'update_expression', 'declaration'])];
		for (const n of found) {
			if (!n) continue;
			if (n.type === 'init_declarator') this.bind(declaratorName(n.childForFieldName('declarator')), n.childForFieldName('value'), s, storedName);
			else if (n.type === 'assignment_expression') {
				const left = n.childForFieldName('left');
				if (left?.type === 'identifier') this.bind(left.text, n.childForFieldName('operator')?.text === '=' ? n.childForFieldName('right') : null, s, storedName);
			} else if (n.type === 'update_expression') {
				const arg = n.childForFieldName('argument');
				if (arg?.type === 'identifier') this.bind(arg.text, null, s);
			} else if (n.type === 'declaration') {
				for (const d of n.childrenForFieldName('declarator')) if (d.type !== 'init_declarator') this.bind(declaratorName(d), null, s);
			}
		}
	}

	private bind(name: string | undefined, value: SyntaxNode | null, s: PathState, storedName?: string): void {
		if (!name) return;
		delete s.aliases[name];
		delete s.derived[name];
		delete s.known[name];
		delete s.stored[name];
		if (!value) return;
		if (name === storedName) {
			s.stored[name] = true;
			return;
		}
		const v = stripParens(value);
		// A pointer into a cache's mapping: from khva, or from another such pointer.
		const base = this.mappingBase(v, s);
		if (base) {
			s.derived[name] = base;
			return;
		}
		if (v.type === 'pointer_expression' && v.childForFieldName('operator')?.text === '&') {
			const inner = v.childForFieldName('argument');
			const path = canonicalPath(v, s.aliases);
			if (path && inner && stripParens(inner).type === 'field_expression') s.aliases[name] = path;
			return;
		}
		if (v.type === 'identifier' && s.aliases[v.text]) {
			s.aliases[name] = s.aliases[v.text];
			return;
		}
		if (this.tested.has(name)) {
			if (CONSTANT.test(v.text)) s.known[name] = v.text;
			else if (v.type === 'identifier' && s.known[v.text] !== undefined) s.known[name] = s.known[v.text];
		}
	}

	/** The cache whose mapping an address expression points into (`gpc->khva + off`, `&vi->x`, `(void *)p - 1`). */
	private mappingBase(e: SyntaxNode, s: PathState): string | undefined {
		const x = stripParens(e);
		if (x.type === 'identifier') return s.derived[x.text];
		if (x.type === 'field_expression') {
			const field = x.childForFieldName('field')?.text;
			const arg = x.childForFieldName('argument');
			if (field === 'khva' && arg) return canonicalPath(arg, s.aliases);
			return undefined;
		}
		if (x.type === 'binary_expression' && /^[+-]$/.test(x.childForFieldName('operator')?.text ?? '')) {
			const l = x.childForFieldName('left');
			return l ? this.mappingBase(l, s) : undefined;
		}
		if (x.type === 'pointer_expression' && x.childForFieldName('operator')?.text === '&') {
			const a = x.childForFieldName('argument');
			return a ? this.lvalueBase(stripParens(a), s) : undefined;
		}
		return undefined;
	}

	/** The cache whose mapping an lvalue lies in (`shinfo->arch.wc_sec_hi`, `rs_times[1]`). */
	private lvalueBase(e: SyntaxNode, s: PathState): string | undefined {
		if (e.type === 'field_expression') {
			const b = e.childForFieldName('argument');
			if (!b) return undefined;
			return e.childForFieldName('operator')?.text === '->' ? this.mappingBase(b, s) : this.lvalueBase(stripParens(b), s);
		}
		if (e.type === 'subscript_expression') {
			const b = e.childForFieldName('argument');
			return b ? (this.mappingBase(b, s) ?? this.lvalueBase(stripParens(b), s)) : undefined;
		}
		if (e.type === 'pointer_expression' && e.childForFieldName('operator')?.text === '*') {
			const b = e.childForFieldName('argument');
			return b ? this.mappingBase(b, s) : undefined;
		}
		return undefined;
	}

	private cond(n: CfgNode, s: PathState): void {
		const [tNode, fNode] = n.succ;
		const atom = stripParens(n.ast!);
		const here = this.where(atom);
		const go = (to: number, st: PathState) => this.edge(n.id, to, st);
		const model = (): PathState => {
			// A decision the model makes: a loop round it starts is the model's, not a bounded one.
			const t = clone(s);
			if (this.comp[n.id] >= 0) delete t.loops[this.comp[n.id]];
			return t;
		};
		const call = atom.type === 'call_expression' ? atom : undefined;
		const site = call && this.sites.find((x) => x.node.startIndex === call.startIndex && x.node.endIndex === call.endIndex && x.kind !== 'use' && x.kind !== 'fieldRead');
		const inst = site && (site.kind === 'gpc' || site.kind === 'trylock') ? this.instanceOf(site.cacheExpr, s) : undefined;
		if (site && inst) {
			const cache = this.cache(inst);
			const t = model();
			const yes = go(tNode, t);
			const no = go(fNode, t);
			if (site.kind === 'trylock') {
				this.ops.push({ op: 'trylock', cache, variant: site.variant, else: no, ...here }, { op: 'goto', target: yes });
				return;
			}
			if (site.role === 'check') {
				this.ops.push({ op: 'check', cache, else: no, ...here }, { op: 'goto', target: yes });
				return;
			}
			if (site.role === 'refresh' || site.role === 'activate') {
				// `if (kvm_gpc_refresh(...))` is true on failure.
				this.ops.push({ op: site.role, cache, else: yes, ...here }, { op: 'goto', target: no });
				return;
			}
		}
		// A check wrapper of the tree (`kvm_xen_..._valid(gpc)`), or `if (gpc->valid)` under the lock (6.1's shared_info init).
		const wrapper = call && calleeName(call) ? this.knowledge.checkWrapper?.(calleeName(call)!) : undefined;
		const validOf = atom.type === 'field_expression' && atom.childForFieldName('field')?.text === 'valid' ? atom.childForFieldName('argument') : undefined;
		const checked = wrapper !== undefined && call ? callArguments(call)[wrapper] : validOf;
		const checkedInst = checked ? this.instanceOf(checked, s) : undefined;
		if (checkedInst) {
			const t = model();
			this.ops.push({ op: 'check', cache: this.cache(checkedInst), else: go(fNode, t), ...here }, { op: 'goto', target: go(tNode, t) });
			return;
		}
		// `if (!gpc->active)`, read without the lock (6.1's runstate update, the event channel fast path).
		const activeOf = atom.type === 'field_expression' && atom.childForFieldName('field')?.text === 'active' ? atom.childForFieldName('argument') : undefined;
		const activeInst = activeOf ? this.instanceOf(activeOf, s) : undefined;
		if (activeInst && (this.knowledge.gpcFields.has(lastSegment(activeInst)) || this.sites.some((x) => this.instanceOf(x.cacheExpr, s) === activeInst))) {
			this.ops.push({ op: 'active', cache: this.cache(activeInst), else: go(fNode, s), ...here }, { op: 'goto', target: go(tNode, s) });
			return;
		}
		// A stored outcome (`if (ret)`, `if (!ok)`).
		if (atom.type === 'identifier' && s.stored[atom.text]) {
			const t = model();
			this.ops.push({ op: 'test', var: atom.text, else: go(fNode, t), ...here }, { op: 'goto', target: go(tNode, t) });
			return;
		}
		// Whatever else the condition evaluates happens first (`if (!test_and_set_bit(.., pending_bits))` writes the mapping).
		for (const x of this.sitesIn(atom)) this.op(x, s);
		const decided = this.decide(atom, s);
		if (decided !== undefined) {
			this.ops.push({ op: 'goto', target: go(decided ? tNode : fNode, s) });
			return;
		}
		// Nondeterministic: both ways, each learning what it tested.
		const cond = atom.text.replace(/\s+/g, ' ').slice(0, 100);
		const ways = [
			{ to: tNode, label: cond, state: this.learn(atom, s, true) },
			{ to: fNode, label: `!(${cond})`, state: this.learn(atom, s, false) },
		];
		this.choose(n, s, ways, here.text, here.line);
	}

	/** A branch the model does not decide; a loop gone round LOOP_BOUND times may only leave. */
	private choose(n: CfgNode, s: PathState, ways: { to: number; label: string; state: PathState }[], text: string, line: number): void {
		const loop = this.comp[n.id];
		let kept = ways;
		if (loop >= 0 && (s.loops[loop] ?? 0) >= LOOP_BOUND) {
			const leaving = ways.filter((w) => this.comp[w.to] !== loop);
			if (leaving.length) kept = leaving;
		}
		const targets = kept.map((w) => ({ target: this.edge(n.id, w.to, w.state), label: w.label }));
		const distinct = [...new Set(targets.map((w) => w.target))];
		if (distinct.length === 1) {
			this.ops.push({ op: 'goto', target: distinct[0] });
			return;
		}
		this.ops.push({ op: 'choose', ways: targets, text, line });
	}

	/** A condition the context, a constant, or an earlier test decides. */
	private decide(e: SyntaxNode, s: PathState): boolean | undefined {
		if (e.type === 'number_literal') return !FALSY.test(e.text);
		if (e.type === 'true') return true;
		if (e.type === 'false' || e.type === 'null') return false;
		if (e.type === 'identifier') return s.derived[e.text] ? true : truth(s.known[e.text]);
		if (e.type === 'field_expression') {
			const path = canonicalPath(e, s.aliases);
			return path ? truth(s.known[path]) : undefined;
		}
		if (e.type === 'call_expression') return this.contextCall(calleeName(e));
		if (e.type === 'binary_expression') {
			const op = e.childForFieldName('operator')?.text;
			const l = e.childForFieldName('left');
			const r = e.childForFieldName('right');
			if ((op !== '==' && op !== '!=') || !l || !r) return undefined;
			const [x, c] = CONSTANT.test(stripParens(r).text) ? [stripParens(l), stripParens(r).text] : [stripParens(r), stripParens(l).text];
			if (x.type !== 'identifier' || !CONSTANT.test(c)) return undefined;
			const k = s.known[x.text];
			if (k === undefined) return undefined;
			let equal: boolean | undefined;
			if (FALSY.test(c)) equal = truth(k) === undefined ? undefined : !truth(k);
			else if (k === `!${c}`) equal = false;
			else if (CONSTANT.test(k) && !/^(true|false)$/.test(k)) equal = k === c;
			else equal = undefined;
			return equal === undefined ? undefined : op === '==' ? equal : !equal;
		}
		return undefined;
	}

	/** in_interrupt() and its relatives, as the calling context has them. */
	private contextCall(callee: string | undefined): boolean | undefined {
		const k = this.context.kind;
		switch (callee) {
			case 'in_interrupt':
			case 'in_hardirq':
			case 'in_irq':
				return k === 'hardirq' ? true : k === 'process' || k === 'sched-out' ? false : undefined;
			case 'in_task':
				return k === 'hardirq' ? false : k === 'process' || k === 'sched-out' ? true : undefined;
			case 'irqs_disabled':
				return k === 'hardirq' || k === 'sched-out' ? true : k === 'process' ? false : undefined;
			case 'in_atomic':
				return k === 'process' ? false : true;
			case 'preemptible':
				return k === 'process' ? true : false;
			default:
				return undefined;
		}
	}

	/** The path state on the side of a condition where it is `value`. */
	private learn(e: SyntaxNode, s: PathState, value: boolean): PathState {
		const t = clone(s);
		if (e.type === 'identifier') {
			if (this.tested.has(e.text)) t.known[e.text] = String(value);
			return t;
		}
		// A flag read twice (`v->kvm->arch.xen.runstate_update_flag`): the second test goes the way the first went.
		if (e.type === 'field_expression') {
			const path = canonicalPath(e, s.aliases);
			if (path) t.known[path] = String(value);
			return t;
		}
		if (e.type === 'binary_expression') {
			const op = e.childForFieldName('operator')?.text;
			const l = e.childForFieldName('left');
			const r = e.childForFieldName('right');
			if ((op === '==' || op === '!=') && l && r) {
				const [x, c] = CONSTANT.test(stripParens(r).text) ? [stripParens(l), stripParens(r).text] : [stripParens(r), stripParens(l).text];
				if (x.type === 'identifier' && CONSTANT.test(c)) {
					const equal = op === '==' ? value : !value;
					if (FALSY.test(c)) t.known[x.text] = String(!equal);
					else t.known[x.text] = equal ? c : `!${c}`;
				}
			}
		}
		return t;
	}

	/** Instances whose lock the function's callers hold: lockdep_assert_held(&X->lock), __must_hold(&X->lock). */
	private heldAtEntry(): string[] {
		const out: string[] = [];
		for (const call of this.fn.descendantsOfType('call_expression')) {
			if (!call || !/^lockdep_assert_held(_read)?$/.test(calleeName(call) ?? '')) continue;
			const owner = lockOwner(callArguments(call)[0]);
			const inst = owner && canonicalPath(owner, {});
			if (inst && this.sites.some((x) => x.kind === 'unlock' && x.cacheExpr && canonicalPath(x.cacheExpr, {}) === inst)) out.push(inst);
		}
		for (const m of functionHeader(this.fn).matchAll(/__(?:must_hold|releases)\s*\(\s*&?\s*([\w.>-]+?)\s*(?:->|\.)lock\s*\)/g)) {
			const inst = m[1].replace(/->/g, '.');
			if (!out.includes(inst)) out.push(inst);
		}
		return out;
	}
}

function truth(v: string | undefined): boolean | undefined {
	if (v === undefined) return undefined;
	if (v === 'true') return true;
	if (v === 'false' || FALSY.test(v)) return false;
	if (/^-?\d/.test(v)) return true;
	return undefined;
}


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
// stay loops. The operations come from sites.ts, what a path knows and decides
// from pathState.ts, the loops from loops.ts; branches.ts tidies the program.
import { functionDefinitions } from '../parse/definitions';
import type { SyntaxNode } from '../parse/parser';
import type { Cfg, CfgNode } from '../analysis/cfg';
import { MAX_FUNCTION_DEPTH } from '../analysis/filePass';
import type { TreeKnowledge } from '../analysis/flow';
import { canonicalPath, displayPath, lastSegment } from '../analysis/paths';
import { declaratorName, functionName } from '../parse/declarations';
import { callArguments, calleeName, deeperThan, stripParens } from '../parse/nodes';
import { collapseEquivalentBranches, labelsOf } from './branches';
import { backEdges, loopComponents } from './loops';
import { clone, CONSTANT, decide, keyOf, learn, type PathState } from './pathState';
import type { ReaderOp, ReaderProgram } from './reader';
import { collectSites, heldAtEntry, type Site } from './sites';

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
export { ExtractError } from './sites';

/**
 * The function as a simulator thread in one calling context. Undefined when it
 * touches no gfn_to_pfn_cache; an ExtractError when it does so in a way the
 * model's threads cannot (a gpc write lock outside pfncache.c).
 */
export function extractReader(fn: SyntaxNode, file: string, knowledge: TreeKnowledge, context: ExtractContext = { kind: 'process' }): ExtractedReader | undefined {
	const found = collectSites(fn, knowledge);
	return found && new Extraction(found.name, file, fn, found.cfg, found.sites, knowledge, context).run();
}

const within = (n: SyntaxNode, outer: SyntaxNode) => n.startIndex >= outer.startIndex && n.endIndex <= outer.endIndex;

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
		for (const inst of heldAtEntry(this.fn, this.sites)) head.push({ op: 'held', cache: this.cache(inst), text: `the caller holds ${displayPath(inst)}->lock`, line: this.fn.startPosition.row + 1 });
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
		const decided = decide(atom, s, this.context.kind);
		if (decided !== undefined) {
			this.ops.push({ op: 'goto', target: go(decided ? tNode : fNode, s) });
			return;
		}
		// Nondeterministic: both ways, each learning what it tested.
		const cond = atom.text.replace(/\s+/g, ' ').slice(0, 100);
		const ways = [
			{ to: tNode, label: cond, state: learn(atom, s, true, this.tested) },
			{ to: fNode, label: `!(${cond})`, state: learn(atom, s, false, this.tested) },
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
}

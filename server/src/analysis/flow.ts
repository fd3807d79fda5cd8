// Forward dataflow over one function's CFG. The state is a bounded set of
// worlds (path classes); conditions on checks, trylocks and plain variables
// split them, and equal gpc states merge. After the fixpoint, one replay pass
// hands observations to the rules.
import type { SyntaxNode } from '../parse/parser';
import {
	ALLOCATORS, IRQ_DISABLE, IRQ_ENABLE, MARK_DIRTY_FUNCTIONS, RWLOCK_PRIMITIVES, SLEEPING_GFP, SLEEPING_PRIMITIVES,
	SLEEPING_ROLES, SPIN_ACQUIRE, SPIN_RELEASE, WRITES_FIRST_ARGUMENT, WRITES_SECOND_ARGUMENT,
	type GpcFunction, type LockPrimitive,
} from './api';
import { NodeCache } from '../parse/cachedNodes';
import { CONSTANT } from './calls';
import { buildCfg, type Cfg, type CfgNode } from './cfg';
import type { CallingContext } from './contexts';
import type { AtomicContext, Observation } from './observations';
import { baseIdentifier, canonicalPath, lastSegment } from './paths';
import { callArguments, calleeName, stripParens } from '../parse/nodes';
import { declaratorName, declaredVariables, functionDeclarator, functionHeader, functionName, isPointerDeclarator, parameters } from '../parse/declarations';
import type { NodeSpan } from '../parse/positions';
import { cloneWorld, deleteEntry, emptyWorld, mergeWorlds, sameWorlds, setEntry, WorldKeys, type InstanceState, type World } from './state';

/** What the function analysis needs to know about the rest of the tree. */
export interface TreeKnowledge {
	api: Map<string, GpcFunction>;
	/** Field names declared as `struct gfn_to_pfn_cache` anywhere in the tree. */
	gpcFields: ReadonlySet<string>;
	/** Why a function of the tree may sleep (a chain down to a sleeping primitive), if it may. */
	maySleep(name: string): string | undefined;
	/** Atomic context a function is entered in, from its callers. */
	atomicEntry(name: string): AtomicContext | undefined;
	/**
	 * Whether the function's callers hold a gpc lock when they call it: 'none' when every
	 * known call holds none (a check or use in it then needs its own lock), 'some' otherwise.
	 */
	callersHoldGpc(name: string): 'none' | 'some' | 'unknown';
	/** Instances (in the function's terms) whose lock every known call of it holds (callerLocks.ts). */
	callerLocks?(name: string): string[];
	/** For a function that returns a check of one of its parameters: that parameter's index. */
	checkWrapper?(name: string): number | undefined;
	/**
	 * Atomic calling contexts the function is reached in from known atomic entry points,
	 * with the constant values callers pass for its parameters (`state = RUNSTATE_runnable`).
	 */
	entryContexts?(name: string): EntryContext[];
	/** Throws when the current file is over its time budget (the engine then skips the file). */
	checkBudget?(): void;
	/**
	 * A field some function of the tree stores a khva in (`vmx->nested.pi_desc = gpc->khva`),
	 * by owner type and path ("vcpu_vmx.nested.pi_desc"): the cache it points into (escapes.ts).
	 */
	khvaHolder?(field: string): KhvaHolder | undefined;
	/** For a function that returns a khva with that cache's lock held: which cache, and how it is held. */
	lockedKhvaReturn?(name: string): LockedKhvaReturn | undefined;
}

/** The cache a khva-holding field points into, relative to the field's owner (".nested.pi_desc_gpc"), and where it was stored. */
export interface KhvaHolder {
	cache: string;
	/** Where it was stored (detached: the storing function's tree is gone by then). */
	site: NodeSpan;
	file: string;
}

/** `return gpc->khva;` with gpc->lock held: the cache, as the parameter `param` followed by `suffix`. */
export interface LockedKhvaReturn {
	param: number;
	suffix: string;
	mode: 'read' | 'write';
	variant: LockPrimitive['variant'];
	/** Every return returns the pointer with the lock held (no NULL return without it). */
	always: boolean;
}

/** A calling context the function is entered in: its kind, the chain from the entry point, the constants bound. */
export type EntryContext = CallingContext;

export interface FunctionAnalysis {
	name: string;
	node: SyntaxNode;
	cfg: Cfg;
	/** Nodes whose input state was reached; for hover and the simulator. */
	statesAt: Map<number, World[]>;
	/** Calls this function makes, with the state at each (for interprocedural facts). */
	calls: { callee: string; node: SyntaxNode; heldGpc: string[]; atomic?: AtomicContext; argPaths: (string | undefined)[] }[];
	/** Parameter names in order. */
	params: string[];
	iterations: number;
	/** khva (or a pointer derived from it) stored in a field: `path = ...instance.khva`. */
	stores: { path: string; instance: string; node: SyntaxNode }[];
	/** Set when the function returns a khva with its cache's lock held. */
	returnsLocked?: LockedKhvaReturn;
}

const WORLD_LIMIT = 16;
/** Guard classes that make the scope atomic; mutex, srcu, rwsem guards may sleep. */
const ATOMIC_GUARD = /^((raw_)?spinlock(_irq|_irqsave|_bh|_nested)?|(read|write)_lock(_irq|_irqsave|_bh)?|irq|irqsave|preempt|preempt_notrace|rcu)$/;
const MAX_VISITS_PER_NODE = 64;
/** Fields the refresher rewrites together with khva/pfn under the write lock. */
const REFRESHED_FIELDS: ReadonlySet<string> = new Set(['memslot', 'gpa', 'uhva', 'generation']);
/** A gpc's own mapping fields: uses of them are uses of the cache, never of a stored copy. */
const MAPPING_FIELD = /\.(khva|pfn)$/;

interface FunctionScope {
	params: Map<string, string>;
	locals: Map<string, string>;
	/** Identifiers declared as `struct gfn_to_pfn_cache` (pointer or not). */
	gpcVars: Set<string>;
	/** Instances the function locks or unlocks itself: their state at entry is "not held". */
	managed: Set<string>;
	/** Parameters that carry an atomic context (`bool atomic`). */
	atomicParams: Set<string>;
	/** Instances whose lock the function releases before taking it (held by the caller). */
	callerHeld: Set<string>;
	paramOrder: string[];
	/** The function's labeled statements, in source order. */
	labels: SyntaxNode[];
	/** Instances every caller holds locked when it calls the function (set by analyzeFunction). */
	entryHeld: Set<string>;
}

let holdIds = 0;

export function analyzeFunction(
	definition: SyntaxNode,
	tree: TreeKnowledge,
	observe?: (o: Observation) => void,
): FunctionAnalysis {
	// Every node the analysis reaches, and hands to the rules, is a memoised one.
	const fn = new NodeCache().of(definition);
	const name = functionName(fn) ?? '<anonymous>';
	const scope = collectScope(fn);
	const cfg = buildCfg(fn, scope.labels);
	const analysis: FunctionAnalysis = { name, node: fn, cfg, statesAt: new Map(), calls: [], iterations: 0, params: scope.paramOrder, stores: [] };

	// A function that takes the lock itself, or whose callers never hold one, starts unlocked;
	// one whose every caller holds an instance's lock starts with it held (by them). Whether
	// callers hold any is asked only when an instance needs it: a function that touches no gpc
	// (a caller of one) does not depend on the answer, so the memo reuses its analysis across rounds.
	let startsUnlocked: boolean | undefined;
	scope.entryHeld = new Set(tree.callerLocks?.(name) ?? []);
	const fallback = (instance: string): InstanceState =>
		scope.managed.has(instance) || (!scope.callerHeld.has(instance) && (startsUnlocked ??= tree.callersHoldGpc(name) === 'none'))
			? { held: 'no', valid: 'no', life: 'unknown' }
			: scope.entryHeld.has(instance)
				? { held: 'yes', valid: 'maybe', life: 'unknown', byCaller: true }
				: { held: 'maybe', valid: 'maybe', life: 'unknown' };

	const entryWorld = emptyWorld();
	const entryAtomic = tree.atomicEntry(name);
	if (entryAtomic) entryWorld.atomicReason = entryAtomic;

	// One more entry world per atomic calling context, with what the callers pass.
	const entryWorlds = [entryWorld];
	for (const c of tree.entryContexts?.(name) ?? []) {
		const w = emptyWorld();
		w.atomicReason = { why: c.why, context: c };
		for (const [param, value] of Object.entries(c.values)) {
			if (value === 'true' || value === 'false') w.known[param] = value === 'true';
			else w.values[param] = value;
		}
		entryWorlds.push(w);
	}
	const inputs = new Map<number, World[]>([[cfg.entry, entryWorlds]]);
	const visits = new Map<number, number>();
	const work: number[] = [cfg.entry];
	const queued = new Set(work);
	const interp = new Interpreter(tree, scope, fallback, undefined);
	const keys = new WorldKeys();
	// A world reaching a node again is not transferred again: a transfer is a function of its
	// input world, unless it takes a lock (each hold gets a fresh id).
	const transferred = new Map<number, Map<World, Successors>>();

	while (work.length) {
		const id = work.shift()!;
		queued.delete(id);
		analysis.iterations++;
		if ((analysis.iterations & 255) === 0) tree.checkBudget?.();
		const count = (visits.get(id) ?? 0) + 1;
		visits.set(id, count);
		const node = cfg.nodes[id];
		const outs = new Map<number, World[]>();
		let done = transferred.get(id);
		if (!done) transferred.set(id, (done = new Map()));
		for (const input of inputs.get(id) ?? []) {
			let successors = done.get(input);
			if (!successors) {
				const holdsBefore = holdIds;
				successors = interp.transfer(node, input);
				if (holdIds === holdsBefore) done.set(input, successors);
			}
			for (const [succ, w] of successors) {
				if (!outs.has(succ)) outs.set(succ, []);
				outs.get(succ)!.push(w);
			}
		}
		for (const [succ, worlds] of outs) {
			if (!worlds.length) continue;
			const before = inputs.get(succ) ?? [];
			let merged = mergeWorlds([...before, ...worlds], WORLD_LIMIT, fallback, keys);
			if ((visits.get(succ) ?? 0) > MAX_VISITS_PER_NODE) merged = mergeWorlds(merged, 1, fallback, keys);
			if (before.length && sameWorlds(before, merged, keys)) continue;
			inputs.set(succ, merged);
			if (!queued.has(succ)) {
				queued.add(succ);
				work.push(succ);
			}
		}
	}

	// Replay once over the fixpoint to report.
	const returns: ReturnedKhva[] = [];
	const reporter: Interpreter = new Interpreter(tree, scope, fallback, (o) => {
		observe?.(o);
		if (o.kind === 'exit') returns.push(reporter.returnedKhva(o.returnValue, o.world));
	}, analysis);
	// Source order, so that "the first use" is the first a reader sees.
	const bySource = [...cfg.nodes].sort((a, b) => (a.ast?.startIndex ?? Infinity) - (b.ast?.startIndex ?? Infinity));
	for (const node of bySource) {
		const worlds = inputs.get(node.id);
		if (!worlds?.length) continue;
		analysis.statesAt.set(node.id, worlds);
		for (const w of worlds) reporter.transfer(node, w);
	}
	analysis.returnsLocked = lockedReturn(returns, scope.paramOrder);
	return analysis;
}

/** What one return returns: a khva with the lock held, a failure (NULL, an error), or something else. */
type ReturnedKhva = { kind: 'khva'; instance: string; mode: 'read' | 'write'; variant: LockPrimitive['variant'] } | { kind: 'failure' } | { kind: 'other' };

/** A function whose every non-failure return returns one cache's khva with its lock held and checked. */
function lockedReturn(returns: ReturnedKhva[], params: string[]): LockedKhvaReturn | undefined {
	const khva = returns.filter((r): r is Extract<ReturnedKhva, { kind: 'khva' }> => r.kind === 'khva');
	if (!khva.length || returns.some((r) => r.kind === 'other')) return undefined;
	const [first] = khva;
	if (khva.some((r) => r.instance !== first.instance || r.mode !== first.mode || r.variant !== first.variant)) return undefined;
	const base = baseIdentifier(first.instance);
	const param = params.indexOf(base);
	if (param < 0) return undefined;
	return { param, suffix: first.instance.slice(base.length), mode: first.mode, variant: first.variant, always: khva.length === returns.length };
}

/** The derived pointer a returned expression is (`vi`, `(void *)vi + off`), without touching the world. */
function returnedPointer(e: SyntaxNode, w: World): string | undefined {
	const x = stripParens(e);
	if (x.type === 'identifier') return w.derived[x.text] ? x.text : undefined;
	if (x.type === 'binary_expression') {
		const l = x.childForFieldName('left');
		const r = x.childForFieldName('right');
		return (l && returnedPointer(l, w)) ?? (r && returnedPointer(r, w)) ?? undefined;
	}
	return undefined;
}

function collectScope(fn: SyntaxNode): FunctionScope {
	const params = new Map<string, string>();
	const paramOrder: string[] = [];
	const locals = new Map<string, string>();
	const gpcVars = new Set<string>();
	const atomicParams = new Set<string>();
	for (const { name: pname, type: ptype, declarator } of parameters(functionDeclarator(fn.childForFieldName('declarator')))) {
		paramOrder.push(pname ?? '');
		if (!pname || !ptype) continue;
		params.set(pname, ptype);
		if (ptype === 'gfn_to_pfn_cache') gpcVars.add(pname);
		if (/atomic/.test(pname) && !isPointerDeclarator(declarator)) atomicParams.add(pname);
	}
	const body = fn.childForFieldName('body');
	// One walk of the function for the labels (the CFG's) and the four kinds of node read below.
	const found = fn.descendantsOfType(['labeled_statement', 'declaration', 'init_declarator', 'assignment_expression', 'call_expression']);
	const inBody = (n: SyntaxNode) => !!body && n.startIndex >= body.startIndex && n.endIndex <= body.endIndex;
	const ofType = (type: string) => found.filter((n): n is SyntaxNode => n?.type === type && inBody(n));
	for (const decl of ofType('declaration')) {
		for (const { name: lname, type: t } of declaredVariables(decl)) {
			locals.set(lname, t);
			if (t === 'gfn_to_pfn_cache') gpcVars.add(lname);
		}
	}

	// Flow-insensitive alias targets, only to decide which instances this function manages.
	const targets = new Map<string, Set<string>>();
	const noteAlias = (lhs: string, rhs: SyntaxNode | null) => {
		if (!rhs) return;
		const r = stripParens(rhs);
		if (r.type !== 'pointer_expression' || r.childForFieldName('operator')?.text !== '&') return;
		const path = canonicalPath(r, {});
		if (!path) return;
		if (!targets.has(lhs)) targets.set(lhs, new Set());
		targets.get(lhs)!.add(path);
	};
	for (const init of ofType('init_declarator')) {
		const lname = declaratorName(init?.childForFieldName('declarator') ?? null);
		if (init && lname) noteAlias(lname, init.childForFieldName('value'));
	}
	for (const a of ofType('assignment_expression')) {
		const left = a?.childForFieldName('left');
		if (a && left?.type === 'identifier' && a.childForFieldName('operator')?.text === '=') noteAlias(left.text, a.childForFieldName('right'));
	}
	const expand = (path: string, depth = 0): string[] => {
		const base = baseIdentifier(path);
		const t = targets.get(base);
		if (!t || depth > 4) return [path];
		return [...t].flatMap((target) => expand(target + path.slice(base.length), depth + 1));
	};
	const managed = new Set<string>();
	const callerHeld = new Set<string>();
	for (const call of ofType('call_expression')) {
		const callee = call && calleeName(call);
		const isGuard = call?.childForFieldName('function')?.type === 'call_expression';
		if (!call || (!callee && !isGuard)) continue;
		if ((callee && RWLOCK_PRIMITIVES[callee]) || isGuard || callee === 'scoped_guard') {
			const args = callArguments(call);
			const lockArg = callee === 'scoped_guard' ? args[1] : args[0];
			const path = lockArg && canonicalPath(lockArg, {});
			if (!path?.endsWith('.lock')) continue;
			const releasesFirst = !!callee && RWLOCK_PRIMITIVES[callee]?.op === 'unlock';
			for (const p of expand(path.slice(0, -5))) {
				// The first operation in source order says who owns the lock at entry.
				if (!managed.has(p) && !callerHeld.has(p)) (releasesFirst ? callerHeld : managed).add(p);
			}
		} else if (callee?.startsWith('lockdep_assert_held')) {
			const path = callArguments(call)[0] && canonicalPath(callArguments(call)[0], {});
			if (path?.endsWith('.lock')) for (const p of expand(path.slice(0, -5))) if (!managed.has(p)) callerHeld.add(p);
		}
	}
	// sparse annotations in the declaration: `__must_hold(&gpc->lock)`, `__releases(&gpc->lock)`.
	for (const m of functionHeader(fn).matchAll(/__(?:must_hold|releases)\s*\(\s*&?\s*([\w.>-]+?)\s*(?:->|\.)lock\s*\)/g)) {
		for (const p of expand(m[1].replace(/->/g, '.'))) callerHeld.add(p);
	}
	for (const p of callerHeld) managed.delete(p);
	const labels = found.filter((n): n is SyntaxNode => n?.type === 'labeled_statement');
	return { params, locals, gpcVars, managed, atomicParams, callerHeld, paramOrder, labels, entryHeld: new Set() };
}

type Successors = [succ: number, world: World][];

class Interpreter {
	/** Instance states the world being transferred owns: copied from the shared ones at first access. */
	private readonly owned = new Set<InstanceState>();

	constructor(
		private readonly tree: TreeKnowledge,
		private readonly scope: FunctionScope,
		private readonly fallback: (instance: string) => InstanceState,
		private readonly observe: ((o: Observation) => void) | undefined,
		private readonly analysis?: FunctionAnalysis,
	) {}

	/** The worlds one input world leaves a node with, in successor order. */
	transfer(node: CfgNode, input: World): Successors {
		const out: Successors = [];
		switch (node.kind) {
			case 'cond': {
				const [t, f] = node.succ;
				for (const [branch, value] of [[t, true], [f, false]] as const) {
					const w = this.fork(input);
					this.evaluate(node.ast!, w, 'read');
					if (this.refine(node.ast!, w, value)) out.push([branch, w]);
				}
				break;
			}
			case 'stmt': {
				const w = this.fork(input);
				this.evaluate(node.ast!, w, 'read');
				this.noteIgnoredCheck(node.ast!, w);
				for (const s of node.succ) out.push([s, w]);
				break;
			}
			case 'return': {
				const value = node.ast!.type === 'return_statement' ? node.ast!.namedChildren.find((c) => c?.type !== 'comment') : undefined;
				this.observe?.({ kind: 'exit', node: node.ast!, world: input, returnValue: value ?? undefined });
				for (const s of node.succ) out.push([s, input]);
				break;
			}
			case 'scopeEnd': {
				const w = this.fork(input);
				for (const g of node.guards ?? []) this.releaseGuard(g, w);
				for (const s of node.succ) out.push([s, w]);
				break;
			}
			case 'opaque': {
				// An unparsed region: whatever it does to a lock or a check is unknown.
				const w = this.fork(input);
				this.havocFrom(node.ast!, w);
				for (const s of node.succ) out.push([s, w]);
				break;
			}
			default:
				for (const s of node.succ) out.push([s, input]);
		}
		return out;
	}

	/** What a return statement's value is, for the lock-returning-helper summary. */
	returnedKhva(value: SyntaxNode | undefined, w: World): ReturnedKhva {
		if (!value) return { kind: 'other' };
		const v = stripParens(value);
		if (v.type === 'null' || v.text === 'NULL' || v.text === '0' || /^ERR_PTR\b/.test(v.text)) return { kind: 'failure' };
		// Read only: the world is the replay's input, shared with hover's states.
		const derived = returnedPointer(v, w);
		const instance = this.khvaIn(v, w) ?? (derived && w.derived[derived].stale === 'no' ? w.derived[derived].instance : undefined);
		const s = instance ? w.instances[instance] : undefined;
		if (!instance || s?.held !== 'yes' || s.valid !== 'yes' || !s.hold) return { kind: 'other' };
		return { kind: 'khva', instance, mode: s.hold.mode, variant: s.hold.variant };
	}

	/** The world's state of an instance, as a copy this transfer may change (the world shares the original). */
	private instance(path: string, w: World): InstanceState {
		const shared = w.instances[path];
		if (shared && this.owned.has(shared)) return shared;
		const own = { ...(shared ?? this.fallback(path)) };
		this.owned.add(own);
		setEntry(w, 'instances', path, own);
		return own;
	}

	/** A copy of `w` to transfer a statement on. */
	private fork(w: World): World {
		this.owned.clear();
		return cloneWorld(w);
	}

	/** Resolves a gpc expression (`gpc`, `&vcpu->arch.xen.shinfo_cache`) to its instance. */
	private gpcPath(expr: SyntaxNode, w: World, knownGpc = false): string | undefined {
		const path = canonicalPath(expr, w.aliases);
		if (!path) return undefined;
		if (knownGpc || this.isGpc(path, expr)) return path;
		return undefined;
	}

	private isGpc(path: string, expr: SyntaxNode): boolean {
		if (this.tree.gpcFields.has(lastSegment(path))) return true;
		const raw = stripParens(expr);
		const ident = raw.type === 'pointer_expression' ? raw.childForFieldName('argument') : raw;
		if (ident?.type === 'identifier' && this.scope.gpcVars.has(ident.text)) return true;
		return /(^|\.)(gpc\d*|\w+_cache)$/.test(path) || this.scope.gpcVars.has(path);
	}

	/** The instance whose lock `&X->lock` names, or undefined for another lock. */
	private lockInstance(arg: SyntaxNode | undefined, w: World): string | undefined {
		if (!arg) return undefined;
		const path = canonicalPath(arg, w.aliases);
		if (!path?.endsWith('.lock')) return undefined;
		const inst = path.slice(0, -5);
		const e = stripParens(arg);
		const field = e.type === 'pointer_expression' ? e.childForFieldName('argument') : e;
		const owner = field?.type === 'field_expression' ? field.childForFieldName('argument') : undefined;
		return owner && this.isGpc(inst, owner) ? inst : undefined;
	}

	private evaluate(node: SyntaxNode, w: World, mode: 'read' | 'write'): void {
		switch (node.type) {
			case 'call_expression':
				return this.call(node, w);
			case 'assignment_expression': {
				const left = node.childForFieldName('left');
				const right = node.childForFieldName('right');
				if (right) this.evaluate(right, w, 'read');
				if (left) this.evaluate(left, w, 'write');
				if (left?.type === 'identifier') this.bind(left.text, right, w, node.childForFieldName('operator')?.text === '=');
				else if (left?.type === 'field_expression') this.store(left, right, w, node.childForFieldName('operator')?.text === '=');
				return;
			}
			case 'init_declarator': {
				const value = node.childForFieldName('value');
				if (value) this.evaluate(value, w, 'read');
				const lname = declaratorName(node.childForFieldName('declarator'));
				if (lname) this.bind(lname, value, w, true);
				return;
			}
			case 'declaration': {
				for (const d of node.childrenForFieldName('declarator')) {
					if (d.type === 'init_declarator') this.evaluate(d, w, 'read');
					else {
						const lname = declaratorName(d);
						if (lname) this.bind(lname, null, w, true);
					}
				}
				return;
			}
			case 'update_expression': {
				const arg = node.childForFieldName('argument');
				if (arg) this.evaluate(arg, w, 'write');
				if (arg?.type === 'identifier') this.forget(arg.text, w);
				return;
			}
			case 'field_expression': {
				const arg = node.childForFieldName('argument');
				const field = node.childForFieldName('field')?.text;
				if (!arg) return;
				if (mode === 'read' && field && REFRESHED_FIELDS.has(field)) this.fieldRead(node, arg, field, w);
				if (field === 'khva' || field === 'pfn') {
					const inst = this.gpcPath(arg, w, field === 'khva');
					if (inst) {
						this.use(node, inst, w, mode);
						return;
					}
				}
				const base = stripParens(arg);
				const arrow = node.childForFieldName('operator')?.text === '->';
				if (base.type === 'identifier' && w.derived[base.text] && arrow) {
					this.derivedUse(node, base.text, w, mode);
					return;
				}
				// `vmx->nested.pi_desc->control`: through a field that holds a khva.
				const held = arrow && base.type === 'field_expression' ? this.storedPointer(base, w) : undefined;
				if (held) {
					this.derivedUse(node, held, w, mode);
					return;
				}
				// `((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending = 1`
				const through = arrow ? this.khvaIn(base, w) : undefined;
				if (through) {
					this.use(node, through, w, mode);
					return;
				}
				this.evaluate(arg, w, mode === 'write' && node.childForFieldName('operator')?.text === '.' ? 'write' : 'read');
				return;
			}
			case 'pointer_expression': {
				const arg = node.childForFieldName('argument');
				if (!arg) return;
				const op = node.childForFieldName('operator')?.text;
				const base = stripParens(arg);
				if (op === '*' && this.derivedBase(base, w)) {
					this.derivedUse(node, this.derivedBase(base, w)!, w, mode);
					this.evaluate(arg, w, 'read');
					return;
				}
				if (op === '*') {
					const inst = this.khvaIn(base, w);
					if (inst) {
						this.use(node, inst, w, mode);
						return;
					}
				}
				this.evaluate(arg, w, op === '&' ? 'read' : mode);
				return;
			}
			case 'subscript_expression': {
				const arg = node.childForFieldName('argument');
				const index = node.childForFieldName('index');
				if (index) this.evaluate(index, w, 'read');
				if (arg && this.derivedBase(stripParens(arg), w)) {
					this.derivedUse(node, this.derivedBase(stripParens(arg), w)!, w, mode);
					return;
				}
				if (arg) this.evaluate(arg, w, mode);
				return;
			}
			case 'sizeof_expression':
			case 'offsetof_expression':
			case 'alignof_expression':
			case 'string_literal':
			case 'number_literal':
			case 'comment':
				return;
			case 'compound_statement':
				// A statement expression: evaluate its statements in order (approximation).
				for (const c of node.namedChildren) if (c) this.evaluate(c, w, 'read');
				return;
			default:
				for (const c of node.namedChildren) if (c) this.evaluate(c, w, c.type === 'parenthesized_expression' ? mode : 'read');
		}
	}

	/** The derived-pointer variable an address expression is built from (`vi`, `vi + 1`, `&vi->x`). */
	private derivedBase(e: SyntaxNode, w: World): string | undefined {
		const x = stripParens(e);
		if (x.type === 'identifier') return w.derived[x.text] ? x.text : undefined;
		if (x.type === 'field_expression') return this.storedPointer(x, w);
		if (x.type === 'binary_expression') {
			const l = x.childForFieldName('left');
			const r = x.childForFieldName('right');
			return (l && this.derivedBase(l, w)) ?? (r && this.derivedBase(r, w)) ?? undefined;
		}
		if (x.type === 'pointer_expression' && x.childForFieldName('operator')?.text === '&') {
			const a = x.childForFieldName('argument');
			const inner = a && stripParens(a);
			if (inner?.type === 'field_expression' || inner?.type === 'subscript_expression') {
				const b = inner.childForFieldName('argument');
				return b ? this.derivedBase(b, w) : undefined;
			}
		}
		return undefined;
	}

	/** `gpc->khva + off` inside an address computation. */
	private khvaIn(e: SyntaxNode, w: World): string | undefined {
		const x = stripParens(e);
		if (x.type === 'field_expression' && x.childForFieldName('field')?.text === 'khva') {
			const arg = x.childForFieldName('argument');
			return arg ? this.gpcPath(arg, w, true) : undefined;
		}
		if (x.type === 'binary_expression') {
			const l = x.childForFieldName('left');
			const r = x.childForFieldName('right');
			return (l && this.khvaIn(l, w)) ?? (r && this.khvaIn(r, w)) ?? undefined;
		}
		return undefined;
	}

	/** Assignment to a local: aliases, derived pointers, check results, known truth values. */
	private bind(name: string, value: SyntaxNode | null, w: World, plain: boolean): void {
		this.forget(name, w);
		if (!plain || !value) return;
		const v = stripParens(value);
		const khva = this.khvaIn(v, w);
		const fromDerived = this.derivedBase(v, w);
		if (!khva && !fromDerived && v.type === 'pointer_expression' && v.childForFieldName('operator')?.text === '&') {
			const path = canonicalPath(v, w.aliases);
			const inner = v.childForFieldName('argument');
			if (path && inner && stripParens(inner).type === 'field_expression') {
				setEntry(w, 'aliases', name, path);
				return;
			}
		}
		if (v.type === 'identifier' && w.aliases[v.text]) {
			setEntry(w, 'aliases', name, w.aliases[v.text]);
			return;
		}
		if (khva || fromDerived) {
			const inst = khva ?? w.derived[fromDerived!].instance;
			const s = this.instance(inst, w);
			const validated = s.held === 'yes' && s.valid === 'yes';
			setEntry(w, 'derived', name, {
				instance: inst,
				stale: fromDerived ? w.derived[fromDerived].stale : validated ? 'no' : 'maybe',
				site: value,
			});
			return;
		}
		if (v.type === 'call_expression' && this.bindLockedReturn(name, v, w)) return;
		if (v.type === 'call_expression') {
			const api = this.apiOf(v);
			const callee = calleeName(v);
			const checked = api?.role === 'check' ? api.gpc : callee ? this.tree.checkWrapper?.(callee) : undefined;
			const arg = checked !== undefined ? callArguments(v)[checked] : undefined;
			const inst = arg && this.gpcPath(arg, w, true);
			if (inst) setEntry(w, 'checkVars', name, { instance: inst, site: v });
			return;
		}
		if (v.type === 'true' || (v.type === 'number_literal' && v.text !== '0')) setEntry(w, 'known', name, true);
		else if (v.type === 'false' || v.type === 'null' || v.text === '0' || v.text === 'NULL') setEntry(w, 'known', name, false);
	}

	private forget(name: string, w: World): void {
		deleteEntry(w, 'aliases', name);
		deleteEntry(w, 'derived', name);
		deleteEntry(w, 'known', name);
		deleteEntry(w, 'values', name);
		deleteEntry(w, 'checkVars', name);
	}

	private apiOf(call: SyntaxNode): GpcFunction | undefined {
		const n = calleeName(call);
		return n ? this.tree.api.get(n) : undefined;
	}

	private use(node: SyntaxNode, instance: string, w: World, access: 'read' | 'write'): void {
		const state = this.instance(instance, w);
		this.observe?.({ kind: 'use', node, instance, access, state, world: w });
		if (access === 'write' && state.held === 'yes' && state.valid === 'yes') state.dirty = { write: node, lock: state.hold?.site };
	}

	/** `gpc->gpa` and its siblings: only the state is observed (a read needs no check, only the hold it was validated under). */
	private fieldRead(node: SyntaxNode, arg: SyntaxNode, field: string, w: World): void {
		const inst = this.observe && this.gpcPath(arg, w);
		if (inst) this.observe!({ kind: 'fieldRead', node, instance: inst, field, state: w.instances[inst] ?? this.fallback(inst), world: w });
	}

	private derivedUse(node: SyntaxNode, name: string, w: World, access: 'read' | 'write'): void {
		const pointer = w.derived[name];
		const state = this.instance(pointer.instance, w);
		this.observe?.({ kind: 'use', node, instance: pointer.instance, access, derived: { name, pointer }, state, world: w });
		if (access === 'write' && state.held === 'yes' && pointer.stale === 'no') {
			state.dirty = { write: node, lock: state.hold?.site };
		}
	}

	private call(node: SyntaxNode, w: World): void {
		const callee = calleeName(node);
		const fnExpr = node.childForFieldName('function');
		const args = callArguments(node);

		// guard(read_lock)(&gpc->lock): scope-based locking.
		if (!callee && fnExpr?.type === 'call_expression' && calleeName(fnExpr) === 'guard') {
			const kind = callArguments(fnExpr)[0]?.text ?? '';
			const prim = RWLOCK_PRIMITIVES[kind];
			const inst = this.lockInstance(args[0], w);
			if (prim && inst) this.lock(node, inst, prim, undefined, w);
			else if (ATOMIC_GUARD.test(kind)) setEntry(w, 'spins', args[0]?.text ?? kind, node);
			return;
		}
		if (callee === 'scoped_guard') {
			const kind = args[0]?.text ?? '';
			const prim = RWLOCK_PRIMITIVES[kind];
			const inst = this.lockInstance(args[1], w);
			if (prim && inst) this.lock(node, inst, prim, undefined, w);
			else if (ATOMIC_GUARD.test(kind)) setEntry(w, 'spins', args[1]?.text ?? kind, node);
			return;
		}

		const api = callee ? this.tree.api.get(callee) : undefined;
		const written = callee ? this.writtenArgument(callee, args) : undefined;
		for (const a of args) {
			if (a === written) {
				this.writeThrough(a, w);
				continue;
			}
			const base = stripParens(a);
			if (base.type === 'identifier' && w.derived[base.text] && !(api && args.indexOf(a) === api.gpc)) {
				this.derivedUse(a, base.text, w, 'read');
				continue;
			}
			const stored = base.type === 'field_expression' && !api ? this.storedPointer(base, w) : undefined;
			if (stored) {
				this.derivedUse(a, stored, w, 'read');
				continue;
			}
			this.evaluate(a, w, 'read');
		}
		if (!callee) {
			if (fnExpr) this.evaluate(fnExpr, w, 'read');
			return;
		}
		this.analysis?.calls.push({
			callee,
			node,
			// An instance the callers hold and this function has not touched yet is held too.
			heldGpc: [
				...Object.entries(w.instances).filter(([, s]) => s.held === 'yes').map(([k]) => k),
				...[...this.scope.entryHeld].filter((k) => !w.instances[k] && !this.scope.managed.has(k)),
			],
			atomic: this.atomicContext(w),
			argPaths: args.map((a) => canonicalPath(a, w.aliases)),
		});

		const prim = RWLOCK_PRIMITIVES[callee];
		if (prim) {
			const inst = this.lockInstance(args[0], w);
			const flags = prim.flags !== undefined ? args[prim.flags]?.text : undefined;
			if (!inst) {
				if (prim.op === 'lock') setEntry(w, 'spins', args[0]?.text ?? callee, node);
				else if (prim.op === 'unlock') deleteEntry(w, 'spins', args[0]?.text ?? callee);
				return;
			}
			if (prim.op === 'lock') this.lock(node, inst, prim, flags, w);
			else if (prim.op === 'unlock') this.unlock(node, inst, prim, flags, w);
			else {
				// A trylock whose result is not tested: the lock may or may not be held.
				const s = this.instance(inst, w);
				s.held = 'maybe';
				s.valid = 'maybe';
			}
			return;
		}
		if (callee === 'lock_set_subclass' || callee === 'lockdep_assert_held' || callee === 'lockdep_assert_held_read') return;
		if (SPIN_ACQUIRE.test(callee)) {
			setEntry(w, 'spins', args[0]?.text ?? callee, node);
			return;
		}
		if (SPIN_RELEASE.test(callee)) {
			deleteEntry(w, 'spins', args[0]?.text ?? callee);
			return;
		}
		if (IRQ_DISABLE[callee]) {
			w.irqOff = 'yes';
			w.irqSite = node;
			const f = IRQ_DISABLE[callee].flags;
			if (f !== undefined) w.irqFlags = args[f]?.text;
			return;
		}
		if (IRQ_ENABLE[callee]) {
			w.irqOff = 'no';
			w.irqFlags = undefined;
			return;
		}
		if (api) {
			this.gpcCall(node, api, args, w);
			return;
		}
		if (MARK_DIRTY_FUNCTIONS.has(callee)) {
			this.markDirty(args, w);
			return;
		}
		const why = this.sleepReason(callee, args);
		if (why) this.observe?.({ kind: 'sleep', node, callee, why, world: w });
	}

	private sleepReason(callee: string, args: SyntaxNode[]): string | undefined {
		if (SLEEPING_PRIMITIVES.has(callee)) return `${callee}() may sleep`;
		if (ALLOCATORS.test(callee) && args.some((a) => SLEEPING_GFP.test(a.text))) {
			return `${callee}() with ${args.find((a) => SLEEPING_GFP.test(a.text))!.text.trim()} may sleep in reclaim`;
		}
		const chain = this.tree.maySleep(callee);
		return chain === undefined ? undefined : chain ? `${callee}() may sleep: ${chain}` : `${callee}() may sleep`;
	}

	/** Which argument a call writes through, if it is one that does. */
	private writtenArgument(callee: string, args: SyntaxNode[]): SyntaxNode | undefined {
		if (WRITES_FIRST_ARGUMENT.test(callee) && !/^atomic\d*_read$/.test(callee)) return args[0];
		if (WRITES_SECOND_ARGUMENT.test(callee)) return args[1];
		return undefined;
	}

	private writeThrough(arg: SyntaxNode, w: World): void {
		const derived = this.derivedBase(arg, w);
		if (derived) {
			this.derivedUse(arg, derived, w, 'write');
			return;
		}
		const inst = this.khvaIn(arg, w);
		if (inst) {
			this.use(arg, inst, w, 'write');
			return;
		}
		const e = stripParens(arg);
		if (e.type === 'pointer_expression' && e.childForFieldName('operator')?.text === '&') {
			const inner = e.childForFieldName('argument');
			if (inner) this.evaluate(inner, w, 'write');
			return;
		}
		this.evaluate(arg, w, 'read');
	}

	private lock(node: SyntaxNode, inst: string, prim: LockPrimitive, flags: string | undefined, w: World): void {
		const s = this.instance(inst, w);
		this.observe?.({ kind: 'lock', node, instance: inst, primitive: prim, state: { ...s }, world: w });
		s.held = 'yes';
		s.byCaller = undefined;
		s.hold = { id: ++holdIds, mode: prim.mode, variant: prim.variant, flags, trylock: prim.op === 'trylock', site: node };
		if (prim.op === 'trylock' && w.irqOff === 'yes' && w.irqFlags) s.hold.irqPairFlags = w.irqFlags;
		s.valid = 'no';
		s.checkSite = undefined;
		s.failedSite = undefined;
		s.ignoredCheck = undefined;
		s.foreignCheck = undefined;
		s.dropped = undefined;
	}

	private unlock(node: SyntaxNode, inst: string, prim: LockPrimitive, flags: string | undefined, w: World): void {
		const s = this.instance(inst, w);
		this.observe?.({ kind: 'unlock', node, instance: inst, primitive: prim, flags, state: { ...s }, world: w });
		if (prim.variant === 'irqsave' && s.hold?.irqPairFlags) {
			w.irqOff = 'no';
			w.irqFlags = undefined;
		}
		this.release(node, inst, w);
	}

	/** The lock is dropped: the mapping may go, pointers into it go stale. */
	private release(node: SyntaxNode, inst: string, w: World): void {
		const s = this.instance(inst, w);
		if (s.held === 'yes' && s.valid === 'yes') s.dropped = { unlock: node, check: s.checkSite, lock: s.hold?.site };
		else if (s.held === 'yes') {
			// `ok = kvm_gpc_check(...)` tested only after the unlock.
			const pending = Object.values(w.checkVars).find((c) => c.instance === inst);
			s.dropped = pending ? { unlock: node, check: pending.site, lock: s.hold?.site } : undefined;
		} else s.dropped = undefined;
		for (const [k, p] of Object.entries(w.derived)) if (p.instance === inst && p.stale === 'no') setEntry(w, 'derived', k, { ...p, stale: 'yes' });
		if (s.dirty && !s.dirty.unlock) s.dirty = { ...s.dirty, unlock: node };
		s.held = 'no';
		s.byCaller = undefined;
		s.hold = undefined;
		s.valid = 'no';
		s.checkSite = undefined;
		s.failedSite = undefined;
		s.ignoredCheck = undefined;
		s.foreignCheck = undefined;
	}

	private releaseGuard(g: SyntaxNode, w: World): void {
		const callee = calleeName(g);
		const fnExpr = g.childForFieldName('function');
		const args = callArguments(g);
		const lockArg = callee === 'scoped_guard' ? args[1] : args[0];
		const kind = callee === 'scoped_guard' ? args[0]?.text : fnExpr && callArguments(fnExpr)[0]?.text;
		const prim = RWLOCK_PRIMITIVES[kind ?? ''];
		const inst = this.lockInstance(lockArg, w);
		if (prim && inst) this.release(g, inst, w);
		else deleteEntry(w, 'spins', lockArg?.text ?? '');
	}

	private gpcCall(node: SyntaxNode, api: GpcFunction, args: SyntaxNode[], w: World): void {
		const gpcArg = args[api.gpc];
		const inst = gpcArg && this.gpcPath(gpcArg, w, true);
		if (!inst) return;
		const s = this.instance(inst, w);
		const atomic = this.atomicContext(w);
		this.observe?.({ kind: 'gpcCall', node, instance: inst, api, args, state: { ...s }, world: w, atomic });
		if (api.role === 'check') {
			for (const [other, o] of Object.entries(w.instances)) {
				if (other !== inst && o.held === 'yes' && o.valid !== 'yes' && (s.held !== 'yes' || s.valid === 'yes')) this.instance(other, w).foreignCheck = { instance: inst, site: node };
			}
		}
		if (SLEEPING_ROLES.has(api.role)) this.observe?.({ kind: 'sleep', node, callee: api.name, why: `${api.name}() may sleep`, world: w });
		switch (api.role) {
			case 'activate':
				s.life = 'active';
				s.lifeSite = node;
				break;
			case 'deactivate':
				s.life = 'inactive';
				s.lifeSite = node;
				break;
			case 'init':
				if (s.life === 'unknown') {
					s.life = 'inactive';
					s.lifeSite = node;
				}
				break;
			case 'markDirty':
				this.clearDirty(s, node);
				break;
			case 'refresh':
				if (s.lastFailedCheck) s.refreshedAfter = s.lastFailedCheck;
				break;
			default:
		}
	}

	private markDirty(args: SyntaxNode[], w: World): void {
		let matched = false;
		for (const a of args) {
			for (const f of a.descendantsOfType('field_expression')) {
				const arg = f?.childForFieldName('argument');
				const inst = arg && this.gpcPath(arg, w);
				if (inst && w.instances[inst]) {
					this.clearDirty(this.instance(inst, w), args[0]);
					matched = true;
				}
			}
		}
		// mark_page_dirty(kvm, gfn) without a gpc argument: assume it covers the pending writes.
		if (!matched) for (const [inst, s] of Object.entries(w.instances)) if (s.dirty) this.clearDirty(this.instance(inst, w), args[0]);
	}

	/** Marked while the lock is held: done. Marked after the unlock: noted, the era decides. */
	private clearDirty(s: InstanceState, site: SyntaxNode | undefined): void {
		if (!s.dirty) return;
		if (s.held === 'yes' || !s.dirty.unlock) s.dirty = undefined;
		else s.dirty = { ...s.dirty, markedAfterUnlock: site ?? s.dirty.unlock };
	}

	/** Why the current path cannot sleep, if it cannot. */
	atomicContext(w: World): AtomicContext | undefined {
		const spin = Object.entries(w.spins)[0];
		if (spin) return { why: `${spin[0]} is held`, site: spin[1] };
		if (w.irqOff === 'yes') return { why: 'interrupts are disabled', site: w.irqSite };
		for (const p of this.scope.atomicParams) {
			if (w.known[p] !== false) return { why: `\`${p}\` may be true here (the caller's context may be atomic)` };
		}
		if (w.sleepable) return undefined;
		return w.atomicReason;
	}

	/** `kvm_gpc_check(gpc, len);` as a statement: the result is thrown away. */
	private noteIgnoredCheck(stmt: SyntaxNode, w: World): void {
		const call = stmt.type === 'expression_statement' ? stmt.namedChild(0) : undefined;
		if (call?.type !== 'call_expression') return;
		const api = this.apiOf(call);
		if (api?.role !== 'check') return;
		const arg = callArguments(call)[api.gpc];
		const inst = arg && this.gpcPath(arg, w, true);
		if (inst && this.instance(inst, w).held === 'yes') this.instance(inst, w).ignoredCheck = call;
	}

	/** Refines a world by a condition atom's outcome; false means the edge is infeasible. */
	private refine(cond: SyntaxNode, w: World, value: boolean): boolean {
		const e = stripParens(cond);
		if (e.type === 'call_expression') {
			const callee = calleeName(e);
			const args = callArguments(e);
			const api = callee ? this.tree.api.get(callee) : undefined;
			const checked = api?.role === 'check' ? api.gpc : callee ? this.tree.checkWrapper?.(callee) : undefined;
			if (checked !== undefined) {
				const inst = args[checked] && this.gpcPath(args[checked], w, true);
				if (inst) this.checkOutcome(inst, e, w, value);
				return true;
			}
			const prim = callee ? RWLOCK_PRIMITIVES[callee] : undefined;
			if (prim?.op === 'trylock') {
				const inst = this.lockInstance(args[0], w);
				if (inst) {
					const s = this.instance(inst, w);
					if (value) {
						this.lock(e, inst, prim, undefined, w);
						w.atomicReason ??= { why: `${callee}() is used here because the path may be atomic`, site: e };
					} else if (s.held === 'maybe') s.held = 'no';
				} else if (value) setEntry(w, 'spins', args[0]?.text ?? callee!, e);
				return true;
			}
			if (callee && /^(raw_)?spin_trylock/.test(callee) && value) setEntry(w, 'spins', args[0]?.text ?? callee, e);
			if (callee === 'in_atomic' || callee === 'irqs_disabled' || callee === 'in_interrupt' || callee === 'in_task') {
				const atomicWhenTrue = callee !== 'in_task';
				if (value !== atomicWhenTrue) w.sleepable = true;
				return true;
			}
			if (callee === 'task_is_running' || callee === 'preemptible') {
				if (value) w.sleepable = w.sleepable || callee === 'preemptible';
				return true;
			}
			if (api?.role === 'refresh' || api?.role === 'activate') return true;
			return true;
		}
		if (e.type === 'number_literal' || e.type === 'true' || e.type === 'false') {
			const truthy = e.type === 'true' || (e.type === 'number_literal' && !/^0+[uUlL]*$/.test(e.text));
			return truthy === value;
		}
		if (e.type === 'identifier') return this.learn(e.text, value, w);
		if (e.type === 'field_expression' && e.childForFieldName('field')?.text === 'valid') {
			// `if (gpc->valid)` under the lock (6.1's shared_info init) validates like a check.
			const arg = e.childForFieldName('argument');
			const inst = arg && this.gpcPath(arg, w);
			if (inst) this.checkOutcome(inst, e, w, value);
			return true;
		}
		if (e.type === 'binary_expression') {
			const op = e.childForFieldName('operator')?.text;
			const l = e.childForFieldName('left');
			const r = e.childForFieldName('right');
			const zero = (n: SyntaxNode | null) => !!n && (n.text === '0' || n.text === 'NULL' || n.type === 'false');
			if ((op === '==' || op === '!=') && l && r) {
				const ident = zero(r) ? stripParens(l) : zero(l) ? stripParens(r) : undefined;
				if (ident?.type === 'identifier') return this.learn(ident.text, op === '==' ? !value : value, w);
				// `state == RUNSTATE_runnable`: a variable against a named constant.
				const [x, c] = [stripParens(l), stripParens(r)];
				if (x.type === 'identifier' && CONSTANT.test(c.text)) return this.learnEquality(x.text, c.text, op === '==' ? value : !value, w);
			}
		}
		if (e.type === 'field_expression' || e.type === 'pointer_expression') return true;
		return true;
	}

	private learnEquality(name: string, constant: string, equal: boolean, w: World): boolean {
		const known = w.values[name];
		if (known !== undefined) return (known === constant) === equal;
		if (equal) setEntry(w, 'values', name, constant);
		return true;
	}

	private learn(name: string, value: boolean, w: World): boolean {
		if (w.known[name] !== undefined && w.known[name] !== value) return false;
		setEntry(w, 'known', name, value);
		const check = w.checkVars[name];
		if (check?.locks) this.lockOutcome(check.instance, check.site, check.locks, w, value);
		else if (check) this.checkOutcome(check.instance, check.site, w, value);
		return true;
	}

	private checkOutcome(inst: string, site: SyntaxNode, w: World, ok: boolean): void {
		const s = this.instance(inst, w);
		if (s.held === 'no') return;
		if (ok) {
			s.valid = 'yes';
			s.checkSite = site;
			s.failedSite = undefined;
			s.lastFailedCheck = undefined;
			s.refreshedAfter = undefined;
		} else {
			s.valid = 'no';
			s.failedSite = site;
			s.lastFailedCheck = site;
		}
	}

	/**
	 * `vmx->nested.pi_desc = gpc->khva`: the field holds a pointer into the mapping, like a local
	 * would (escapes.ts explains the scope). Anything else stored there replaces it.
	 */
	private store(left: SyntaxNode, value: SyntaxNode | null, w: World, plain: boolean): void {
		const path = canonicalPath(left, w.aliases);
		// The cache's own fields (pfncache.c sets gpc->khva) are the mapping, not a copy of it.
		if (!path || MAPPING_FIELD.test(path)) return;
		deleteEntry(w, 'derived', path);
		if (!plain || !value) return;
		const v = stripParens(value);
		const khva = this.khvaIn(v, w);
		const fromDerived = khva ? undefined : this.derivedBase(v, w);
		const inst = khva ?? (fromDerived ? w.derived[fromDerived].instance : undefined);
		if (!inst) return;
		const s = this.instance(inst, w);
		const stale = fromDerived ? w.derived[fromDerived].stale : s.held === 'yes' && s.valid === 'yes' ? 'no' : 'maybe';
		setEntry(w, 'derived', path, { instance: inst, stale, site: value });
		if (!this.analysis?.stores.some((st) => st.path === path && st.node.startIndex === value.startIndex)) this.analysis?.stores.push({ path, instance: inst, node: value });
	}

	/**
	 * The field path (`vmx.nested.pi_desc`) of an expression that holds a khva: stored in this
	 * function, or in another one of the tree (then a pointer from an earlier hold: stale here
	 * unless this function holds the cache's lock).
	 */
	private storedPointer(e: SyntaxNode, w: World): string | undefined {
		const path = canonicalPath(e, w.aliases);
		if (!path || MAPPING_FIELD.test(path)) return undefined;
		if (w.derived[path]) return path;
		const base = baseIdentifier(path);
		const type = this.scope.params.get(base) ?? this.scope.locals.get(base);
		const holder = type ? this.tree.khvaHolder?.(`${type}${path.slice(base.length)}`) : undefined;
		if (!holder) return undefined;
		const instance = base + holder.cache;
		const s = this.instance(instance, w);
		setEntry(w, 'derived', path, { instance, stale: s.held === 'no' ? 'yes' : 'maybe', site: holder.site, file: holder.file, escaped: true });
		return path;
	}

	/** `vi = xen_vcpu_info_lock(v, &flags)`: a helper that returns the khva with the lock held. */
	private bindLockedReturn(name: string, call: SyntaxNode, w: World): boolean {
		const callee = calleeName(call);
		const summary = callee ? this.tree.lockedKhvaReturn?.(callee) : undefined;
		const arg = summary && callArguments(call)[summary.param];
		const owner = arg && canonicalPath(arg, w.aliases);
		if (!summary || !owner) return false;
		const instance = owner + summary.suffix;
		const locks = { mode: summary.mode, variant: summary.variant };
		setEntry(w, 'derived', name, { instance, stale: 'no', site: call });
		setEntry(w, 'checkVars', name, { instance, site: call, locks });
		if (summary.always) this.lockOutcome(instance, call, locks, w, true);
		return true;
	}

	/** The pointer a lock-returning helper gave is non-NULL: the lock is held and the cache checked; NULL: not held. */
	private lockOutcome(inst: string, site: SyntaxNode, locks: { mode: 'read' | 'write'; variant: LockPrimitive['variant'] }, w: World, taken: boolean): void {
		const s = this.instance(inst, w);
		s.byCaller = undefined;
		if (taken) {
			s.held = 'yes';
			s.hold = { id: ++holdIds, mode: locks.mode, variant: locks.variant, trylock: false, site };
			s.valid = 'yes';
			s.checkSite = site;
			s.failedSite = undefined;
			s.dropped = undefined;
		} else {
			s.held = 'no';
			s.hold = undefined;
			s.valid = 'no';
		}
	}

	/** An ERROR region that mentions a gpc lock or check makes that instance's state unknown. */
	private havocFrom(region: SyntaxNode, w: World): void {
		const text = region.text;
		for (const inst of Object.keys(w.instances)) {
			const short = inst.split('.').pop()!;
			if (text.includes(short) || /read_(un)?lock|kvm_gpc_|gfn_to_pfn_cache/.test(text)) {
				const s = this.instance(inst, w);
				s.held = 'maybe';
				s.valid = 'maybe';
			}
		}
		for (const ident of region.descendantsOfType('identifier')) if (ident) this.forget(ident.text, w);
	}
}

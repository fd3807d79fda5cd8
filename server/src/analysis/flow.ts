// Forward dataflow over one function's CFG. The state is a bounded set of
// worlds (path classes); conditions on checks, trylocks and plain variables
// split them, and equal gpc states merge. After the fixpoint, one replay pass
// hands observations to the rules. A world is made of the models' slices
// (models/, composed by state.ts); the transfer of a node is interpreter.ts's,
// the function's entry state comes from scope.ts.
import type { SyntaxNode } from '../parse/parser';
import type { GpcFunction, LockPrimitive } from './api';
import { NodeCache } from '../parse/cachedNodes';
import { buildCfg, type Cfg } from './cfg';
import type { CallingContext } from './contexts';
import { Interpreter, type ReturnedKhva, type Successors } from './interpreter';
import { holdCount } from './models/locks';
import type { AtomicContext, Observation } from './observations';
import { baseIdentifier } from './paths';
import { functionName } from '../parse/declarations';
import type { NodeSpan } from '../parse/positions';
import { collectScope } from './scope';
import { emptyWorld, mergeWorlds, sameWorlds, WorldKeys, type InstanceState, type World } from './state';

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
const MAX_VISITS_PER_NODE = 64;

/** Worklist steps between two pauses of analyzeFunctionSteps (a few hundred microseconds). */
const STEPS_PER_PAUSE = 64;

export function analyzeFunction(definition: SyntaxNode, tree: TreeKnowledge, observe?: (o: Observation) => void): FunctionAnalysis {
	const steps = analyzeFunctionSteps(definition, tree, observe);
	for (;;) {
		const step = steps.next();
		if (step.done) return step.value;
	}
}

/**
 * The same, pausing (yielding) every few dozen worklist steps: the largest functions
 * (kvm_xen_update_runstate_guest(), 20 ms) no longer hold a language server's thread for
 * their whole dataflow. The syntax tree must not change while it is paused.
 */
export function* analyzeFunctionSteps(definition: SyntaxNode, tree: TreeKnowledge, observe?: (o: Observation) => void): Generator<void, FunctionAnalysis> {
	// Every node the analysis reaches, and hands to the rules, is a memoised one.
	const fn = new NodeCache().of(definition);
	const name = functionName(fn) ?? '<anonymous>';
	const scope = collectScope(fn);
	const cfg = buildCfg(fn, scope.labels);
	yield;
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
		if (analysis.iterations % STEPS_PER_PAUSE === 0) yield;
		const count = (visits.get(id) ?? 0) + 1;
		visits.set(id, count);
		const node = cfg.nodes[id];
		const outs = new Map<number, World[]>();
		let done = transferred.get(id);
		if (!done) transferred.set(id, (done = new Map()));
		for (const input of inputs.get(id) ?? []) {
			let successors = done.get(input);
			if (!successors) {
				const holdsBefore = holdCount();
				successors = interp.transfer(node, input);
				if (holdCount() === holdsBefore) done.set(input, successors);
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
	for (const [i, node] of bySource.entries()) {
		if (i % STEPS_PER_PAUSE === STEPS_PER_PAUSE - 1) yield;
		const worlds = inputs.get(node.id);
		if (!worlds?.length) continue;
		analysis.statesAt.set(node.id, worlds);
		for (const w of worlds) reporter.transfer(node, w);
	}
	analysis.returnsLocked = lockedReturn(returns, scope.paramOrder);
	return analysis;
}

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

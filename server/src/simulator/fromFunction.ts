// A kernel function as a simulator thread in each of its calling contexts:
// the process context, and every context the engine found it reached in
// (analysis/contexts.ts: the sched-out notifier with rq->__lock held and the
// constants it passes, hard-IRQ, otherwise atomic). Each context decides how
// the thread starts and ends (rq_lock() before, the unlock after; a hard IRQ
// entry and irq_exit()), whether it may sleep, how its read locks queue, and
// which other threads race it: always an invalidation of every cache it uses;
// in the sched-out context an event channel delivery that holds gpc->lock and
// wakes a task onto the same CPU; in a hard IRQ the vCPU thread it interrupts;
// and, when it reads the fields a refresh rewrites (memslot, gpa) outside the
// lock, a memslot update followed by a refresh.
import type { SyntaxNode } from '../parse/parser';
import { contextLabel, type CallingContext } from '../analysis/contexts';
import type { TreeKnowledge } from '../analysis/flow';
import { functionName } from '../parse/declarations';
import { assemble, type BuiltModel } from './build';
import { XEN } from './ctx';
import { explore, type ExploreOptions } from './explorer';
import { extractReader, type ExtractContext, type ExtractedReader } from './fromSource';
import type { World } from './model';
import { emitInvalidation, emitMemslotMove } from './notifier';
import type { ReaderOp, ReaderProgram, ThreadContext } from './reader';
import { evtchnWaker, readerThread, type ThreadSpec } from './scenarios';
import type { PfncacheChoice, RunContext, RunResult } from './types';
import { choiceVariant } from './shape';

/** One calling context of a function, as the simulator runs it. */
export interface FunctionContext {
	run: RunContext;
	extract: ExtractContext;
	/** the engine's context, when it is one (not the process context) */
	engine?: CallingContext;
}

/** The adversaries a run races the function against. */
export type AdversarySet = 'invalidation' | 'memslot';

export interface FunctionRunSpec {
	context: FunctionContext;
	adversaries: AdversarySet;
}

export interface FunctionSimulation {
	function: string;
	file: string;
	/** cache instances the function uses, as written (`v->arch.xen.runstate_cache`) */
	instances: string[];
	runs: RunResult[];
}

const PROCESS: FunctionContext = { run: { kind: 'process', label: 'process context' }, extract: { kind: 'process' } };

/** The process context, then every calling context the engine computed for the function. */
export function functionContexts(name: string, knowledge: TreeKnowledge): FunctionContext[] {
	const out = [PROCESS];
	for (const c of knowledge.entryContexts?.(name) ?? []) {
		out.push({
			engine: c,
			run: {
				kind: c.kind,
				label: contextLabel(c.kind),
				why: c.why,
				chain: c.chain.map((l) => ({ fn: l.fn, file: l.file, line: l.line + 1, ...(l.callLine !== undefined ? { callLine: l.callLine + 1 } : {}), bound: l.bound })),
				values: c.values,
			},
			extract: { kind: c.kind, values: c.values },
		});
	}
	return out;
}

/** "kvm_sched_out() → kvm_arch_vcpu_put() → ... with state = RUNSTATE_runnable" */
export function contextText(c: RunContext): string {
	if (!c.chain?.length) return c.label;
	const bound = Object.entries(c.values ?? {}).map(([k, v]) => `${k} = ${v}`).join(', ');
	return `${c.label} via ${c.chain.map((l) => `${l.fn}()`).join(' → ')}${bound ? ` with ${bound}` : ''}`;
}

export interface SimulateFunctionOptions extends ExploreOptions {
	/** the pfncache algorithm (a variant id) and how it was chosen */
	pfncache?: PfncacheChoice;
	/** only the contexts of these kinds (default: every one) */
	kinds?: RunContext['kind'][];
	/** only these adversary sets (default: invalidation, and memslot when the function reads refreshed fields) */
	adversaries?: AdversarySet[];
}

/**
 * Every run of the function: per calling context, per adversary set. Throws an
 * ExtractError for a function the model's threads cannot be (a gpc writer);
 * undefined when the function touches no cache.
 */
export function simulateFunction(fn: SyntaxNode, file: string, knowledge: TreeKnowledge, opts: SimulateFunctionOptions = {}): FunctionSimulation | undefined {
	const specs = functionRuns(fn, file, knowledge, opts);
	if (!specs) return undefined;
	const runs = specs.runs.map(({ model, spec }) => {
		const r = explore(model, opts);
		r.context = spec.context.run;
		if (opts.pfncache) r.pfncache = opts.pfncache;
		return r;
	});
	return { function: specs.name, file, instances: specs.names, runs };
}

/** The models of every run, without exploring them (for Promela). */
export function functionRuns(
	fn: SyntaxNode,
	file: string,
	knowledge: TreeKnowledge,
	opts: Pick<SimulateFunctionOptions, 'pfncache' | 'kinds' | 'adversaries'> = {},
): { name: string; names: string[]; runs: { spec: FunctionRunSpec; model: BuiltModel }[] } | undefined {
	const name = functionName(fn) ?? '<anonymous>';
	const chosen = choiceVariant(opts.pfncache?.variant ?? 'upstream');
	if (!chosen) throw new Error(`unknown variant '${opts.pfncache?.variant}'`);
	const { variant } = chosen;
	// 6.1's tree: the same algorithm, the steps placed in its own functions.
	const flags = { ...chosen.flags, ...(opts.pfncache?.tree === 'linux-6.1' ? { code: '6.1' as const } : {}), ...(opts.pfncache?.noPeek ? { noPeek: true } : {}) };
	const contexts = functionContexts(name, knowledge).filter((c) => !opts.kinds || opts.kinds.includes(c.run.kind));
	const runs: { spec: FunctionRunSpec; model: BuiltModel }[] = [];
	let names: string[] = [];
	let touches = false;
	for (const context of contexts) {
		const x = extractReader(fn, file, knowledge, context.extract);
		if (!x) continue;
		touches = true;
		if (x.names.length > names.length) names = x.names;
		// A field read after the unlock races a refresh whatever the context: it is run once, in process context.
		const fieldRace = context.run.kind === 'process' && x.program.ops.some((o) => o.op === 'fieldRead');
		const sets: AdversarySet[] = opts.adversaries ?? ['invalidation', ...(fieldRace ? (['memslot'] as const) : [])];
		for (const adversaries of sets) {
			const spec = { context, adversaries };
			const { world, threads } = workload(x, spec);
			const model = assemble(world, threads, flags, { scenario: `${name}() in ${context.run.label}${adversaries === 'memslot' ? ', against a memslot update and a refresh' : ''}`, variant: variant.id });
			runs.push({ spec, model });
		}
	}
	return touches ? { name, names, runs } : undefined;
}

/** The world and the threads of one run. */
function workload(x: ExtractedReader, spec: FunctionRunSpec): { world: World; threads: ThreadSpec[] } {
	const n = x.instances.length;
	const letters = 'ABCDEFGH';
	const hvas = x.names.map((_, i) => letters[i]);
	const memslot = spec.adversaries === 'memslot';
	if (memslot) hvas.push(letters[n]);
	const world: World = {
		caches: x.names.map((name, i) => ({ name, gfn: `gfn${i}`, hva: i + 1, usage: 'host' as const })),
		hvas,
		// a migration per cache allocates one new page each; a memslot move maps a page that exists already
		extraPages: memslot ? 0 : n,
		srcu: memslot,
		...(memslot ? { memslot: { cache: firstFieldRead(x), to: n + 1 } } : {}),
	};
	const program = threadProgram(x, spec);
	const threads: ThreadSpec[] = [readerThread(program)];
	if (spec.adversaries === 'memslot') {
		const c = firstFieldRead(x);
		threads.push({ name: 'memslot', adversary: true, emit: (t, ctx) => emitMemslotMove(t, ctx, c, n + 1) });
		threads.push(readerThread({ name: 'refresher', file: XEN, function: 'kvm_gpc_refresh', adversary: true, ops: [{ op: 'refresh', cache: c, text: 'kvm_gpc_refresh(gpc, len) (another user of the cache, after the memslot update)' }] }));
	} else {
		for (let h = 1; h <= n; h++) {
			threads.push({ name: n > 1 ? `invalidate-${hvas[h - 1]}` : 'invalidate', adversary: true, emit: (t, ctx) => emitInvalidation(t, ctx, h, { kind: 'migrate', rounds: 1 }) });
		}
	}
	const kind = spec.context.run.kind;
	if (kind === 'sched-out') threads.push(readerThread(evtchnWaker('evtchn', lockedCache(x))));
	if (kind === 'hardirq') threads.push(readerThread(interruptedVcpu(x)));
	return { world, threads };
}

/** The first cache the function reads a refreshed field of. */
function firstFieldRead(x: ExtractedReader): number {
	const op = x.program.ops.find((o) => o.op === 'fieldRead');
	return op && 'cache' in op ? (op.cache ?? 0) : 0;
}

/** The first cache the function takes the lock of (the one a waker contends with). */
function lockedCache(x: ExtractedReader): number {
	const op = x.program.ops.find((o) => o.op === 'lock' || o.op === 'trylock');
	return op && 'cache' in op ? (op.cache ?? 0) : 0;
}

/**
 * The vCPU thread a hard IRQ interrupts, in the critical section that matters:
 * kvm_xen_inject_pending_events() holding vcpu_info's lock (interrupts off)
 * while it writes through khva. The handler can only come in before or after.
 */
function interruptedVcpu(x: ExtractedReader): ReaderProgram {
	const vcpuInfo = x.names.findIndex((n) => /vcpu_info_cache$/.test(n));
	const c = vcpuInfo >= 0 ? vcpuInfo : lockedCache(x);
	const fn = 'kvm_xen_inject_pending_events';
	const at = (hint: string, occurrence?: number) => ({ file: XEN, function: fn, hint, ...(occurrence ? { occurrence } : {}) });
	return {
		name: 'vcpu',
		file: XEN,
		function: fn,
		adversary: true,
		ops: [
			{ op: 'lock', cache: c, text: 'read_lock_irqsave(&gpc->lock, flags)', loc: at('read_lock_irqsave(&gpc->lock, flags);') },
			{ op: 'check', cache: c, else: 'out', text: 'kvm_gpc_check(gpc, sizeof(struct vcpu_info))', loc: at('kvm_gpc_check(') },
			{ op: 'use', cache: c, text: 'WRITE_ONCE(vi->evtchn_upcall_pending, 1)', loc: at('evtchn_upcall_pending') },
			{ op: 'label', name: 'out' },
			{ op: 'unlock', cache: c, text: 'read_unlock_irqrestore(&gpc->lock, flags)', loc: at('read_unlock_irqrestore(&gpc->lock, flags);') },
		],
	};
}

/** The function's ops wrapped in its context: how the thread starts, ends, and what it may not do. */
function threadProgram(x: ExtractedReader, spec: FunctionRunSpec): ReaderProgram {
	const c = spec.context.run;
	const prog = x.program;
	const chain = c.chain ?? [];
	const entry = chain[0];
	const context: ThreadContext = {};
	let ops: ReaderOp[] = prog.ops;
	if (spec.adversaries === 'memslot' && !ops.some((o) => o.op === 'srcuLock')) {
		// KVM touches memslots and guest memory inside kvm->srcu: the function's callers hold it, as a memslot update assumes.
		const at = { file: prog.file, function: prog.function, hint: '' };
		ops = [
			{ op: 'srcuLock', text: `the caller holds kvm->srcu around ${prog.function}() (srcu_read_lock(&kvm->srcu))`, loc: at },
			...ops.map((o): ReaderOp => (o.op === 'return' ? { ...o, to: 'ctx:srcu' } : o)),
			{ op: 'label', name: 'ctx:srcu' },
			{ op: 'srcuUnlock', text: `the caller leaves kvm->srcu (srcu_read_unlock(&kvm->srcu, idx))`, loc: at },
		];
	}
	if (c.kind === 'sched-out') {
		context.atomic = contextText(c);
		// __schedule(): interrupts off, rq_lock(); prepare_task_switch() fires the notifiers; the function returns into finish_task_switch().
		ops = [
			{ op: 'schedOut', text: `__schedule(): local_irq_disable(); rq_lock(rq, &rf); prepare_task_switch() → ${chain.map((l) => `${l.fn}()`).join(' → ')}` },
			...ops.map((o): ReaderOp => (o.op === 'return' ? { ...o, to: 'ctx:back' } : o)),
			{ op: 'label', name: 'ctx:back' },
			{ op: 'schedIn', text: 'finish_task_switch(): finish_lock_switch(rq): rq unlocked, interrupts on' },
		];
	} else if (c.kind === 'hardirq') {
		context.atomic = contextText(c);
		context.irq = true;
		context.interrupts = 'vcpu';
		if (entry) context.entry = { file: entry.file, function: entry.fn, hint: '' };
		context.entryText = `hard IRQ on the vCPU's CPU: ${chain.map((l) => `${l.fn}()`).join(' → ')}`;
	} else if (c.kind === 'atomic') {
		context.atomic = contextText(c);
	}
	return { ...prog, ops, context };
}

// A reader (any user of a gpc) as a flat list of operations with labels and
// jumps: the shape the engine can extract from a function's control-flow paths.
// compileReader() turns it into model steps; refresh/activate/deactivate expand
// to the pfncache.c programs of the variant under test.
import { END, and, dec, eq, g, inc, not, or, set, when, type ThreadBuilder } from './ir';
import { X86, accessOk, br, kvmGpcCheck, loc, mightSleep, type Ctx } from './ctx';
import { emitActivate, emitDeactivate, emitRefresh } from './pfncache';
import type { Location } from './types';

interface OpBase {
	/** the source text of the operation; becomes the step's location hint */
	text?: string;
	line?: number;
	/** full location, when the op is not in the program's own function */
	loc?: Location;
}
interface CacheOp extends OpBase {
	/** index into the world's caches; 0 when absent */
	cache?: number;
}

export type ReaderOp =
	| ({ op: 'lock' } & CacheOp)
	/** read_trylock(); jumps to `else` when the lock is contended */
	| ({ op: 'trylock'; else: string } & CacheOp)
	| ({ op: 'unlock' } & CacheOp)
	/** kvm_gpc_check(); jumps to `else` when it fails */
	| ({ op: 'check'; else: string } & CacheOp)
	/** kvm_gpc_refresh(); jumps to `else` on error (continues when absent) */
	| ({ op: 'refresh'; else?: string } & CacheOp)
	| ({ op: 'activate'; else?: string } & CacheOp)
	| ({ op: 'deactivate' } & CacheOp)
	/** read or write through gpc->khva */
	| ({ op: 'use' } & CacheOp)
	| ({ op: 'markDirty' } & CacheOp)
	| ({ op: 'srcuLock' } & OpBase)
	| ({ op: 'srcuUnlock' } & OpBase)
	| ({ op: 'irqSave' } & OpBase)
	| ({ op: 'irqRestore' } & OpBase)
	/** enter the scheduler with rq->__lock held (preempt notifiers run here) */
	| ({ op: 'schedOut' } & OpBase)
	| ({ op: 'schedIn' } & OpBase)
	/** any other call that may sleep */
	| ({ op: 'sleep' } & OpBase)
	/** guest usage: program gpc->pfn into hardware (e.g. a VMCS field) */
	| ({ op: 'loadHw' } & CacheOp)
	| ({ op: 'enterGuest' } & OpBase)
	/** kvm_vcpu_exit_request(): a pending request aborts entry and jumps to `else` */
	| ({ op: 'checkRequest'; else: string } & OpBase)
	| ({ op: 'guestAccess' } & OpBase)
	| ({ op: 'exitGuest' } & OpBase)
	| { op: 'label'; name: string }
	| { op: 'goto'; target: string }
	| ({ op: 'return' } & OpBase);

export interface ReaderProgram {
	/** thread name shown in traces and lanes */
	name: string;
	file: string;
	function: string;
	ops: ReaderOp[];
	/** an adversary's end counts towards "invalidations stopped" (liveness) */
	adversary?: boolean;
}

const DEFAULT_TEXT: Record<string, string> = {
	lock: 'read_lock_irqsave(&gpc->lock, flags)',
	trylock: 'read_trylock(&gpc->lock)',
	unlock: 'read_unlock_irqrestore(&gpc->lock, flags)',
	check: 'kvm_gpc_check(gpc, len)',
	refresh: 'kvm_gpc_refresh(gpc, len)',
	activate: 'kvm_gpc_activate(gpc, gpa, len)',
	deactivate: 'kvm_gpc_deactivate(gpc)',
	use: 'access through gpc->khva',
	markDirty: 'kvm_gpc_mark_dirty_in_slot(gpc)',
	srcuLock: 'srcu_read_lock(&kvm->srcu)',
	srcuUnlock: 'srcu_read_unlock(&kvm->srcu, idx)',
	irqSave: 'local_irq_save(flags)',
	irqRestore: 'local_irq_restore(flags)',
	schedOut: 'rq_lock(rq, &rf)',
	schedIn: 'finish_lock_switch(rq)',
	sleep: 'might_sleep()',
	loadHw: 'program gpc->pfn into hardware',
	enterGuest: 'smp_store_release(&vcpu->mode, IN_GUEST_MODE)',
	checkRequest: 'kvm_vcpu_exit_request(vcpu)',
	guestAccess: 'guest accesses the page',
	exitGuest: 'vcpu->mode = OUTSIDE_GUEST_MODE',
	return: 'return',
};

const userLabel = (name: string) => `u:${name}`;

export function compileReader(t: ThreadBuilder, ctx: Ctx, prog: ReaderProgram): void {
	const me = t.me;
	const scheduler = prog.ops.some((o) => o.op === 'schedOut');
	const nCaches = ctx.world.caches.length;
	for (const op of prog.ops) {
		if (op.op === 'label') {
			t.mark(userLabel(op.name));
			continue;
		}
		if (op.op === 'goto') {
			t.goto(userLabel(op.target));
			continue;
		}
		const text = op.text ?? op.loc?.hint ?? DEFAULT_TEXT[op.op];
		const where: Location = op.loc ?? { file: prog.file, function: prog.function, hint: text, ...(op.line ? { line: op.line } : {}) };
		const c = 'cache' in op && op.cache !== undefined ? op.cache : 0;
		if (c >= nCaches) throw new Error(`${prog.name}: no cache ${c} in this world`);
		const r = t.local(`r${c}`);
		const acquire = [inc(g('rd', c)), set(r, 1)];
		const onErr = (label: string | undefined) => {
			if (label) return userLabel(label);
			const cont = t.fresh('cont');
			return cont;
		};
		switch (op.op) {
			case 'return':
				t.goto(END);
				break;
			case 'lock':
				if (scheduler) {
					// Contended while holding rq->__lock: the slow path's PI walk needs rq->__lock too.
					const slow = t.fresh('slow');
					const after = t.fresh('locked');
					t.step(text, where, {
						guard: or(eq(g('wr', c), 0), eq(g('rq'), me)),
						body: [when(eq(g('wr', c), 0), acquire, [set(br(t), 1)])],
						next: { cases: [{ when: eq(br(t), 1), goto: slow }], else: after },
					});
					t.mark(slow);
					t.step('contended: rwlock slow path; priority inheritance needs rq->__lock', loc('kernel/locking/rwbase_rt.c', '__rwbase_read_lock', 'raw_spin_lock_irq(&rtm->wait_lock);'), {
						guard: and(eq(g('rq'), 0), eq(g('wr', c), 0)),
						body: acquire,
					});
					t.mark(after);
				} else {
					t.step(text, where, { guard: eq(g('wr', c), 0), body: acquire });
				}
				break;
			case 'trylock':
				t.step(text, where, {
					body: [when(eq(g('wr', c), 0), acquire, [set(br(t), 1)])],
					next: { cases: [{ when: eq(br(t), 1), goto: userLabel(op.else) }] },
				});
				break;
			case 'unlock':
				t.step(text, where, { body: [dec(g('rd', c)), set(r, 0)] });
				break;
			case 'check':
				t.step(text, where, {
					body: [when(not(kvmGpcCheck(ctx, c)), [set(br(t), 1)])],
					next: { cases: [{ when: eq(br(t), 1), goto: userLabel(op.else) }] },
				});
				break;
			case 'refresh': {
				const err = onErr(op.else);
				emitRefresh(t, ctx, c, { acquire: true, release: true, onError: err });
				if (!op.else) t.mark(err);
				break;
			}
			case 'activate': {
				const err = onErr(op.else);
				emitActivate(t, ctx, c, { onError: err });
				if (!op.else) t.mark(err);
				break;
			}
			case 'deactivate':
				emitDeactivate(t, ctx, c);
				break;
			case 'use':
				t.step(text, where, {
					body: [
						...accessOk(g('khva', c), `${prog.name}: access`, true),
						// A valid cache maps the page behind its own uhva; a khva of another hva's page is a stale mapping too.
						{ assert: eq(g('page_hva', g('khva', c)), g('uhva', c)), prop: 'stale-access', msg: `${prog.name}: access through a khva that maps another hva's page than ${ctx.world.caches[c].name}->uhva` },
					],
				});
				break;
			case 'markDirty':
				t.step(text, where);
				break;
			case 'srcuLock':
				t.step(text, op.loc ?? loc(X86, 'vcpu_run', 'kvm_vcpu_srcu_read_lock(vcpu);'), { body: [set(g('srcu_rd', me), 1)] });
				break;
			case 'srcuUnlock':
				t.step(text, op.loc ?? loc(X86, 'vcpu_run', 'kvm_vcpu_srcu_read_unlock(vcpu);'), { body: [set(g('srcu_rd', me), 0), set(g('srcu_old', me), 0)] });
				break;
			case 'irqSave':
				t.step(text, where, { body: [set(t.local('irq'), 1)] });
				break;
			case 'irqRestore':
				t.step(text, where, { body: [set(t.local('irq'), 0)] });
				break;
			case 'schedOut':
				t.step(text, op.loc ?? loc('kernel/sched/core.c', '__schedule', 'rq_lock(rq, &rf);'), { guard: eq(g('rq'), 0), body: [set(g('rq'), me)] });
				break;
			case 'schedIn':
				t.step(text, op.loc ?? loc('kernel/sched/core.c', 'finish_task_switch', 'finish_lock_switch(rq);'), { body: [set(g('rq'), 0)] });
				break;
			case 'sleep':
				t.step(text, where, { body: [mightSleep(t, ctx, text)] });
				break;
			case 'loadHw':
				t.step(text, where, { body: [set(t.local('hw'), g('pfn', c))] });
				break;
			case 'enterGuest':
				t.step(text, where, { body: [set(g('mode'), 1)] });
				break;
			case 'checkRequest':
				t.step(text, where, {
					body: [when(eq(g('req'), 1), [set(g('mode'), 0), set(g('req'), 0), set(br(t), 1)])],
					next: { cases: [{ when: eq(br(t), 1), goto: userLabel(op.else) }] },
				});
				break;
			case 'guestAccess':
				t.step(text, where, { body: accessOk(t.local('hw'), `${prog.name}: guest access`, false) });
				break;
			case 'exitGuest':
				t.step(text, where, { body: [set(g('mode'), 0), set(t.local('hw'), 0)] });
				break;
		}
	}
}

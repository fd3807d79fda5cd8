// A reader (any user of a gpc) as a flat list of operations with labels and
// jumps: the shape the engine can extract from a function's control-flow paths.
// compileReader() turns it into model steps; refresh/activate/deactivate expand
// to the pfncache.c programs of the variant under test.
import { END, and, check, dec, eq, g, inc, ite, not, or, set, when, type Expr, type NextSpec, type Stmt, type ThreadBuilder } from './ir';
import { SCHED, X86, accessOk, br, kvmGpcCheck, loc, mightSleep, readFree, tryReadFree, type Ctx } from './ctx';
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

/** How a lock primitive treats interrupts: `irq`/`irqsave` disable them until the matching unlock. */
export type LockVariant = 'plain' | 'irq' | 'irqsave' | 'bh';

export type ReaderOp =
	| ({ op: 'lock'; variant?: LockVariant } & CacheOp)
	/** read_trylock(); jumps to `else` when the lock is contended, or stores the outcome (1: taken) in `store` */
	| ({ op: 'trylock'; else?: string; store?: string; variant?: LockVariant } & CacheOp)
	| ({ op: 'unlock'; variant?: LockVariant } & CacheOp)
	/** kvm_gpc_check(); jumps to `else` when it fails, or stores the outcome (1: valid) in `store` */
	| ({ op: 'check'; else?: string; store?: string } & CacheOp)
	/** kvm_gpc_refresh(); jumps to `else` on error (continues when absent), or stores the return value (1: error) in `store` */
	| ({ op: 'refresh'; else?: string; store?: string } & CacheOp)
	| ({ op: 'activate'; else?: string; store?: string } & CacheOp)
	| ({ op: 'deactivate' } & CacheOp)
	/** read or write through gpc->khva */
	| ({ op: 'use' } & CacheOp)
	/** a read of gpc->memslot, gpa, uhva or generation: fields a refresh rewrites together under the write lock */
	| ({ op: 'fieldRead'; field: string } & CacheOp)
	| ({ op: 'markDirty' } & CacheOp)
	/** the caller holds the cache's read lock when the function is entered (it releases it first) */
	| ({ op: 'held' } & CacheOp)
	/** `if (gpc->active)` read without the lock: jumps to `else` when the cache is not active */
	| ({ op: 'active'; else: string } & CacheOp)
	/** `if (var)` on a value a check, trylock or refresh stored: jumps to `else` when it is 0 */
	| ({ op: 'test'; var: string; else: string } & OpBase)
	/** a branch the model does not decide (a condition on other data): every way is explored */
	| ({ op: 'choose'; ways: { target: string; label: string }[] } & OpBase)
	| ({ op: 'srcuLock' } & OpBase)
	| ({ op: 'srcuUnlock' } & OpBase)
	| ({ op: 'irqSave' } & OpBase)
	| ({ op: 'irqRestore' } & OpBase)
	/** enter the scheduler with rq->__lock held (preempt notifiers run here) */
	| ({ op: 'schedOut' } & OpBase)
	| ({ op: 'schedIn' } & OpBase)
	/** try_to_wake_up() of a task that wakes onto the CPU of the sched-out thread: p->pi_lock, then that CPU's rq->__lock */
	| ({ op: 'wake' } & OpBase)
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
	/** leave the function (to the label `to`, default the thread's end); with `balance`, a lock still held (or the caller's lock not given back) is a violation */
	| ({ op: 'return'; balance?: boolean; to?: string } & OpBase);

/** The context a thread runs in (a calling context of the function, or an adversary's). */
export interface ThreadContext {
	/** Why it may never sleep (the sched-out notifier, a hard IRQ, preemption disabled), if it may not. */
	atomic?: string;
	/** Interrupt context (in_interrupt()): its read locks do not wait behind a queued writer. */
	irq?: boolean;
	/** For an interrupt handler: the thread whose CPU it interrupts; it starts only while that thread has interrupts enabled, which then waits until the handler returns. */
	interrupts?: string;
	/**
	 * Its read locks wait behind a queued writer even in interrupt context: qrwlock without its
	 * in_interrupt() exception, to show what the exception is for (tests only).
	 */
	queueInInterrupt?: boolean;
	/** Where the interrupt comes from (the handler's entry step). */
	entry?: Location;
	entryText?: string;
}

export interface ReaderProgram {
	/** thread name shown in traces and lanes */
	name: string;
	file: string;
	function: string;
	ops: ReaderOp[];
	/** an adversary's end counts towards "invalidations stopped" (liveness) */
	adversary?: boolean;
	context?: ThreadContext;
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
	fieldRead: 'read of gpc->memslot / gpc->gpa',
	markDirty: 'kvm_gpc_mark_dirty_in_slot(gpc)',
	held: 'the caller holds gpc->lock',
	test: 'if (ret)',
	active: 'if (gpc->active)',
	choose: 'branch',
	srcuLock: 'srcu_read_lock(&kvm->srcu)',
	srcuUnlock: 'srcu_read_unlock(&kvm->srcu, idx)',
	irqSave: 'local_irq_save(flags)',
	irqRestore: 'local_irq_restore(flags)',
	schedOut: 'rq_lock(rq, &rf)',
	schedIn: 'finish_lock_switch(rq)',
	wake: 'kvm_vcpu_kick(vcpu)',
	sleep: 'might_sleep()',
	loadHw: 'program gpc->pfn into hardware',
	enterGuest: 'smp_store_release(&vcpu->mode, IN_GUEST_MODE)',
	checkRequest: 'kvm_vcpu_exit_request(vcpu)',
	guestAccess: 'guest accesses the page',
	exitGuest: 'vcpu->mode = OUTSIDE_GUEST_MODE',
	return: 'return',
};

/** The variant a lock or unlock's text names (`read_lock_irqsave`, `write_unlock_irq`, `local_irq_save(); read_trylock()`). */
export function variantOfText(text: string): LockVariant {
	if (/_irqsave\b|_irqrestore\b|local_irq_save/.test(text)) return 'irqsave';
	if (/_irq\b/.test(text)) return 'irq';
	if (/_bh\b/.test(text)) return 'bh';
	return 'plain';
}

const userLabel = (name: string) => `u:${name}`;
const stored = (name: string) => `v_${name}`;

export function compileReader(t: ThreadBuilder, ctx: Ctx, prog: ReaderProgram): void {
	const me = t.me;
	const nCaches = ctx.world.caches.length;
	const context = prog.context ?? {};
	if (context.atomic) t.atomic = context.atomic;
	const victim = context.interrupts !== undefined ? ctx.threadId(context.interrupts) : undefined;
	if (context.interrupts !== undefined && victim === undefined) throw new Error(`${prog.name}: interrupts ${context.interrupts}, which is not a thread of the model`);
	// A hard IRQ handler: interrupts stay off until it returns; it starts only while its CPU's thread has them on.
	const irqExit = context.irq ? t.fresh('irq_exit') : END;
	if (context.irq) {
		t.inInterrupt = !context.queueInInterrupt;
		const entry = context.entry ?? { file: prog.file, function: prog.function, hint: '' };
		t.step(context.entryText ?? `hard IRQ${context.interrupts ? ` on ${context.interrupts}'s CPU` : ''}: ${prog.function}()`, entry, {
			guard: victim ? and(eq(g('irqoff', victim), 0), eq(g('hirq', victim), 0)) : undefined,
			body: [inc(g('irqoff', me)), ...(victim ? [set(g('hirq', victim), me)] : [])],
		});
	}
	/** Caches whose lock the caller holds at entry: the thread must give them back held. */
	const heldAtEntry = new Set(prog.ops.filter((o): o is Extract<ReaderOp, { op: 'held' }> => o.op === 'held').map((o) => o.cache ?? 0));
	const usedCaches = [...new Set(prog.ops.flatMap((o) => ('cache' in o ? [o.cache ?? 0] : o.op === 'lock' || o.op === 'unlock' || o.op === 'trylock' ? [0] : [])))];
	/** fieldRead: the generation and uhva a successful check saw, per cache. */
	const readsFields = new Set(prog.ops.filter((o) => o.op === 'fieldRead').map((o) => ('cache' in o ? o.cache ?? 0 : 0)));
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
		const irqOn = (v: LockVariant) => (v === 'irq' || v === 'irqsave' ? [inc(g('irqoff', me))] : []);
		const irqOff = (v: LockVariant) => (v === 'irq' || v === 'irqsave' ? [dec(g('irqoff', me))] : []);
		const saw = readsFields.has(c) ? [set(t.local(`fg${c}`), g('gen', c)), set(t.local(`fu${c}`), g('uhva', c))] : [];
		const onErr = (label: string | undefined) => {
			if (label) return userLabel(label);
			const cont = t.fresh('cont');
			return cont;
		};
		/** Where a check/trylock/refresh outcome goes: a jump, or a stored value a later `test` reads. */
		const outcome = (o: { else?: string; store?: string }, bad: Expr): { body: Stmt[]; next?: NextSpec } => {
			if (o.store) return { body: [set(t.local(stored(o.store)), ite(bad, 0, 1))] };
			if (o.else) return { body: [when(bad, [set(br(t), 1)])], next: { cases: [{ when: eq(br(t), 1), goto: userLabel(o.else) }] } };
			return { body: [] };
		};
		switch (op.op) {
			case 'return': {
				const balance: Stmt[] = op.balance
					? usedCaches.map((k) =>
							check(eq(t.local(`r${k}`), heldAtEntry.has(k) ? 1 : 0), 'lock-balance', heldAtEntry.has(k) ? `${prog.name} returns without the ${ctx.world.caches[k].name}->lock its caller holds` : `${prog.name} returns holding ${ctx.world.caches[k].name}->lock`),
						)
					: [];
				const out = op.to ? userLabel(op.to) : irqExit;
				if (balance.length) t.step(text, where, { body: balance, next: out });
				else t.goto(out);
				break;
			}
			case 'held':
				// The caller took the lock before the call (a writer cannot be in between: it is one step with the entry).
				t.step(text, where, { guard: readFree(c, t.inInterrupt), body: [inc(g('rd', c)), set(r, 1)] });
				break;
			case 'lock': {
				const v = op.variant ?? variantOfText(text);
				t.step(text, where, { guard: readFree(c, t.inInterrupt), body: [inc(g('rd', c)), set(r, 1), ...irqOn(v)] });
				break;
			}
			case 'trylock': {
				const v = op.variant ?? variantOfText(text);
				const taken = [inc(g('rd', c)), set(r, 1), ...irqOn(v)];
				if (op.store) t.step(text, where, { body: [when(tryReadFree(c), [...taken, set(t.local(stored(op.store)), 1)], [set(t.local(stored(op.store)), 0)])] });
				else
					t.step(text, where, {
						body: [when(tryReadFree(c), taken, [set(br(t), 1)])],
						...(op.else ? { next: { cases: [{ when: eq(br(t), 1), goto: userLabel(op.else) }] } } : {}),
					});
				break;
			}
			case 'unlock': {
				const v = op.variant ?? variantOfText(text);
				t.step(text, where, {
					body: [check(eq(r, 1), 'lock-balance', `${prog.name} releases ${ctx.world.caches[c].name}->lock, which it does not hold`), dec(g('rd', c)), set(r, 0), ...irqOff(v)],
				});
				break;
			}
			case 'check': {
				const o = outcome(op, not(kvmGpcCheck(ctx, c)));
				t.step(text, where, { body: [...(saw.length ? [when(kvmGpcCheck(ctx, c), saw)] : []), ...o.body], ...(o.next ? { next: o.next } : {}) });
				break;
			}
			case 'active':
				t.step(text, where, { body: [when(eq(g('active', c), 0), [set(br(t), 1)])], next: { cases: [{ when: eq(br(t), 1), goto: userLabel(op.else) }] } });
				break;
			case 'test':
				t.step(text, where, { body: [when(eq(t.local(stored(op.var)), 0), [set(br(t), 1)])], next: { cases: [{ when: eq(br(t), 1), goto: userLabel(op.else) }] } });
				break;
			case 'choose':
				t.step(text, where, { next: { choice: op.ways.map((w) => ({ goto: userLabel(w.target), label: w.label })) } });
				break;
			case 'refresh':
			case 'activate': {
				const err = op.store ? t.fresh('err') : onErr(op.else);
				const emit = op.op === 'refresh' ? () => emitRefresh(t, ctx, c, { acquire: true, release: true, onError: err }) : () => emitActivate(t, ctx, c, { onError: err });
				emit();
				if (op.store) {
					// ret = kvm_gpc_refresh(...): 0 on success, an error otherwise; the C tests it later.
					const after = t.fresh('stored');
					t.step(`${text} returned 0`, where, { body: [set(t.local(stored(op.store)), 0)], next: after });
					t.mark(err);
					t.step(`${text} returned an error`, where, { body: [set(t.local(stored(op.store)), 1)] });
					t.mark(after);
				} else if (!op.else) t.mark(err);
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
			case 'fieldRead':
				t.step(text, where, {
					body: [
						check(
							or(eq(r, 1), and(eq(g('gen', c), t.local(`fg${c}`)), eq(g('uhva', c), t.local(`fu${c}`)))),
							'stale-access',
							`${prog.name}: gpc->${op.field} of ${ctx.world.caches[c].name} read after the unlock, and a refresh has rewritten memslot, gpa, uhva and generation since the check that validated them`,
						),
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
				t.step(text, where, { body: [inc(g('irqoff', me))] });
				break;
			case 'irqRestore':
				t.step(text, where, { body: [dec(g('irqoff', me))] });
				break;
			case 'schedOut':
				// __schedule(): local_irq_disable(); rq_lock(rq, &rf); ... prepare_task_switch() fires the sched-out notifiers.
				t.step(text, op.loc ?? loc(SCHED, '__schedule', 'rq_lock(rq, &rf);'), { guard: eq(g('rq'), 0), body: [set(g('rq'), me), inc(g('irqoff', me))] });
				break;
			case 'schedIn':
				t.step(text, op.loc ?? loc(SCHED, 'finish_task_switch', 'finish_lock_switch(rq);'), { body: [set(g('rq'), 0), dec(g('irqoff', me))] });
				break;
			case 'wake':
				// try_to_wake_up(): p->pi_lock, then (the task wakes onto the sched-out thread's CPU) that CPU's rq->__lock.
				t.step(`${text}: try_to_wake_up(p): raw_spin_lock_irqsave(&p->pi_lock, flags)`, op.loc ?? where, { guard: eq(g('pi'), 0), body: [set(g('pi'), me)] });
				t.step('ttwu_queue(): rq_lock(rq, &rf) of the CPU p wakes on; ttwu_do_activate(); rq_unlock(); raw_spin_unlock_irqrestore(&p->pi_lock)', { ...loc(SCHED, 'ttwu_queue', 'rq_lock(rq, &rf);') }, {
					guard: eq(g('rq'), 0),
					body: [set(g('pi'), 0)],
				});
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
	if (context.irq) {
		t.mark(irqExit);
		t.step('irq_exit(): the handler returns', context.entry ?? { file: prog.file, function: prog.function, hint: '' }, {
			body: [dec(g('irqoff', me)), ...(victim ? [set(g('hirq', victim), 0)] : [])],
		});
	}
}

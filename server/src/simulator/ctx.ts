// What every program fragment needs: the world, the variant, and the checks
// that several fragments share (sleeping, memory access, page references).
import { and, check, dec, eq, g, gt, inc, ne, or, set, when, type Expr, type NextSpec, type Stmt, type ThreadBuilder } from './ir';
import type { World } from './model';
import type { Location } from './types';
import type { VariantFlags } from './variants';

export interface Ctx {
	world: World;
	flags: VariantFlags;
	/** number of threads of the model (thread ids are 1..nThreads) */
	nThreads: number;
	/** thread id (1-based) of a thread of the model by name */
	threadId(name: string): number | undefined;
}

export const PFNCACHE = 'virt/kvm/pfncache.c';
export const KVM_MAIN = 'virt/kvm/kvm_main.c';
export const XEN = 'arch/x86/kvm/xen.c';
export const X86 = 'arch/x86/kvm/x86.c';
export const SCHED = 'kernel/sched/core.c';

export const loc = (file: string, fn: string, hint: string, tree?: string): Location => (tree ? { file, function: fn, hint, tree } : { file, function: fn, hint });

/** Today's location, or where 6.1's pfncache.c has the same step (flags.code === '6.1'). */
export function at(ctx: Ctx, today: Location, v61: Location): Location {
	return ctx.flags.code === '6.1' ? v61 : today;
}

/** Local that holds the branch outcome of a step; both checkers clear it after the step. */
export const BR = 'br';
export const br = (t: ThreadBuilder) => t.local(BR);

/** The thread holds no gpc rwlock, no scheduler lock and has interrupts enabled. */
export function holdsNothing(t: ThreadBuilder, ctx: Ctx): Expr {
	const terms: Expr[] = [];
	ctx.world.caches.forEach((_, c) => {
		terms.push(eq(t.local(`r${c}`), 0));
		terms.push(ne(g('wr', c), t.me));
	});
	terms.push(ne(g('rq'), t.me), ne(g('pi'), t.me));
	terms.push(eq(g('irqoff', t.me), 0));
	return and(...terms);
}

export function mightSleep(t: ThreadBuilder, ctx: Ctx, what: string): Stmt {
	// A thread that runs in atomic context (the sched-out notifier, a hard IRQ, preemption off) may never sleep.
	if (t.atomic) return check(0, 'sleep-under-lock', `${what} may sleep, but ${t.name} runs in ${t.atomic}`);
	return check(holdsNothing(t, ctx), 'sleep-under-lock', `${what} may sleep, but ${t.name} holds a gpc rwlock or a scheduler lock, or has interrupts disabled`);
}

/**
 * The queued rwlock (kernel/locking/qrwlock.c): a reader in process context
 * finds the lock taken when a writer holds it *or waits for it*
 * (queued_read_lock_slowpath() queues behind the writer on wait_lock); a
 * reader in interrupt context (in_interrupt()) only waits while a writer
 * holds it, so that an interrupt handler never waits for a writer that waits
 * for the reader it interrupted.
 */
export function readFree(c: number, inInterrupt = false): Expr {
	return inInterrupt ? eq(g('wr', c), 0) : and(eq(g('wr', c), 0), eq(g('wq', c), 0));
}

/** queued_read_trylock(): fails while a writer holds or waits for the lock, whatever the context. */
export const tryReadFree = (c: number): Expr => and(eq(g('wr', c), 0), eq(g('wq', c), 0));

/** Branch value of a writer that found the lock taken and queued itself as the waiting writer. */
const QUEUED = 9;

/**
 * write_lock_irq(&gpc->lock); <body>; write_unlock_irq() as one step, with
 * the queued rwlock's writer slow path: a writer that finds readers or
 * another writer takes wait_lock and sets _QW_WAITING (wq = me), from then on
 * holding off new process-context readers, and takes the lock when the last
 * reader leaves. A second writer waits on wait_lock (wq taken). The step comes
 * back to itself once, when it queues.
 */
export function writeLocked(t: ThreadBuilder, c: number, action: string, where: Location, spec: { body: Stmt[]; next?: NextSpec; skip?: Expr }): void {
	const me = t.me;
	const self = t.fresh('write_lock');
	const free = and(eq(g('rd', c), 0), eq(g('wr', c), 0));
	if (spec.skip) {
		// The lock is not taken at all when `skip` holds (a cache that is not on kvm->gpc_list).
		const n = spec.next;
		const queue = { when: eq(br(t), QUEUED), goto: self };
		t.mark(self);
		t.step(action, where, {
			guard: or(spec.skip, eq(g('wq', c), 0), and(eq(g('wq', c), me), free)),
			body: [when(spec.skip, [], [when(free, [set(g('wq', c), 0), ...spec.body], [set(g('wq', c), me), set(br(t), QUEUED)])])],
			next: n === undefined ? { cases: [queue] } : typeof n === 'string' ? { cases: [queue], else: n } : 'choice' in n ? n : { cases: [queue, ...n.cases], else: n.else },
			requeue: 'write_lock_irq(&gpc->lock): contended, queued as the waiting writer (_QW_WAITING): new readers wait behind it',
		});
		return;
	}
	const queue = { when: eq(br(t), QUEUED), goto: self };
	const n = spec.next;
	const next: NextSpec =
		n === undefined ? { cases: [queue] } : typeof n === 'string' ? { cases: [queue], else: n } : 'choice' in n ? n : { cases: [queue, ...n.cases], else: n.else };
	t.mark(self);
	t.step(action, where, {
		guard: or(eq(g('wq', c), 0), and(eq(g('wq', c), me), free)),
		body: [when(free, [set(g('wq', c), 0), ...spec.body], [set(g('wq', c), me), set(br(t), QUEUED)])],
		next,
		requeue: 'write_lock_irq(&gpc->lock): contended, queued as the waiting writer (_QW_WAITING): new readers wait behind it',
	});
}

/** One access through a kernel mapping or a hardware-held pfn of page `p`. */
export function accessOk(p: Expr, what: string, viaKmap: boolean): Stmt[] {
	const s: Stmt[] = [check(ne(p, 0), 'stale-access', `${what} through a NULL ${viaKmap ? 'khva' : 'pfn'} of a cache that checks as valid`)];
	if (viaKmap) s.push(check(gt(g('maps', p), 0), 'stale-access', `${what} through a kernel mapping that was already unmapped`));
	s.push(
		check(eq(g('freed', p), 0), 'stale-access', `${what} to a page the host has freed`),
		check(ne(g('page_hva', p), 0), 'stale-access', `${what} to a stale page: it no longer backs its hva`),
		check(eq(g('retired', g('page_hva', p)), 0), 'stale-access', `${what} to memory that left the guest's memslots`),
	);
	return s;
}

/** gpc_unmap(pfn, khva): a no-op for KVM_PFN_ERR_FAULT or NULL, else drop one kmap. */
export function unmap(pfn: Expr, khva: Expr): Stmt {
	return when(and(ne(pfn, 0), ne(khva, 0)), [
		check(gt(g('maps', khva), 0), 'stale-access', 'gpc_unmap() of a kernel mapping that was already unmapped (double unmap)'),
		dec(g('maps', khva)),
	]);
}

/** kvm_release_pfn_clean(pfn): put the reference hva_to_pfn() took; a zapped page is freed with its last one. */
export function putPage(p: Expr): Stmt {
	return when(ne(p, 0), [dec(g('gup', p)), when(and(eq(g('gup', p), 0), eq(g('orphan', p), 1)), [set(g('freed', p), 1)])]);
}

/**
 * hva_to_pfn(uhva) as get_user_pages() does it: the page behind the hva, with a
 * reference; an hva whose page was zapped faults in a fresh page. Call only
 * when the hva is not under a migration entry (the caller's guard waits).
 */
export function gupInto(t: ThreadBuilder, dst: string, hva: Expr): Stmt[] {
	const d = t.local(dst);
	return [
		when(eq(g('backing', hva), 0), [set(g('backing', hva), g('nextpage')), set(g('page_hva', g('nextpage')), hva), inc(g('nextpage'))]),
		set(d, g('backing', hva)),
		inc(g('gup', d)),
	];
}

/** mmu_seq = kvm->mmu_invalidate_seq: remembered as "not moved since" for this thread. */
export const seqSnapshot = (t: ThreadBuilder): Stmt => set(g('seqmv', t.me), 0);
/** kvm->mmu_invalidate_seq != mmu_seq */
export const seqMoved = (t: ThreadBuilder): Expr => eq(g('seqmv', t.me), 1);
/** kvm->mmu_invalidate_seq++: every snapshot taken so far is now out of date. */
export function seqBump(ctx: Ctx): Stmt[] {
	const s: Stmt[] = [set(g('mmu_seq'), { op: '?', c: { op: '<', a: g('mmu_seq'), b: 99 }, a: { op: '+', a: g('mmu_seq'), b: 1 }, b: 99 })];
	for (let t = 1; t <= ctx.nThreads; t++) s.push(set(g('seqmv', t), 1));
	return s;
}

export const kvmGpcCheck = (ctx: Ctx, c: number): Expr => {
	const terms: Expr[] = [];
	if (!ctx.flags.noActiveFlag && !ctx.flags.mutant?.noActiveInCheck) terms.push(eq(g('active', c), 1));
	// "If the page was cached from a memslot, make sure the memslots have not been re-configured."
	if (!ctx.world.caches[c].hvaBased && !ctx.flags.mutant?.noGenerationCheck) terms.push(eq(g('gen', c), g('slots_gen')));
	terms.push(ne(g('uhva', c), 0), eq(g('valid', c), 1));
	return and(...terms);
};

// Workloads: which threads race on which caches. Every reader here is correct
// against today's contract; variants change the code under test.
import { XEN, X86, loc, type Ctx } from './ctx';
import { ThreadBuilder } from './ir';
import type { World } from './model';
import { emitInvalidation, emitMemslotMove, type InvalidationKind } from './notifier';
import { compileReader, type ReaderOp, type ReaderProgram } from './reader';
import type { ScenarioInfo } from './types';
import type { GuestEntry, VariantFlags } from './variants';

export interface ThreadSpec {
	name: string;
	adversary: boolean;
	/** a hard IRQ handler: the thread whose CPU it interrupts (that thread waits while the handler runs) */
	interrupts?: string;
	emit(t: ThreadBuilder, ctx: Ctx): void;
}

export interface Scenario extends ScenarioInfo {
	world: World;
	build(flags: VariantFlags): ThreadSpec[];
}

const T61 = 'linux-6.1';

export const readerThread = (prog: ReaderProgram): ThreadSpec => ({
	name: prog.name,
	adversary: prog.adversary ?? false,
	...(prog.context?.interrupts ? { interrupts: prog.context.interrupts } : {}),
	emit: (t, ctx) => compileReader(t, ctx, prog),
});

const invalidation = (name: string, hva: number, rounds = 1, kind: InvalidationKind = 'migrate', loop = false): ThreadSpec => ({
	name,
	adversary: true,
	emit: (t, ctx) => emitInvalidation(t, ctx, hva, { kind, rounds, loop }),
});

/**
 * kvm_xen_inject_pending_events() (6.12): the canonical reader loop, run from
 * vcpu_enter_guest() inside kvm->srcu.
 */
export function eventReader(name: string, o: { srcu: boolean; recheck: boolean }): ReaderProgram {
	const ops: ReaderOp[] = [];
	if (o.srcu) ops.push({ op: 'srcuLock', text: 'kvm_vcpu_srcu_read_lock(vcpu)' });
	ops.push(
		{ op: 'lock', text: 'read_lock_irqsave(&gpc->lock, flags);' },
		{ op: 'label', name: 'check' },
		{ op: 'check', else: 'fail', text: 'while (!kvm_gpc_check(gpc, sizeof(struct vcpu_info))) {' },
		{ op: 'label', name: 'use' },
		{ op: 'use', text: 'WRITE_ONCE(vi->evtchn_upcall_pending, 1);' },
		{ op: 'markDirty', text: 'kvm_gpc_mark_dirty_in_slot(gpc);' },
		{ op: 'unlock', text: 'read_unlock_irqrestore(&gpc->lock, flags);', loc: { file: XEN, function: 'kvm_xen_inject_pending_events', hint: 'read_unlock_irqrestore(&gpc->lock, flags);', occurrence: 2 } },
		{ op: 'goto', target: 'out' },
		{ op: 'label', name: 'fail' },
		{ op: 'unlock', text: 'read_unlock_irqrestore(&gpc->lock, flags);' },
		{ op: 'refresh', else: 'out', text: 'if (kvm_gpc_refresh(gpc, sizeof(struct vcpu_info)))' },
		{ op: 'lock', text: 'read_lock_irqsave(&gpc->lock, flags);', loc: { file: XEN, function: 'kvm_xen_inject_pending_events', hint: 'read_lock_irqsave(&gpc->lock, flags);', occurrence: 2 } },
		// The contract's loop; without it the reader trusts the refresh it just did.
		{ op: 'goto', target: o.recheck ? 'check' : 'use' },
		{ op: 'label', name: 'out' },
	);
	if (o.srcu) ops.push({ op: 'srcuUnlock', text: 'kvm_vcpu_srcu_read_unlock(vcpu)' });
	return { name, file: XEN, function: 'kvm_xen_inject_pending_events', ops };
}

/** kvm_xen_update_runstate_guest(v, atomic=true) from kvm_sched_out(), single page. */
function schedOutRunstate(blocking: boolean): ReaderProgram {
	const fn = 'kvm_xen_update_runstate_guest';
	const ops: ReaderOp[] = [{ op: 'schedOut', text: '__schedule(): rq_lock(rq, &rf); preempt notifier kvm_sched_out()' }];
	if (blocking) {
		// 6.1: read_lock_irqsave() even when called from the scheduler.
		ops.push({ op: 'lock', text: 'read_lock_irqsave(&gpc->lock, flags)', loc: loc(XEN, fn, 'read_lock_irqsave(&gpc->lock, flags);', T61) });
	} else {
		ops.push({ op: 'trylock', else: 'bail', text: 'local_irq_save(flags); if (!read_trylock(&gpc1->lock)) return;', loc: loc(XEN, fn, 'if (!read_trylock(&gpc1->lock)) {') });
	}
	ops.push(
		{ op: 'check', else: 'fail', text: 'while (!kvm_gpc_check(gpc1, user_len1)) {' },
		{ op: 'use', text: '*rs_state = vx->current_runstate;' },
		{ op: 'markDirty', text: 'kvm_gpc_mark_dirty_in_slot(gpc1);' },
		{ op: 'unlock', text: 'read_unlock_irqrestore(&gpc1->lock, flags);', loc: { file: XEN, function: fn, hint: 'read_unlock_irqrestore(&gpc1->lock, flags);', occurrence: 4 } },
		{ op: 'goto', target: 'bail' },
		{ op: 'label', name: 'fail' },
		// "When invoked from kvm_sched_out() we cannot sleep": no refresh here.
		{ op: 'unlock', text: 'read_unlock_irqrestore(&gpc1->lock, flags); if (atomic) return;' , loc: loc(XEN, fn, 'read_unlock_irqrestore(&gpc1->lock, flags);')},
		{ op: 'label', name: 'bail' },
		{ op: 'schedIn', text: 'finish_task_switch(): finish_lock_switch(rq)' },
	);
	return { name: 'sched-out', file: XEN, function: fn, ops };
}

/** kvm_xen_update_runstate_guest(v, atomic=false) with the area split across two pages. */
function splitRunstate(recheck: boolean): ReaderProgram {
	const fn = 'kvm_xen_update_runstate_guest';
	const ops: ReaderOp[] = [
		{ op: 'label', name: 'retry' },
		{ op: 'lock', cache: 0, text: 'read_lock_irqsave(&gpc1->lock, flags);' },
		{ op: 'label', name: 'check1' },
		{ op: 'check', cache: 0, else: 'fail1', text: 'while (!kvm_gpc_check(gpc1, user_len1)) {' },
		{ op: 'label', name: 'second' },
		{ op: 'lock', cache: 1, text: 'lock_set_subclass(); read_lock(&gpc2->lock);', loc: loc(XEN, fn, 'read_lock(&gpc2->lock);') },
		{ op: 'check', cache: 1, else: 'fail2', text: 'if (!kvm_gpc_check(gpc2, user_len2)) {' },
		{ op: 'label', name: 'use' },
		{ op: 'use', cache: 0, text: 'memcpy(gpc1->khva, rs_state, user_len1);' },
		{ op: 'use', cache: 1, text: 'memcpy(gpc2->khva, ((void *)rs_state) + user_len1, user_len2);' },
		{ op: 'markDirty', cache: 1, text: 'kvm_gpc_mark_dirty_in_slot(gpc2);' },
		{ op: 'unlock', cache: 1, text: 'read_unlock(&gpc2->lock);', loc: { file: XEN, function: fn, hint: 'read_unlock(&gpc2->lock);', occurrence: 2 } },
		{ op: 'markDirty', cache: 0, text: 'kvm_gpc_mark_dirty_in_slot(gpc1);' },
		{ op: 'unlock', cache: 0, text: 'read_unlock_irqrestore(&gpc1->lock, flags);', loc: { file: XEN, function: fn, hint: 'read_unlock_irqrestore(&gpc1->lock, flags);', occurrence: 4 } },
		{ op: 'return' },
		{ op: 'label', name: 'fail1' },
		{ op: 'unlock', cache: 0, text: 'read_unlock_irqrestore(&gpc1->lock, flags);' },
		{ op: 'refresh', cache: 0, else: 'out', text: 'if (kvm_gpc_refresh(gpc1, user_len1))' },
		{ op: 'lock', cache: 0, text: 'read_lock_irqsave(&gpc1->lock, flags);', loc: { file: XEN, function: fn, hint: 'read_lock_irqsave(&gpc1->lock, flags);', occurrence: 2 } },
		{ op: 'goto', target: recheck ? 'check1' : 'second' },
		{ op: 'label', name: 'fail2' },
		{ op: 'unlock', cache: 1, text: 'read_unlock(&gpc2->lock);' },
		{ op: 'unlock', cache: 0, text: 'read_unlock_irqrestore(&gpc1->lock, flags);', loc: { file: XEN, function: fn, hint: 'read_unlock_irqrestore(&gpc1->lock, flags);', occurrence: 3 } },
		{ op: 'activate', cache: 1, else: 'out', text: 'if (kvm_gpc_activate(gpc2, gpc1->gpa + user_len1, user_len2))' },
	];
	if (recheck) {
		// "We dropped the lock on GPC1 so we have to go all the way back and revalidate that too."
		ops.push({ op: 'goto', target: 'retry' });
	} else {
		ops.push(
			{ op: 'lock', cache: 0, text: 'read_lock_irqsave(&gpc1->lock, flags);' },
			{ op: 'lock', cache: 1, text: 'read_lock(&gpc2->lock);', loc: loc(XEN, fn, 'read_lock(&gpc2->lock);') },
			{ op: 'goto', target: 'use' },
		);
	}
	ops.push({ op: 'label', name: 'out' });
	return { name: 'vcpu-runstate', file: XEN, function: fn, ops };
}

/**
 * vcpu_enter_guest() with a guest-usage cache (the pfn is programmed into
 * hardware, as nested VMX pages would be). The complete protocol: store
 * IN_GUEST_MODE, then look for requests; a request aborts the entry and its
 * handling re-checks the cache before the pfn goes back into hardware.
 */
function guestEntry(how: GuestEntry): ReaderProgram {
	const fn = 'vcpu_enter_guest';
	// No in-tree consumer of a guest-usage cache ever existed: these steps are the intended design.
	const design = (hint: string) => loc(X86, fn, hint, 'design only');
	const lockCheckLoad: ReaderOp[] = [
		{ op: 'label', name: 'enter' },
		{ op: 'lock', loc: design('read_lock_irqsave(&gpc->lock, flags)') },
		{ op: 'label', name: 'check' },
		{ op: 'check', else: 'fail', loc: design('kvm_gpc_check(gpc, PAGE_SIZE)') },
		{ op: 'loadHw', text: 'vmcs_write64(..., pfn_to_hpa(gpc->pfn))', loc: design('vmcs_write64(..., pfn_to_hpa(gpc->pfn))') },
		{ op: 'unlock', loc: design('read_unlock_irqrestore(&gpc->lock, flags)') },
	];
	const mode: ReaderOp = { op: 'enterGuest', loc: loc(X86, fn, 'smp_store_release(&vcpu->mode, IN_GUEST_MODE);', T61) };
	// Where an aborted entry goes: back through the request handling that re-checks the cache, or not.
	const request = (retry: string): ReaderOp => ({ op: 'checkRequest', else: retry, text: 'if (kvm_vcpu_exit_request(vcpu)) { vcpu->mode = OUTSIDE_GUEST_MODE; ... }', loc: loc(X86, fn, 'if (kvm_vcpu_exit_request(vcpu)) {', T61) });
	const entry: ReaderOp[] = [];
	if (how === 'protocol') entry.push(mode, request('enter'));
	else if (how === 'no-recheck') entry.push({ op: 'label', name: 'mode' }, mode, request('mode'));
	else if (how === 'check-before-mode') entry.push(mode);
	else entry.push(request('enter'), mode);
	return {
		name: 'vcpu',
		file: X86,
		function: fn,
		ops: [
			...lockCheckLoad,
			...entry,
			{ op: 'guestAccess', text: 'VM-entry: the guest accesses the page through the hardware-held pfn', loc: loc(X86, fn, 'exit_fastpath = static_call(kvm_x86_vcpu_run)(vcpu, run_flags);', T61) },
			{ op: 'exitGuest', text: 'VM-exit: vcpu->mode = OUTSIDE_GUEST_MODE', loc: { ...loc(X86, fn, 'vcpu->mode = OUTSIDE_GUEST_MODE;', T61), occurrence: 2 } },
			{ op: 'return' },
			{ op: 'label', name: 'fail' },
			{ op: 'unlock', loc: design('read_unlock_irqrestore(&gpc->lock, flags)') },
			{ op: 'refresh', else: 'out', loc: design('kvm_gpc_refresh(gpc, PAGE_SIZE)') },
			{ op: 'lock', loc: design('read_lock_irqsave(&gpc->lock, flags)') },
			{ op: 'goto', target: 'check' },
			{ op: 'label', name: 'out' },
		],
	};
}

/**
 * A user that refreshes before it checks, as kvm_xen_shared_info_init() did in
 * 5.18: kvm_gfn_to_pfn_cache_init() on an active cache is a refresh, then
 * "It could be invalid again already, so we need to check" under the read
 * lock, and the wall clock is written through khva.
 */
function refreshingUser(name: string): ReaderProgram {
	const fn = 'kvm_xen_shared_info_init';
	const at = (hint: string) => loc(XEN, fn, hint, 'linux-5.18');
	return {
		name,
		file: XEN,
		function: fn,
		ops: [
			{ op: 'label', name: 'again' },
			{ op: 'refresh', else: 'out', loc: at('ret = kvm_gfn_to_pfn_cache_init(kvm, gpc, NULL, KVM_HOST_USES_PFN,') },
			{ op: 'lock', loc: at('read_lock_irq(&gpc->lock);') },
			{ op: 'check', else: 'invalid', loc: at('if (gpc->valid)') },
			{ op: 'use', loc: at('wc_version = wc->version = (wc->version + 1) | 1;') },
			{ op: 'unlock', loc: { ...at('read_unlock_irq(&gpc->lock);'), occurrence: 2 } },
			{ op: 'return' },
			{ op: 'label', name: 'invalid' },
			{ op: 'unlock', loc: at('read_unlock_irq(&gpc->lock);') },
			{ op: 'goto', target: 'again' },
			{ op: 'label', name: 'out' },
		],
	};
}

/**
 * An event channel delivery that wakes a task while holding gpc->lock:
 * kvm_xen_set_evtchn_fast() calls kvm_xen_check_poller() → kvm_vcpu_kick()
 * under the lock (6.1 and 6.12), which ends in try_to_wake_up(): p->pi_lock,
 * then the runqueue lock of the CPU the task wakes on. Lockdep's
 * `&gpc->lock --> &p->pi_lock --> &rq->__lock`.
 */
export function evtchnWaker(name = 'evtchn', cache = 0): ReaderProgram {
	const fn = 'kvm_xen_set_evtchn_fast';
	return {
		name,
		file: XEN,
		function: fn,
		ops: [
			{ op: 'lock', cache, text: 'read_lock_irqsave(&gpc->lock, flags)', loc: loc(XEN, fn, 'read_lock_irqsave(&gpc->lock, flags);') },
			{ op: 'wake', text: 'kvm_xen_check_poller() → kvm_vcpu_kick() wakes a vCPU task onto the CPU the sched-out thread runs on', loc: loc(XEN, fn, 'kvm_xen_check_poller(vcpu, xe->port);') },
			{ op: 'unlock', cache, text: 'read_unlock_irqrestore(&gpc->lock, flags)', loc: { ...loc(XEN, fn, 'read_unlock_irqrestore(&gpc->lock, flags);'), occurrence: 2 } },
		],
	};
}

/** Userspace re-sets the Xen shared_info gfn: deactivate, then activate again. */
function owner(): ReaderProgram {
	return {
		name: 'owner',
		file: XEN,
		function: 'kvm_xen_shared_info_init',
		adversary: true,
		ops: [
			{ op: 'deactivate', text: 'kvm_gpc_deactivate(&kvm->arch.xen.shinfo_cache)' },
			{ op: 'activate', text: 'kvm_gpc_activate(&kvm->arch.xen.shinfo_cache, gpa, PAGE_SIZE)' },
		],
	};
}

/** Userspace disables the shared_info page (gfn KVM_XEN_INVALID_GFN): kvm_gpc_deactivate() only. */
function disabler(): ReaderProgram {
	return {
		name: 'owner',
		file: XEN,
		function: 'kvm_xen_shared_info_init',
		adversary: true,
		ops: [{ op: 'deactivate', text: 'kvm_gpc_deactivate(gpc)' }],
	};
}

/** Userspace sets the shared_info page for the first time: kvm_gpc_activate() of an inactive cache. */
function activator(): ReaderProgram {
	return {
		name: 'owner',
		file: XEN,
		function: 'kvm_xen_shared_info_init',
		adversary: true,
		ops: [{ op: 'activate', text: 'ret = kvm_gpc_activate(gpc, gfn_to_gpa(gfn), PAGE_SIZE);' }],
	};
}

const one = (name: string, extraPages: number, hvas = ['A']): World => ({
	caches: [{ name, gfn: 'gfn0', hva: 1, usage: 'host' }],
	hvas,
	extraPages,
	srcu: false,
});

export const SCENARIOS: Scenario[] = [
	{
		id: 'reader-vs-invalidation',
		title: 'Reader vs MMU-notifier invalidation',
		description: 'A vCPU delivers an event through vcpu_info_cache (check, refresh loop, write, mark dirty) while the host migrates the page behind the cache.',
		threads: ['reader', 'invalidate'],
		world: one('vcpu_info_cache', 1),
		build(flags) {
			return [readerThread(eventReader('reader', { srcu: false, recheck: !flags.readerNoRecheck })), invalidation('invalidate', 1)];
		},
	},
	{
		id: 'reader-vs-memslot',
		title: 'Reader vs memslot move',
		description: 'A reader inside kvm->srcu races a memslot update that moves the cache\'s gfn to another hva (generation bump, synchronize_srcu).',
		threads: ['reader', 'memslot'],
		world: { ...one('vcpu_info_cache', 0, ['A', 'B']), memslot: { cache: 0, to: 2 }, srcu: true },
		build(flags) {
			return [
				readerThread(eventReader('reader', { srcu: true, recheck: !flags.readerNoRecheck })),
				{ name: 'memslot', adversary: true, emit: (t, ctx) => emitMemslotMove(t, ctx, 0, 2) },
			];
		},
	},
	{
		id: 'two-refreshers',
		title: 'Two refreshers',
		description:
			'Two vCPUs use the same cache after an earlier invalidation left it invalid (khva still maps the freed page); both find the check failing and refresh concurrently while the host migrates the page again.',
		threads: ['vcpu0', 'vcpu1', 'invalidate'],
		world: { caches: [{ name: 'shinfo_cache', gfn: 'gfn0', hva: 1, usage: 'host', stale: true }], hvas: ['A'], extraPages: 1, srcu: false },
		build(flags) {
			return [
				readerThread(eventReader('vcpu0', { srcu: false, recheck: !flags.readerNoRecheck })),
				readerThread(eventReader('vcpu1', { srcu: false, recheck: !flags.readerNoRecheck })),
				invalidation('invalidate', 1),
			];
		},
	},
	{
		id: 'refresh-vs-deactivate',
		title: 'Refresh vs deactivate/re-activate',
		description:
			'A reader (check, refresh loop) races userspace re-setting the shared_info page (kvm_gpc_deactivate() then kvm_gpc_activate()) while the host migrates the page.',
		threads: ['reader', 'owner', 'invalidate'],
		world: one('shinfo_cache', 1),
		build(flags) {
			return [readerThread(eventReader('reader', { srcu: false, recheck: !flags.readerNoRecheck })), readerThread(owner()), invalidation('invalidate', 1)];
		},
	},
	{
		id: 'atomic-runstate-vs-invalidation',
		title: 'Atomic runstate update vs invalidation and a waker',
		description:
			'kvm_sched_out() updates the Xen runstate area with rq->__lock held (atomic: trylock, no refresh) while an invalidation takes gpc->lock for write and an event channel delivery holding gpc->lock wakes a task onto the same CPU (try_to_wake_up(): p->pi_lock, then rq->__lock).',
		threads: ['sched-out', 'invalidate', 'evtchn'],
		world: one('runstate_cache', 1),
		build(flags) {
			return [readerThread(schedOutRunstate(flags.runstateBlockingLock)), invalidation('invalidate', 1), readerThread(evtchnWaker())];
		},
	},
	{
		id: 'two-cache-runstate',
		title: 'Runstate area split across a page boundary',
		description: 'kvm_xen_update_runstate_guest(v, false) with runstate_cache and runstate2_cache (gpc1 > gpc2 lock order, goto retry after activating gpc2) while both pages are invalidated.',
		threads: ['vcpu-runstate', 'invalidate-C', 'invalidate-A'],
		world: {
			caches: [
				{ name: 'runstate_cache', gfn: 'gfn0', hva: 1, usage: 'host' },
				{ name: 'runstate2_cache', gfn: 'gfn1', hva: 2, usage: 'host' },
			],
			hvas: ['A', 'C'],
			extraPages: 2,
			srcu: false,
		},
		build(flags) {
			return [readerThread(splitRunstate(!flags.readerNoRecheck)), invalidation('invalidate-C', 2), invalidation('invalidate-A', 1)];
		},
	},
	{
		id: 'guest-usage-vs-invalidation',
		title: 'Guest-usage cache vs invalidation',
		description: 'A KVM_GUEST_USES_PFN cache: the vCPU programs the pfn into hardware and enters the guest while the host migrates the page.',
		threads: ['vcpu', 'invalidate'],
		world: { caches: [{ name: 'guest_cache', gfn: 'gfn0', hva: 1, usage: 'guest' }], hvas: ['A'], extraPages: 1, srcu: false },
		build(flags) {
			return [readerThread(guestEntry(flags.guestEntry)), invalidation('invalidate', 1)];
		},
	},
	{
		id: 'reader-vs-two-invalidations',
		title: 'Reader vs two invalidations back to back',
		description: 'The reader of reader-vs-invalidation against two successive migrations of the same hva.',
		threads: ['reader', 'invalidate'],
		world: one('vcpu_info_cache', 2),
		build(flags) {
			return [readerThread(eventReader('reader', { srcu: false, recheck: !flags.readerNoRecheck })), invalidation('invalidate', 1, 2)];
		},
	},
	{
		id: 'reader-vs-zap',
		title: 'Reader vs MADV_DONTNEED of guest memory',
		description: 'A vCPU delivers an event through vcpu_info_cache while the VMM discards the page behind it (MADV_DONTNEED, e.g. a balloon); the next access faults in a fresh page.',
		threads: ['reader', 'vmm'],
		world: one('vcpu_info_cache', 2),
		build(flags) {
			return [readerThread(eventReader('reader', { srcu: false, recheck: !flags.readerNoRecheck })), invalidation('vmm', 1, 1, 'zap')];
		},
	},
	{
		id: 'reader-and-refresher-vs-memslot',
		title: 'Reader and refresher vs memslot move',
		description: 'Two vCPUs inside kvm->srcu use vcpu_info_cache while a memslot update moves its gfn to another hva: one refreshes after the generation changed while the other checks.',
		threads: ['vcpu0', 'vcpu1', 'memslot'],
		world: { ...one('vcpu_info_cache', 0, ['A', 'B']), memslot: { cache: 0, to: 2 }, srcu: true },
		build(flags) {
			return [
				readerThread(eventReader('vcpu0', { srcu: true, recheck: !flags.readerNoRecheck })),
				readerThread(eventReader('vcpu1', { srcu: true, recheck: !flags.readerNoRecheck })),
				{ name: 'memslot', adversary: true, emit: (t, ctx) => emitMemslotMove(t, ctx, 0, 2) },
			];
		},
	},
	{
		id: 'two-refreshers-vs-memslot',
		title: 'Two refreshing users after a memslot update',
		description:
			'The memslots changed since shinfo_cache was last refreshed (stale generation, the gfn now maps another hva); two users refresh it and then check it (kvm_xen_shared_info_init() of 5.18 refreshes first), as no-refresh-mutex\'s fix describes.',
		threads: ['user0', 'user1'],
		world: { caches: [{ name: 'shinfo_cache', gfn: 'gfn0', hva: 1, usage: 'host', movedTo: 2 }], hvas: ['A', 'B'], extraPages: 0, srcu: false },
		build() {
			return [readerThread(refreshingUser('user0')), readerThread(refreshingUser('user1'))];
		},
	},
	{
		id: 'deactivate-vs-invalidation',
		title: 'Deactivate vs refresh vs invalidation',
		description: 'Userspace disables the shared_info page (kvm_gpc_deactivate()) while a vCPU delivers an event through it (check, refresh loop, write) and the host migrates the page.',
		threads: ['reader', 'owner', 'invalidate'],
		world: one('shinfo_cache', 1),
		build(flags) {
			return [readerThread(eventReader('reader', { srcu: false, recheck: !flags.readerNoRecheck })), readerThread(disabler()), invalidation('invalidate', 1)];
		},
	},
	{
		id: 'refresh-after-deactivate',
		title: 'Refresh of a deactivated cache vs invalidation',
		description:
			'Userspace has disabled the shared_info page (kvm_gpc_deactivate(): invalid, unmapped, off kvm->gpc_list); an event channel send still finds the cache, fails the check and refreshes it (KVM_XEN_HVM_EVTCHN_SEND, as in CVE-2022-49882) while the host migrates the page.',
		threads: ['reader', 'invalidate'],
		world: { caches: [{ name: 'shinfo_cache', gfn: 'gfn0', hva: 1, usage: 'host', deactivated: true }], hvas: ['A'], extraPages: 1, srcu: false },
		build(flags) {
			return [readerThread(eventReader('reader', { srcu: false, recheck: !flags.readerNoRecheck })), invalidation('invalidate', 1)];
		},
	},
	{
		id: 'activate-vs-invalidation',
		title: 'First activation vs reader vs invalidation',
		description: 'Userspace sets the shared_info page for the first time (kvm_gpc_activate() of an inactive cache) while a vCPU tries to deliver an event through it and the host migrates the page.',
		threads: ['owner', 'reader', 'invalidate'],
		world: { caches: [{ name: 'shinfo_cache', gfn: 'gfn0', hva: 1, usage: 'host', inactive: true }], hvas: ['A'], extraPages: 1, srcu: false },
		build(flags) {
			return [readerThread(activator()), readerThread(eventReader('reader', { srcu: false, recheck: !flags.readerNoRecheck })), invalidation('invalidate', 1)];
		},
	},
	{
		id: 'refresh-vs-invalidation-storm',
		title: 'Refresh while invalidations keep arriving',
		description:
			'vcpu_info_cache is invalid and the vCPU refreshes it, while invalidations of other guest memory (hva X, e.g. NUMA-balancing scans) never stop: every one raises mn_active_invalidate_count and moves mmu_invalidate_seq, which hva_to_pfn_retry() checks whatever the range.',
		threads: ['vcpu', 'mm'],
		world: { caches: [{ name: 'vcpu_info_cache', gfn: 'gfn0', hva: 1, usage: 'host', stale: true }], hvas: ['A', 'X'], extraPages: 0, srcu: false },
		build(flags) {
			return [readerThread(eventReader('vcpu', { srcu: false, recheck: !flags.readerNoRecheck })), invalidation('mm', 2, 1, 'protect', true)];
		},
	},
	{
		id: 'hva-refresh-vs-zap',
		title: 'HVA-based cache outside every memslot vs MADV_DONTNEED',
		description:
			'vcpu_info_cache was activated with kvm_gpc_activate_hva() on a page no memslot covers (the VMM\'s Xen overlay page while it is not mapped into the guest) and is invalid; the vCPU refreshes it while the VMM discards the page (MADV_DONTNEED): mn_active_invalidate_count moves, mmu_invalidate_seq does not.',
		threads: ['vcpu', 'vmm'],
		world: { caches: [{ name: 'vcpu_info_cache', gfn: 'gfn0', hva: 1, usage: 'host', hvaBased: true, stale: true }], hvas: ['S'], extraPages: 2, srcu: false, outsideMemslots: [1] },
		build(flags) {
			return [readerThread(eventReader('vcpu', { srcu: false, recheck: !flags.readerNoRecheck })), invalidation('vmm', 1, 1, 'zap')];
		},
	},
	{
		id: 'hva-in-memslot-refresh-vs-zap',
		title: 'HVA-based cache inside a memslot vs MADV_DONTNEED',
		description: 'As hva-refresh-vs-zap, but a memslot covers the page: the zap runs kvm_mmu_invalidate_begin()/end() and moves mmu_invalidate_seq.',
		threads: ['vcpu', 'vmm'],
		world: { caches: [{ name: 'vcpu_info_cache', gfn: 'gfn0', hva: 1, usage: 'host', hvaBased: true, stale: true }], hvas: ['S'], extraPages: 2, srcu: false },
		build(flags) {
			return [readerThread(eventReader('vcpu', { srcu: false, recheck: !flags.readerNoRecheck })), invalidation('vmm', 1, 1, 'zap')];
		},
	},
	{
		id: 'hva-refresh-vs-migration',
		title: 'HVA-based cache outside every memslot vs page migration',
		description: 'As hva-refresh-vs-zap, but the host migrates the page instead of discarding it: a migration cannot move a page while the refresh holds its reference.',
		threads: ['vcpu', 'migrate'],
		world: { caches: [{ name: 'vcpu_info_cache', gfn: 'gfn0', hva: 1, usage: 'host', hvaBased: true, stale: true }], hvas: ['S'], extraPages: 1, srcu: false, outsideMemslots: [1] },
		build(flags) {
			return [readerThread(eventReader('vcpu', { srcu: false, recheck: !flags.readerNoRecheck })), invalidation('migrate', 1)];
		},
	},
];

export function findScenario(id: string): Scenario | undefined {
	return SCENARIOS.find((s) => s.id === id);
}

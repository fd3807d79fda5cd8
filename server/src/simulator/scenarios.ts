// Workloads: which threads race on which caches. Every reader here is correct
// against today's contract; variants change the code under test.
import { XEN, X86, loc, type Ctx } from './ctx';
import { ThreadBuilder } from './ir';
import type { World } from './model';
import { emitInvalidation, emitMemslotMove } from './notifier';
import { compileReader, type ReaderOp, type ReaderProgram } from './reader';
import type { ScenarioInfo } from './types';
import type { VariantFlags } from './variants';

export interface ThreadSpec {
	name: string;
	adversary: boolean;
	emit(t: ThreadBuilder, ctx: Ctx, nThreads: number): void;
}

export interface Scenario extends ScenarioInfo {
	world: World;
	build(flags: VariantFlags): ThreadSpec[];
}

const T61 = 'linux-6.1';

export const readerThread = (prog: ReaderProgram): ThreadSpec => ({
	name: prog.name,
	adversary: prog.adversary ?? false,
	emit: (t, ctx) => compileReader(t, ctx, prog),
});

const invalidation = (name: string, hva: number, rounds = 1): ThreadSpec => ({
	name,
	adversary: true,
	emit: (t, ctx) => emitInvalidation(t, ctx, hva, rounds),
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

/** vcpu_enter_guest() with a guest-usage cache, as the 6.1 design intended it. */
function guestEntry(): ReaderProgram {
	const fn = 'vcpu_enter_guest';
	// No in-tree consumer of a guest-usage cache ever existed: these steps are the intended design.
	const design = (hint: string) => loc(X86, fn, hint, 'design only');
	const ops: ReaderOp[] = [
		{ op: 'label', name: 'enter' },
		{ op: 'lock', loc: design('read_lock_irqsave(&gpc->lock, flags)') },
		{ op: 'label', name: 'check' },
		{ op: 'check', else: 'fail', loc: design('kvm_gpc_check(gpc, PAGE_SIZE)') },
		{ op: 'loadHw', text: 'vmcs_write64(..., pfn_to_hpa(gpc->pfn))', loc: design('vmcs_write64(..., pfn_to_hpa(gpc->pfn))') },
		{ op: 'unlock', loc: design('read_unlock_irqrestore(&gpc->lock, flags)') },
		{ op: 'enterGuest', loc: loc(X86, fn, 'smp_store_release(&vcpu->mode, IN_GUEST_MODE);', T61) },
		{ op: 'checkRequest', else: 'enter', text: 'if (kvm_vcpu_exit_request(vcpu)) { vcpu->mode = OUTSIDE_GUEST_MODE; ... }', loc: loc(X86, fn, 'if (kvm_vcpu_exit_request(vcpu)) {', T61) },
		{ op: 'guestAccess', text: 'VM-entry: the guest accesses the page through the hardware-held pfn', loc: loc(X86, fn, 'exit_fastpath = static_call(kvm_x86_vcpu_run)(vcpu, run_flags);', T61) },
		{ op: 'exitGuest', text: 'VM-exit: vcpu->mode = OUTSIDE_GUEST_MODE', loc: { ...loc(X86, fn, 'vcpu->mode = OUTSIDE_GUEST_MODE;', T61), occurrence: 2 } },
		{ op: 'return' },
		{ op: 'label', name: 'fail' },
		{ op: 'unlock', loc: design('read_unlock_irqrestore(&gpc->lock, flags)') },
		{ op: 'refresh', else: 'out', loc: design('kvm_gpc_refresh(gpc, PAGE_SIZE)') },
		{ op: 'lock', loc: design('read_lock_irqsave(&gpc->lock, flags)') },
		{ op: 'goto', target: 'check' },
		{ op: 'label', name: 'out' },
	];
	return { name: 'vcpu', file: X86, function: fn, ops };
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
				{ name: 'memslot', adversary: true, emit: (t, ctx, n) => emitMemslotMove(t, ctx, 0, 2, n) },
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
		title: 'Atomic runstate update vs invalidation',
		description: 'kvm_sched_out() updates the Xen runstate area with rq->__lock held (atomic: trylock, no refresh) while an invalidation takes gpc->lock for write.',
		threads: ['sched-out', 'invalidate'],
		world: one('runstate_cache', 1),
		build(flags) {
			return [readerThread(schedOutRunstate(flags.runstateBlockingLock)), invalidation('invalidate', 1)];
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
		build() {
			return [readerThread(guestEntry()), invalidation('invalidate', 1)];
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
];

export function findScenario(id: string): Scenario | undefined {
	return SCENARIOS.find((s) => s.id === id);
}

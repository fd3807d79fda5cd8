// virt/kvm/pfncache.c as step programs: kvm_gpc_refresh() with
// hva_to_pfn_retry(), kvm_gpc_activate() and kvm_gpc_deactivate(). Each step is
// one atomic action; a lock acquisition and the critical section that follows it
// without any unlocked shared access share a step.
import { and, eq, g, inc, ite, ne, or, set, when, type Expr, type Stmt, type ThreadBuilder } from './ir';
import { PFNCACHE, br, loc, mightSleep, quietRetry, unmap, type Ctx } from './ctx';

const tmp = ['o_pfn', 'o_khva', 'o_uhva', 'n_pfn', 'n_khva', 'snap', 'hchg', 'unmap', 'ret'];

const resetTemps = (t: ThreadBuilder): Stmt[] => tmp.map((n) => set(t.local(n), 0));

const writeFree = (c: number) => and(eq(g('rd', c), 0), eq(g('wr', c), 0));

export interface RefreshOpts {
	/** kvm_gpc_refresh() takes refresh_lock itself; __kvm_gpc_activate() already holds it */
	acquire: boolean;
	release: boolean;
	/** where to continue when the refresh returns an error */
	onError: string;
	/** function name shown for the entry step */
	caller?: string;
}

/** kvm_gpc_refresh(gpc, len) / __kvm_gpc_refresh(): returns through onError or falls through on success. */
export function emitRefresh(t: ThreadBuilder, ctx: Ctx, c: number, o: RefreshOpts): void {
	const me = t.me;
	const L = (n: string) => t.local(n);
	const host = ctx.world.caches[c].usage === 'host';
	const outUnlock = t.fresh('out_unlock');
	const unmapOld = t.fresh('unmap_old');
	const done = t.fresh('refresh_done');
	const useMutex = !ctx.flags.noRefreshMutex;
	const mutexFn = o.caller ?? 'kvm_gpc_refresh';

	if (o.acquire && useMutex) {
		t.step('mutex_lock(&gpc->refresh_lock)', loc(PFNCACHE, mutexFn, 'guard(mutex)(&gpc->refresh_lock);'), {
			guard: eq(g('mtx', c), 0),
			body: [mightSleep(t, ctx, 'mutex_lock(&gpc->refresh_lock)'), set(g('mtx', c), me)],
		});
	}

	// Entry of __kvm_gpc_refresh() under the write lock: active check and gpa->uhva.
	const lookup: Stmt[] = [
		set(L('o_pfn'), g('pfn', c)),
		set(L('o_khva'), g('khva', c)),
		set(L('o_uhva'), g('uhva', c)),
		when(or(ne(g('gen', c), g('slots_gen')), eq(g('uhva', c), 0)), [set(g('gen', c), g('slots_gen')), set(g('uhva', c), g('gfn_hva', c))]),
		set(L('hchg'), ne(g('uhva', c), L('o_uhva'))),
	];
	const needsMap = or(eq(g('valid', c), 0), eq(L('hchg'), 1));
	const inactive: Stmt[] = [set(L('ret'), 1), set(br(t), 2)];

	if (ctx.flags.validBeforeMap) {
		emitRefresh518(t, ctx, c, { lookup, needsMap, inactive, outUnlock, host });
	} else {
		const loopTop = t.fresh('retry');
		const retryUnmap = t.fresh('retry_unmap');
		const gup = t.fresh('gup');
		t.step('write_lock_irq(&gpc->lock); gpa→uhva; gpc->valid = false; mmu_seq = kvm->mmu_invalidate_seq', loc(PFNCACHE, '__kvm_gpc_refresh', 'write_lock_irq(&gpc->lock);'), {
			guard: writeFree(c),
			body: [
				set(g('wr', c), me),
				when(
					ctx.flags.noActiveFlag ? 1 : eq(g('active', c), 1),
					[
						...lookup,
						// hva_to_pfn_retry(): invalidate before dropping the lock, snapshot the sequence
						when(needsMap, [set(g('valid', c), 0), set(L('snap'), g('mmu_seq')), set(br(t), 1)]),
					],
					inactive,
				),
			],
			next: { cases: [{ when: eq(br(t), 1), goto: loopTop }], else: outUnlock },
		});
		t.mark(loopTop);
		t.step('write_unlock_irq(&gpc->lock)', loc(PFNCACHE, 'hva_to_pfn_retry', 'write_unlock_irq(&gpc->lock);'), {
			body: [set(g('wr', c), 0)],
			next: { cases: [{ when: ne(L('n_pfn'), 0), goto: retryUnmap }], else: gup },
		});
		t.mark(retryUnmap);
		// The previous attempt lost a race with an invalidation: drop its mapping.
		t.step('if (new_khva != old_khva) gpc_unmap(new_pfn, new_khva)', loc(PFNCACHE, 'hva_to_pfn_retry', 'gpc_unmap(new_pfn, new_khva);'), {
			body: [
				mightSleep(t, ctx, 'gpc_unmap()'),
				when(ne(L('n_khva'), L('o_khva')), [unmap(L('n_pfn'), L('n_khva'))]),
				set(L('n_pfn'), 0),
				set(L('n_khva'), 0),
			],
		});
		t.mark(gup);
		t.step('new_pfn = hva_to_pfn(gpc->uhva)', loc(PFNCACHE, 'hva_to_pfn_retry', 'new_pfn = hva_to_pfn('), {
			body: [mightSleep(t, ctx, 'hva_to_pfn()'), set(L('n_pfn'), g('backing', g('uhva', c)))],
		});
		if (host) {
			t.step('new_khva = (new_pfn == gpc->pfn) ? old_khva : gpc_map(new_pfn)', loc(PFNCACHE, 'hva_to_pfn_retry', 'new_khva = gpc_map(new_pfn);'), {
				body: [
					mightSleep(t, ctx, 'gpc_map()'),
					when(eq(L('n_pfn'), g('pfn', c)), [set(L('n_khva'), L('o_khva'))], [set(L('n_khva'), L('n_pfn')), inc(g('maps', L('n_pfn')))]),
				],
			});
		}
		t.step('write_lock_irq(&gpc->lock); mmu_notifier_retry_cache(kvm, mmu_seq)?', loc(PFNCACHE, 'hva_to_pfn_retry', 'while (mmu_notifier_retry_cache(gpc->kvm, mmu_seq));'), {
			guard: writeFree(c),
			body: [
				set(g('wr', c), me),
				when(
					or(ne(g('mn_active'), 0), ne(g('mmu_seq'), L('snap'))),
					[set(L('snap'), g('mmu_seq')), set(br(t), 1), ...quietRetry(t, ctx, 'hva_to_pfn_retry()')],
					[
						// gpc->valid = true; gpc->pfn = new_pfn; gpc->khva = new_khva + offset
						set(g('valid', c), 1),
						set(g('pfn', c), L('n_pfn')),
						set(g('khva', c), L('n_khva')),
						set(L('unmap'), ne(L('o_pfn'), L('n_pfn'))),
						set(L('n_pfn'), 0),
						set(L('n_khva'), 0),
					],
				),
			],
			next: { cases: [{ when: eq(br(t), 1), goto: loopTop }], else: outUnlock },
		});
	}

	// out_unlock: write_unlock_irq(); if (unmap_old) gpc_unmap(old_pfn, old_khva); (mutex released by guard)
	const releasing = o.release && useMutex;
	const finish = (extra: Stmt[]): Stmt[] => [...extra, ...(releasing ? [set(g('mtx', c), 0)] : []), set(br(t), ite(ne(L('ret'), 0), 2, 0)), ...resetTemps(t)];
	t.mark(outUnlock);
	const outLoc = ctx.flags.validBeforeMap ? loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'write_unlock_irq(&gpc->lock);', 'linux-5.18') : loc(PFNCACHE, '__kvm_gpc_refresh', 'out_unlock:');
	t.step('write_unlock_irq(&gpc->lock)', outLoc, {
		body: [set(g('wr', c), 0), when(eq(L('unmap'), 1), [set(br(t), 1)], finish([]))],
		next: { cases: [{ when: eq(br(t), 1), goto: unmapOld }, { when: eq(br(t), 2), goto: o.onError }], else: done },
	});
	t.mark(unmapOld);
	const unmapLoc = ctx.flags.validBeforeMap ? loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', '__release_gpc(kvm, old_pfn, old_khva, old_gpa, old_dirty);', 'linux-5.18') : loc(PFNCACHE, '__kvm_gpc_refresh', 'gpc_unmap(old_pfn, old_khva);');
	t.step(ctx.flags.validBeforeMap ? '__release_gpc(old_pfn, old_khva)' : 'gpc_unmap(old_pfn, old_khva)', unmapLoc, {
		body: finish([mightSleep(t, ctx, 'gpc_unmap()'), unmap(L('o_pfn'), L('o_khva'))]),
		next: { cases: [{ when: eq(br(t), 2), goto: o.onError }], else: done },
	});
	t.mark(done);
}

interface Refresh518 {
	lookup: Stmt[];
	needsMap: Expr;
	inactive: Stmt[];
	outUnlock: string;
	host: boolean;
}

/** The 5.18 refresh ("valid-before-map"): speculative valid, old-style hva_to_pfn_retry(). */
function emitRefresh518(t: ThreadBuilder, ctx: Ctx, c: number, r: Refresh518): void {
	const me = t.me;
	const L = (n: string) => t.local(n);
	const tree = 'linux-5.18';
	const loopTop = t.fresh('retry');
	const unlock = t.fresh('unlock');
	t.step('write_lock_irq(&gpc->lock); gpa→uhva; placeholders: gpc->valid = true, pfn/khva unset', loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'gpc->valid = true;', tree), {
		guard: writeFree(c),
		body: [
			set(g('wr', c), me),
			when(
				ctx.flags.noActiveFlag ? 1 : eq(g('active', c), 1),
				[...r.lookup, when(r.needsMap, [set(g('pfn', c), 0), set(g('khva', c), 0), set(g('valid', c), 1), set(br(t), 1)])],
				r.inactive,
			),
		],
		next: { cases: [{ when: eq(br(t), 1), goto: unlock }], else: r.outUnlock },
	});
	t.mark(unlock);
	t.step('write_unlock_irq(&gpc->lock)', loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'write_unlock_irq(&gpc->lock);', tree), {
		body: [set(g('wr', c), 0)],
	});
	t.mark(loopTop);
	t.step('mmu_seq = kvm->mmu_notifier_seq', loc(PFNCACHE, 'hva_to_pfn_retry', 'mmu_seq = kvm->mmu_notifier_seq;', tree), {
		body: [set(L('snap'), g('mmu_seq'))],
	});
	t.step('new_pfn = hva_to_pfn(uhva)', loc(PFNCACHE, 'hva_to_pfn_retry', 'new_pfn = hva_to_pfn(uhva, false, NULL, true, NULL);', tree), {
		body: [mightSleep(t, ctx, 'hva_to_pfn()'), set(L('n_pfn'), g('backing', g('uhva', c)))],
	});
	t.step('KVM_MMU_READ_LOCK(kvm); mmu_notifier_retry_hva(kvm, mmu_seq, uhva)?', loc(PFNCACHE, 'hva_to_pfn_retry', 'retry = mmu_notifier_retry_hva(kvm, mmu_seq, uhva);', tree), {
		body: [when(or(ne(g('in_prog'), 0), ne(g('mmu_seq'), L('snap'))), [set(br(t), 1), set(L('n_pfn'), 0), ...quietRetry(t, ctx, 'hva_to_pfn_retry()')])],
		next: { cases: [{ when: eq(br(t), 1), goto: loopTop }] },
	});
	if (r.host) {
		t.step('new_khva = (new_pfn == old_pfn) ? old_khva : kmap(pfn_to_page(new_pfn))', loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'new_khva = kmap(pfn_to_page(new_pfn));', tree), {
			body: [
				mightSleep(t, ctx, 'kmap()'),
				when(
					eq(L('n_pfn'), L('o_pfn')),
					[set(L('n_khva'), L('o_khva')), set(L('o_pfn'), 0), set(L('o_khva'), 0)],
					[set(L('n_khva'), L('n_pfn')), inc(g('maps', L('n_pfn')))],
				),
			],
		});
	}
	t.step('write_lock_irq(&gpc->lock); gpc->pfn = new_pfn; gpc->khva = new_khva', loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'gpc->khva = new_khva;', tree), {
		guard: writeFree(c),
		body: [
			set(g('wr', c), me),
			set(g('pfn', c), L('n_pfn')),
			set(g('khva', c), L('n_khva')),
			// __release_gpc(old_pfn, old_khva) after the unlock unless the pfn was reused
			set(L('unmap'), ne(L('o_pfn'), 0)),
			set(L('n_pfn'), 0),
			set(L('n_khva'), 0),
		],
		next: r.outUnlock,
	});
}

export interface ActivateOpts {
	onError: string;
}

/** kvm_gpc_activate(gpc, gpa, len) -> __kvm_gpc_activate(). */
export function emitActivate(t: ThreadBuilder, ctx: Ctx, c: number, o: ActivateOpts): void {
	const me = t.me;
	const release = t.fresh('activate_release');
	const refresh = t.fresh('activate_refresh');
	const done = t.fresh('activate_done');
	const setActive = t.fresh('set_active');
	if (ctx.flags.lockInitOnActivate) {
		t.step('if (!gpc->active) { rwlock_init(&gpc->lock); mutex_init(&gpc->refresh_lock); }', loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_init', 'rwlock_init(&gpc->lock);', 'linux-6.0'), {
			body: [when(eq(g('active', c), 0), [set(g('rd', c), 0), set(g('wr', c), 0), set(g('mtx', c), 0)])],
		});
	}
	t.step('mutex_lock(&gpc->refresh_lock)', loc(PFNCACHE, '__kvm_gpc_activate', 'guard(mutex)(&gpc->refresh_lock);'), {
		guard: eq(g('mtx', c), 0),
		body: [mightSleep(t, ctx, 'mutex_lock(&gpc->refresh_lock)'), set(g('mtx', c), me)],
	});
	// if (!gpc->active) { KVM_BUG_ON(gpc->valid); list_add(); ... }
	t.step('if (!gpc->active): spin_lock(&kvm->gpc_lock); list_add(&gpc->list, &kvm->gpc_list)', loc(PFNCACHE, '__kvm_gpc_activate', 'list_add(&gpc->list, &kvm->gpc_list);'), {
		guard: or(eq(g('active', c), 1), eq(g('gpclk'), 0)),
		body: [when(eq(g('active', c), 0), [when(eq(g('valid', c), 1), [set(br(t), 2)], [set(g('onlist', c), 1), set(br(t), 1)])])],
		next: { cases: [{ when: eq(br(t), 2), goto: release }, { when: eq(br(t), 1), goto: setActive }], else: refresh },
	});
	t.mark(setActive);
	t.step('write_lock_irq(&gpc->lock); gpc->active = true; write_unlock_irq(&gpc->lock)', loc(PFNCACHE, '__kvm_gpc_activate', 'gpc->active = true;'), {
		guard: writeFree(c),
		body: [set(g('active', c), 1)],
	});
	t.mark(refresh);
	emitRefresh(t, ctx, c, { acquire: false, release: true, onError: o.onError, caller: '__kvm_gpc_activate' });
	t.goto(done);
	t.mark(release);
	t.step('return -EIO (KVM_BUG_ON(gpc->valid)); mutex_unlock', loc(PFNCACHE, '__kvm_gpc_activate', 'if (KVM_BUG_ON(gpc->valid, kvm))'), {
		body: [set(g('mtx', c), 0)],
		next: o.onError,
	});
	t.mark(done);
}

/** kvm_gpc_deactivate(gpc). */
export function emitDeactivate(t: ThreadBuilder, ctx: Ctx, c: number): void {
	const me = t.me;
	const L = (n: string) => t.local(n);
	const notActive = t.fresh('deactivate_inactive');
	const done = t.fresh('deactivate_done');
	t.step('mutex_lock(&gpc->refresh_lock)', loc(PFNCACHE, 'kvm_gpc_deactivate', 'guard(mutex)(&gpc->refresh_lock);'), {
		guard: eq(g('mtx', c), 0),
		body: [mightSleep(t, ctx, 'mutex_lock(&gpc->refresh_lock)'), set(g('mtx', c), me)],
		next: { cases: [{ when: eq(g('active', c), 0), goto: notActive }] },
	});
	t.step('write_lock_irq(&gpc->lock); gpc->active = false; gpc->valid = false; khva = NULL; pfn = KVM_PFN_ERR_FAULT', loc(PFNCACHE, 'kvm_gpc_deactivate', 'gpc->active = false;'), {
		guard: writeFree(c),
		body: [
			set(g('wr', c), me),
			set(g('active', c), 0),
			set(g('valid', c), 0),
			set(L('o_khva'), g('khva', c)),
			set(g('khva', c), 0),
			set(L('o_pfn'), g('pfn', c)),
			set(g('pfn', c), 0),
		],
	});
	t.step('write_unlock_irq(&gpc->lock)', loc(PFNCACHE, 'kvm_gpc_deactivate', 'write_unlock_irq(&gpc->lock);'), {
		body: [set(g('wr', c), 0)],
	});
	t.step('spin_lock(&kvm->gpc_lock); list_del(&gpc->list); spin_unlock(&kvm->gpc_lock)', loc(PFNCACHE, 'kvm_gpc_deactivate', 'list_del(&gpc->list);'), {
		guard: eq(g('gpclk'), 0),
		body: [set(g('onlist', c), 0)],
	});
	t.step('gpc_unmap(old_pfn, old_khva); mutex_unlock', loc(PFNCACHE, 'kvm_gpc_deactivate', 'gpc_unmap(old_pfn, old_khva);'), {
		body: [mightSleep(t, ctx, 'gpc_unmap()'), unmap(L('o_pfn'), L('o_khva')), set(g('mtx', c), 0), set(L('o_pfn'), 0), set(L('o_khva'), 0)],
		next: done,
	});
	t.mark(notActive);
	t.step('mutex_unlock(&gpc->refresh_lock) (cache not active)', loc(PFNCACHE, 'kvm_gpc_deactivate', 'if (gpc->active) {'), {
		body: [set(g('mtx', c), 0)],
	});
	t.mark(done);
}

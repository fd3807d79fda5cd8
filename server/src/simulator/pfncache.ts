// virt/kvm/pfncache.c as step programs: kvm_gpc_refresh() with
// hva_to_pfn_retry(), kvm_gpc_activate() and kvm_gpc_deactivate(), today's and
// the historical shapes the variants need. Each step is one atomic action. A
// write-locked critical section of the refresh and of (de)activation is one
// step, lock to unlock: nothing in it touches state that another thread reads
// without gpc->lock, and a retrying refresh then never holds gpc->lock between
// two steps, which is what lets weak fairness stand for the queued rwlock's
// fairness to the invalidation waiting for it (docs/SIMULATOR.md).
import { eq, g, inc, ite, ne, or, set, when, type Expr, type Stmt, type ThreadBuilder } from './ir';
import { PFNCACHE, at, br, gupInto, loc, mightSleep, putPage, seqMoved, seqSnapshot, unmap, writeLocked, type Ctx } from './ctx';

const tmp = ['o_pfn', 'o_khva', 'o_uhva', 'n_pfn', 'n_khva', 'hchg', 'unmap', 'ret'];

const resetTemps = (t: ThreadBuilder): Stmt[] => tmp.map((n) => set(t.local(n), 0));


const T518 = 'linux-5.18';
const T60 = 'linux-6.0';

export interface RefreshOpts {
	/** kvm_gpc_refresh() takes refresh_lock itself; __kvm_gpc_activate() already holds it */
	acquire: boolean;
	release: boolean;
	/** where to continue when the refresh returns an error */
	onError: string;
	/** function name shown for the entry step */
	caller?: string;
}

/** The refresh ignores gpc->active: 6.0 and earlier, or the mutant that drops the test. */
const refreshChecksActive = (ctx: Ctx) => !ctx.flags.noActiveFlag && !ctx.flags.mutant?.noActiveInRefresh;
const usesMutex = (ctx: Ctx) => !ctx.flags.noRefreshMutex && !ctx.flags.mutant?.noRefreshMutex;

/**
 * Entry of __kvm_gpc_refresh() under the write lock: remember the old
 * pfn/khva/uhva and, for a gpa-based cache whose memslot generation is stale,
 * look up the new uhva. An HVA-based cache keeps its uhva.
 */
function lookup(t: ThreadBuilder, ctx: Ctx, c: number): Stmt[] {
	const L = (n: string) => t.local(n);
	const s: Stmt[] = [set(L('o_pfn'), g('pfn', c)), set(L('o_khva'), g('khva', c)), set(L('o_uhva'), g('uhva', c))];
	if (!ctx.world.caches[c].hvaBased) s.push(when(or(ne(g('gen', c), g('slots_gen')), eq(g('uhva', c), 0)), [set(g('gen', c), g('slots_gen')), set(g('uhva', c), g('gfn_hva', c))]));
	s.push(set(L('hchg'), ne(g('uhva', c), L('o_uhva'))));
	return s;
}

/** kvm_gpc_refresh(gpc, len) / __kvm_gpc_refresh(): returns through onError or falls through on success. */
export function emitRefresh(t: ThreadBuilder, ctx: Ctx, c: number, o: RefreshOpts): void {
	const me = t.me;
	const mutexFn = o.caller ?? 'kvm_gpc_refresh';
	if (o.acquire && usesMutex(ctx)) {
		const tree = ctx.flags.validBeforeMap ? T518 : undefined;
		const lockLoc = tree
			? loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'mutex_lock(&gpc->refresh_lock);', tree)
			: at(ctx, loc(PFNCACHE, mutexFn, 'guard(mutex)(&gpc->refresh_lock);'), loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'mutex_lock(&gpc->refresh_lock);'));
		t.step('mutex_lock(&gpc->refresh_lock)', lockLoc, {
			guard: eq(g('mtx', c), 0),
			body: [mightSleep(t, ctx, 'mutex_lock(&gpc->refresh_lock)'), set(g('mtx', c), me)],
		});
	}
	if (ctx.flags.validBeforeMap) emitRefresh518(t, ctx, c, o);
	else emitRefresh612(t, ctx, c, o);
}

/** Return from the refresh: drop refresh_lock (the guard in 6.12), report ret through br. */
function finish(t: ThreadBuilder, ctx: Ctx, c: number, o: RefreshOpts, extra: Stmt[] = []): Stmt[] {
	const releasing = o.release && usesMutex(ctx);
	return [...extra, ...(releasing ? [set(g('mtx', c), 0)] : []), set(br(t), ite(ne(t.local('ret'), 0), 2, 0)), ...resetTemps(t)];
}

function emitRefresh612(t: ThreadBuilder, ctx: Ctx, c: number, o: RefreshOpts): void {
	const L = (n: string) => t.local(n);
	const m = ctx.flags.mutant ?? {};
	const host = ctx.world.caches[c].usage === 'host';
	const unmapOld = t.fresh('unmap_old');
	const done = t.fresh('refresh_done');
	const retryUnmap = t.fresh('retry_unmap');
	const gup = t.fresh('gup');
	const active: Expr = refreshChecksActive(ctx) ? eq(g('active', c), 1) : 1;
	const needsMap = or(eq(g('valid', c), 0), eq(L('hchg'), 1));
	// hva_to_pfn_retry(): invalidate before dropping the lock, snapshot the sequence
	const fix = ctx.flags.mnInvalidateSeq;
	const snapshots: Stmt[] = [seqSnapshot(t), ...(fix ? [set(g('mnmv', t.me), 0)] : [])];
	const startRetry: Stmt[] = [...(m.noValidFalse ? [] : [set(g('valid', c), 0)]), ...snapshots, set(br(t), 1)];
	writeLocked(t, c, 'write_lock_irq(&gpc->lock); active? gpa→uhva; if (!valid || uhva changed) { gpc->valid = false; mmu_seq = kvm->mmu_invalidate_seq; } write_unlock_irq()', at(ctx, loc(PFNCACHE, '__kvm_gpc_refresh', 'write_lock_irq(&gpc->lock);'), loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'write_lock_irq(&gpc->lock);')), {
		body: [
			when(
				active,
				[...lookup(t, ctx, c), when(needsMap, startRetry, finish(t, ctx, c, o))],
				// if (!gpc->active) { ret = -EINVAL; goto out_unlock; }
				finish(t, ctx, c, o, [set(L('ret'), 1)]),
			),
		],
		next: { cases: [{ when: eq(br(t), 1), goto: gup }, { when: eq(br(t), 2), goto: o.onError }], else: done },
	});
	t.mark(retryUnmap);
	// The previous attempt lost a race with an invalidation: drop its mapping and its page reference.
	t.step('if (new_khva != old_khva) gpc_unmap(new_pfn, new_khva); kvm_release_pfn_clean(new_pfn)', at(ctx, loc(PFNCACHE, 'hva_to_pfn_retry', 'gpc_unmap(new_pfn, new_khva);'), loc(PFNCACHE, 'hva_to_pfn_retry', 'gpc_unmap_khva(kvm, new_pfn, new_khva);')), {
		body: [mightSleep(t, ctx, 'gpc_unmap()'), when(ne(L('n_khva'), L('o_khva')), [unmap(L('n_pfn'), L('n_khva'))]), putPage(L('n_pfn')), set(L('n_pfn'), 0), set(L('n_khva'), 0)],
	});
	t.mark(gup);
	const outError = t.fresh('out_error');
	t.step('new_pfn = hva_to_pfn(gpc->uhva)', loc(PFNCACHE, 'hva_to_pfn_retry', 'new_pfn = hva_to_pfn('), {
		// get_user_pages() waits on a migration entry until the migration is done
		guard: eq(g('migrating', g('uhva', c)), 0),
		// KVM_HVA_ERR_BAD (a concurrent reset of uhva): is_error_noslot_pfn(new_pfn), goto out_error
		body: [mightSleep(t, ctx, 'hva_to_pfn()'), when(eq(g('uhva', c), 0), [set(br(t), 1)], gupInto(t, 'n_pfn', g('uhva', c)))],
		next: { cases: [{ when: eq(br(t), 1), goto: outError }] },
	});
	if (host) {
		t.step('new_khva = (new_pfn == gpc->pfn) ? old_khva : gpc_map(new_pfn)', at(ctx, loc(PFNCACHE, 'hva_to_pfn_retry', 'new_khva = gpc_map(new_pfn);'), loc(PFNCACHE, 'hva_to_pfn_retry', 'new_khva = kmap(pfn_to_page(new_pfn));')), {
			body: [
				mightSleep(t, ctx, 'gpc_map()'),
				when(eq(L('n_pfn'), g('pfn', c)), [set(L('n_khva'), L('o_khva'))], [set(L('n_khva'), L('n_pfn')), inc(g('maps', L('n_pfn')))]),
			],
		});
	}
	// mmu_notifier_retry_cache(): the count, then (smp_rmb) the sequence; a mutant may look at other things.
	const busy: Expr = m.retryOnInProgress ? ne(g('in_prog'), 0) : ne(g('mn_active'), 0);
	const retry: Expr = m.noSeqCompare ? busy : or(busy, seqMoved(t));
	// The proposed fix (docs/findings/hva-cache-refresh.md): also retry when any invalidation ended since the snapshot.
	const retryFix: Expr = fix ? or(retry, eq(g('mnmv', t.me), 1)) : retry;
	const unmapOldWhen: Expr = m.alwaysUnmapOld ? ne(L('o_pfn'), 0) : ne(L('o_pfn'), L('n_pfn'));
	writeLocked(t, c, 'write_lock_irq(&gpc->lock); mmu_notifier_retry_cache(kvm, mmu_seq)? publish; write_unlock_irq()', at(ctx, loc(PFNCACHE, 'hva_to_pfn_retry', 'while (mmu_notifier_retry_cache(gpc->kvm, mmu_seq));'), loc(PFNCACHE, 'hva_to_pfn_retry', 'while (mmu_notifier_retry_cache(kvm, mmu_seq));')), {
		body: [
			when(
				retryFix,
				[...snapshots, set(br(t), 1)],
				[
					// gpc->valid = true; gpc->pfn = new_pfn; gpc->khva = new_khva; kvm_release_pfn_clean(new_pfn)
					set(g('valid', c), 1),
					set(g('pfn', c), L('n_pfn')),
					set(g('khva', c), L('n_khva')),
					putPage(L('n_pfn')),
					// unmap_old = (old_pfn != gpc->pfn); out_unlock: write_unlock_irq()
					set(L('unmap'), unmapOldWhen),
					when(eq(L('unmap'), 1), [set(br(t), 3)], finish(t, ctx, c, o)),
				],
			),
		],
		next: { cases: [{ when: eq(br(t), 1), goto: retryUnmap }, { when: eq(br(t), 3), goto: unmapOld }, { when: eq(br(t), 2), goto: o.onError }], else: done },
	});
	t.mark(outError);
	// out_error: write_lock_irq(); return -EFAULT; then __kvm_gpc_refresh()'s out: purges the cache and unmaps the old mapping
	writeLocked(t, c, 'out_error: write_lock_irq(&gpc->lock); ret = -EFAULT: gpc->valid = false; pfn = KVM_PFN_ERR_FAULT; khva = NULL; write_unlock_irq()', at(ctx, loc(PFNCACHE, '__kvm_gpc_refresh', 'gpc->pfn = KVM_PFN_ERR_FAULT;'), loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'gpc->pfn = KVM_PFN_ERR_FAULT;')), {
		body: [
			set(g('valid', c), 0),
			set(g('pfn', c), 0),
			set(g('khva', c), 0),
			set(L('ret'), 1),
			set(L('unmap'), ne(L('o_pfn'), 0)),
			when(eq(L('unmap'), 1), [set(br(t), 3)], finish(t, ctx, c, o)),
		],
		next: { cases: [{ when: eq(br(t), 3), goto: unmapOld }, { when: eq(br(t), 2), goto: o.onError }], else: done },
	});
	t.mark(unmapOld);
	t.step('gpc_unmap(old_pfn, old_khva)', at(ctx, loc(PFNCACHE, '__kvm_gpc_refresh', 'gpc_unmap(old_pfn, old_khva);'), loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_refresh', 'gpc_unmap_khva(kvm, old_pfn, old_khva);')), {
		body: finish(t, ctx, c, o, [mightSleep(t, ctx, 'gpc_unmap()'), unmap(L('o_pfn'), L('o_khva'))]),
		next: { cases: [{ when: eq(br(t), 2), goto: o.onError }], else: done },
	});
	t.mark(done);
}

/**
 * The 5.18 refresh (kvm_gfn_to_pfn_cache_refresh()): placeholder valid = true
 * before the lock is dropped, hva_to_pfn_retry() that retries only on
 * mmu_notifier_count/seq, kmap, then pfn/khva stored without a re-check.
 */
function emitRefresh518(t: ThreadBuilder, ctx: Ctx, c: number, o: RefreshOpts): void {
	const L = (n: string) => t.local(n);
	const fn = 'kvm_gfn_to_pfn_cache_refresh';
	const host = ctx.world.caches[c].usage === 'host';
	const loopTop = t.fresh('retry');
	const unmapOld = t.fresh('unmap_old');
	const done = t.fresh('refresh_done');
	const active: Expr = refreshChecksActive(ctx) ? eq(g('active', c), 1) : 1;
	const needsMap = or(eq(g('valid', c), 0), eq(L('hchg'), 1));
	writeLocked(t, c, 'write_lock_irq(&gpc->lock); gpa→uhva; if (!valid || uhva changed) { placeholders: gpc->valid = true, pfn/khva unset } else return 0 ("already valid"); write_unlock_irq()', loc(PFNCACHE, fn, 'gpc->valid = true;', T518), {
		body: [
			when(
				active,
				[
					...lookup(t, ctx, c),
					// "If the HVA→PFN mapping was already valid, don't unmap it": nothing to do
					when(needsMap, [set(g('pfn', c), 0), set(g('khva', c), 0), set(g('valid', c), 1), set(br(t), 1)], finish(t, ctx, c, o)),
				],
				finish(t, ctx, c, o, [set(L('ret'), 1)]),
			),
		],
		next: { cases: [{ when: eq(br(t), 1), goto: loopTop }, { when: eq(br(t), 2), goto: o.onError }], else: done },
	});
	t.mark(loopTop);
	t.step('mmu_seq = kvm->mmu_notifier_seq', loc(PFNCACHE, 'hva_to_pfn_retry', 'mmu_seq = kvm->mmu_notifier_seq;', T518), {
		body: [seqSnapshot(t)],
	});
	// 5.18 pinned the page it cached until __release_gpc(); the model counts no reference here (docs/SIMULATOR.md).
	const mapDone = t.fresh('map_done');
	t.step('new_pfn = hva_to_pfn(uhva)', loc(PFNCACHE, 'hva_to_pfn_retry', 'new_pfn = hva_to_pfn(uhva, false, NULL, true, NULL);', T518), {
		guard: eq(g('migrating', g('uhva', c)), 0),
		body: [
			mightSleep(t, ctx, 'hva_to_pfn()'),
			when(
				eq(g('uhva', c), 0),
				[set(br(t), 1)],
				[
					when(eq(g('backing', g('uhva', c)), 0), [set(g('backing', g('uhva', c)), g('nextpage')), set(g('page_hva', g('nextpage')), g('uhva', c)), inc(g('nextpage'))]),
					set(L('n_pfn'), g('backing', g('uhva', c))),
				],
			),
		],
		next: { cases: [{ when: eq(br(t), 1), goto: mapDone }] },
	});
	t.step('KVM_MMU_READ_LOCK(kvm); mmu_notifier_retry_hva(kvm, mmu_seq, uhva)?', loc(PFNCACHE, 'hva_to_pfn_retry', 'retry = mmu_notifier_retry_hva(kvm, mmu_seq, uhva);', T518), {
		body: [when(or(ne(g('in_prog'), 0), seqMoved(t)), [set(br(t), 1), set(L('n_pfn'), 0)])],
		next: { cases: [{ when: eq(br(t), 1), goto: loopTop }] },
	});
	if (host) {
		t.step('new_khva = (new_pfn == old_pfn) ? old_khva : kmap(pfn_to_page(new_pfn))', loc(PFNCACHE, fn, 'new_khva = kmap(pfn_to_page(new_pfn));', T518), {
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
	writeLocked(t, c, 'write_lock_irq(&gpc->lock); gpc->pfn = new_pfn; gpc->khva = new_khva; write_unlock_irq()', loc(PFNCACHE, fn, 'gpc->khva = new_khva;', T518), {
		body: [
			set(g('pfn', c), L('n_pfn')),
			set(g('khva', c), L('n_khva')),
			// __release_gpc(old_pfn, old_khva) after the unlock unless the pfn was reused
			set(L('unmap'), ne(L('o_pfn'), 0)),
			when(eq(L('unmap'), 1), [set(br(t), 3)], finish(t, ctx, c, o)),
		],
		next: { cases: [{ when: eq(br(t), 3), goto: unmapOld }], else: done },
	});
	t.mark(mapDone);
	writeLocked(t, c, 'map_done: write_lock_irq(&gpc->lock); ret = -EFAULT: gpc->valid = false; pfn = KVM_PFN_ERR_FAULT; khva = NULL; write_unlock_irq()', loc(PFNCACHE, fn, 'gpc->pfn = KVM_PFN_ERR_FAULT;', T518), {
		body: [set(g('valid', c), 0), set(g('pfn', c), 0), set(g('khva', c), 0), set(L('ret'), 1), set(L('unmap'), ne(L('o_pfn'), 0)), when(eq(L('unmap'), 1), [set(br(t), 3)], finish(t, ctx, c, o))],
		next: { cases: [{ when: eq(br(t), 3), goto: unmapOld }, { when: eq(br(t), 2), goto: o.onError }], else: done },
	});
	t.mark(unmapOld);
	t.step('__release_gpc(old_pfn, old_khva)', loc(PFNCACHE, fn, '__release_gpc(kvm, old_pfn, old_khva, old_gpa);', T518), {
		body: finish(t, ctx, c, o, [mightSleep(t, ctx, 'gpc_unmap()'), unmap(L('o_pfn'), L('o_khva'))]),
		next: { cases: [{ when: eq(br(t), 2), goto: o.onError }], else: done },
	});
	t.mark(done);
}

export interface ActivateOpts {
	onError: string;
}

/** kvm_gpc_activate(gpc, gpa, len) -> __kvm_gpc_activate(). */
export function emitActivate(t: ThreadBuilder, ctx: Ctx, c: number, o: ActivateOpts): void {
	if (ctx.flags.noActiveFlag) return emitActivate60(t, ctx, c, o);
	if (ctx.flags.code === '6.1') return emitActivate61(t, ctx, c, o);
	const me = t.me;
	const release = t.fresh('activate_release');
	const refresh = t.fresh('activate_refresh');
	const done = t.fresh('activate_done');
	const listAdd = t.fresh('list_add');
	const setActive = t.fresh('set_active');
	const early = ctx.flags.mutant?.activeBeforeListAdd;
	if (ctx.flags.lockInitOnActivate) {
		t.step('if (!gpc->active) { rwlock_init(&gpc->lock); mutex_init(&gpc->refresh_lock); }', loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_init', 'rwlock_init(&gpc->lock);', T60), {
			body: [when(eq(g('active', c), 0), [set(g('rd', c), 0), set(g('wr', c), 0), set(g('wq', c), 0), set(g('mtx', c), 0)])],
		});
	}
	t.step('mutex_lock(&gpc->refresh_lock)', loc(PFNCACHE, '__kvm_gpc_activate', 'guard(mutex)(&gpc->refresh_lock);'), {
		guard: eq(g('mtx', c), 0),
		body: [mightSleep(t, ctx, 'mutex_lock(&gpc->refresh_lock)'), set(g('mtx', c), me)],
	});
	// if (!gpc->active) { if (KVM_BUG_ON(gpc->valid)) return -EIO; list_add(); active = true; }
	t.step('if (!gpc->active): KVM_BUG_ON(gpc->valid)?', loc(PFNCACHE, '__kvm_gpc_activate', 'if (KVM_BUG_ON(gpc->valid, kvm))'), {
		body: [when(eq(g('active', c), 0), [when(eq(g('valid', c), 1), [set(br(t), 2)], [set(br(t), 1)])])],
		next: { cases: [{ when: eq(br(t), 2), goto: release }, { when: eq(br(t), 1), goto: early ? setActive : listAdd }], else: refresh },
	});
	const listAddStep = () =>
		t.step('spin_lock(&kvm->gpc_lock); list_add(&gpc->list, &kvm->gpc_list); spin_unlock()', loc(PFNCACHE, '__kvm_gpc_activate', 'list_add(&gpc->list, &kvm->gpc_list);'), {
			guard: eq(g('gpclk'), 0),
			body: [set(g('onlist', c), 1)],
			next: early ? refresh : setActive,
		});
	const setActiveStep = () =>
		writeLocked(t, c, 'write_lock_irq(&gpc->lock); gpc->active = true; write_unlock_irq(&gpc->lock)', loc(PFNCACHE, '__kvm_gpc_activate', 'gpc->active = true;'), {
			body: [set(g('active', c), 1)],
			next: early ? listAdd : refresh,
		});
	if (early) {
		t.mark(setActive);
		setActiveStep();
		t.mark(listAdd);
		listAddStep();
	} else {
		t.mark(listAdd);
		listAddStep();
		t.mark(setActive);
		setActiveStep();
	}
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

/**
 * 6.0 kvm_gpc_activate(): resets the cache without any lock and marks it
 * active before it is on kvm->gpc_list; the refresh takes refresh_lock itself.
 */
function emitActivate60(t: ThreadBuilder, ctx: Ctx, c: number, o: ActivateOpts): void {
	const refresh = t.fresh('activate_refresh');
	t.step('if (!gpc->active) { gpc->khva = NULL; gpc->pfn = KVM_PFN_ERR_FAULT; ...', loc(PFNCACHE, 'kvm_gpc_activate', 'gpc->khva = NULL;', T60), {
		body: [when(eq(g('active', c), 0), [set(g('khva', c), 0), set(g('pfn', c), 0), set(br(t), 1)])],
		next: { cases: [{ when: eq(br(t), 0), goto: refresh }] },
	});
	t.step('gpc->uhva = KVM_HVA_ERR_BAD; gpc->valid = false; gpc->active = true', loc(PFNCACHE, 'kvm_gpc_activate', 'gpc->valid = false;', T60), {
		body: [set(g('uhva', c), 0), set(g('valid', c), 0), set(g('active', c), 1)],
	});
	t.step('spin_lock(&kvm->gpc_lock); list_add(&gpc->list, &kvm->gpc_list); spin_unlock()', loc(PFNCACHE, 'kvm_gpc_activate', 'list_add(&gpc->list, &kvm->gpc_list);', T60), {
		guard: eq(g('gpclk'), 0),
		body: [set(g('onlist', c), 1)],
	});
	t.mark(refresh);
	emitRefresh(t, ctx, c, { acquire: true, release: true, onError: o.onError, caller: 'kvm_gfn_to_pfn_cache_refresh' });
}

/** kvm_gpc_deactivate(gpc). */
export function emitDeactivate(t: ThreadBuilder, ctx: Ctx, c: number): void {
	if (ctx.flags.noActiveFlag) return emitDeactivate60(t, ctx, c);
	if (ctx.flags.code === '6.1') return emitDeactivate61(t, ctx, c);
	const me = t.me;
	const L = (n: string) => t.local(n);
	const notActive = t.fresh('deactivate_inactive');
	const done = t.fresh('deactivate_done');
	const late = ctx.flags.mutant?.listDelBeforeInactive;
	t.step('mutex_lock(&gpc->refresh_lock)', loc(PFNCACHE, 'kvm_gpc_deactivate', 'guard(mutex)(&gpc->refresh_lock);'), {
		guard: eq(g('mtx', c), 0),
		body: [mightSleep(t, ctx, 'mutex_lock(&gpc->refresh_lock)'), set(g('mtx', c), me)],
		next: { cases: [{ when: eq(g('active', c), 0), goto: notActive }] },
	});
	const listDel = () =>
		t.step('spin_lock(&kvm->gpc_lock); list_del(&gpc->list); spin_unlock(&kvm->gpc_lock)', loc(PFNCACHE, 'kvm_gpc_deactivate', 'list_del(&gpc->list);'), {
			guard: eq(g('gpclk'), 0),
			body: [set(g('onlist', c), 0)],
		});
	if (late) listDel();
	writeLocked(t, c, 'write_lock_irq(&gpc->lock); gpc->active = false; gpc->valid = false; khva = NULL; pfn = KVM_PFN_ERR_FAULT; write_unlock_irq()', loc(PFNCACHE, 'kvm_gpc_deactivate', 'gpc->active = false;'), {
		body: [set(g('active', c), 0), set(g('valid', c), 0), set(L('o_khva'), g('khva', c)), set(g('khva', c), 0), set(L('o_pfn'), g('pfn', c)), set(g('pfn', c), 0)],
	});
	if (!late) listDel();
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

/** 6.0 kvm_gpc_deactivate(): off the list, kvm_gpc_unmap() under refresh_lock, and only then active = false. */
function emitDeactivate60(t: ThreadBuilder, ctx: Ctx, c: number): void {
	const me = t.me;
	const L = (n: string) => t.local(n);
	const done = t.fresh('deactivate_done');
	t.step('if (gpc->active): spin_lock(&kvm->gpc_lock); list_del(&gpc->list); spin_unlock()', loc(PFNCACHE, 'kvm_gpc_deactivate', 'list_del(&gpc->list);', T60), {
		guard: or(eq(g('active', c), 0), eq(g('gpclk'), 0)),
		body: [when(eq(g('active', c), 1), [set(g('onlist', c), 0)], [set(br(t), 1)])],
		next: { cases: [{ when: eq(br(t), 1), goto: done }] },
	});
	t.step('kvm_gpc_unmap(): mutex_lock(&gpc->refresh_lock)', loc(PFNCACHE, 'kvm_gpc_unmap', 'mutex_lock(&gpc->refresh_lock);', T60), {
		guard: eq(g('mtx', c), 0),
		body: [mightSleep(t, ctx, 'mutex_lock(&gpc->refresh_lock)'), set(g('mtx', c), me)],
	});
	writeLocked(t, c, 'write_lock_irq(&gpc->lock); gpc->valid = false; khva = NULL; pfn = KVM_PFN_ERR_FAULT; write_unlock_irq(); mutex_unlock', loc(PFNCACHE, 'kvm_gpc_unmap', 'gpc->valid = false;', T60), {
		body: [set(g('valid', c), 0), set(L('o_khva'), g('khva', c)), set(g('khva', c), 0), set(L('o_pfn'), g('pfn', c)), set(g('pfn', c), 0), set(g('mtx', c), 0)],
	});
	t.step('gpc_unmap_khva(old_pfn, old_khva)', loc(PFNCACHE, 'kvm_gpc_unmap', 'gpc_unmap_khva(kvm, old_pfn, old_khva);', T60), {
		body: [mightSleep(t, ctx, 'gpc_unmap()'), unmap(L('o_pfn'), L('o_khva')), set(L('o_pfn'), 0), set(L('o_khva'), 0)],
	});
	t.step('gpc->active = false', loc(PFNCACHE, 'kvm_gpc_deactivate', 'gpc->active = false;', T60), {
		body: [set(g('active', c), 0)],
	});
	t.mark(done);
}

/**
 * 6.1 kvm_gpc_activate(): an inactive cache is reset without a lock, put on
 * kvm->gpc_list and only then marked active under the write lock ("a
 * concurrent refresh must not establish a mapping until the cache is
 * reachable by mmu_notifier events"); the refresh takes refresh_lock itself.
 */
function emitActivate61(t: ThreadBuilder, ctx: Ctx, c: number, o: ActivateOpts): void {
	const fn = 'kvm_gpc_activate';
	const refresh = t.fresh('activate_refresh');
	t.step('if (!gpc->active) { gpc->khva = NULL; gpc->pfn = KVM_PFN_ERR_FAULT; gpc->uhva = KVM_HVA_ERR_BAD; gpc->valid = false; }', loc(PFNCACHE, fn, 'gpc->khva = NULL;'), {
		body: [when(eq(g('active', c), 0), [set(g('khva', c), 0), set(g('pfn', c), 0), set(g('uhva', c), 0), set(g('valid', c), 0), set(br(t), 1)])],
		next: { cases: [{ when: eq(br(t), 0), goto: refresh }] },
	});
	t.step('spin_lock(&kvm->gpc_lock); list_add(&gpc->list, &kvm->gpc_list); spin_unlock()', loc(PFNCACHE, fn, 'list_add(&gpc->list, &kvm->gpc_list);'), {
		guard: eq(g('gpclk'), 0),
		body: [set(g('onlist', c), 1)],
	});
	writeLocked(t, c, 'write_lock_irq(&gpc->lock); gpc->active = true; write_unlock_irq(&gpc->lock)', loc(PFNCACHE, fn, 'gpc->active = true;'), { body: [set(g('active', c), 1)] });
	t.mark(refresh);
	emitRefresh(t, ctx, c, { acquire: true, release: true, onError: o.onError, caller: 'kvm_gfn_to_pfn_cache_refresh' });
}

/**
 * 6.1 kvm_gpc_deactivate(): inactive under the write lock first ("KVM must
 * stall mmu_notifier events until all users go away"), off the list, then
 * kvm_gfn_to_pfn_cache_unmap() under refresh_lock.
 */
function emitDeactivate61(t: ThreadBuilder, ctx: Ctx, c: number): void {
	const me = t.me;
	const L = (n: string) => t.local(n);
	const done = t.fresh('deactivate_done');
	writeLocked(t, c, 'if (gpc->active) { write_lock_irq(&gpc->lock); gpc->active = false; write_unlock_irq(&gpc->lock); }', loc(PFNCACHE, 'kvm_gpc_deactivate', 'gpc->active = false;'), {
		body: [when(eq(g('active', c), 1), [set(g('active', c), 0)], [set(br(t), 1)])],
		next: { cases: [{ when: eq(br(t), 1), goto: done }] },
	});
	t.step('spin_lock(&kvm->gpc_lock); list_del(&gpc->list); spin_unlock(&kvm->gpc_lock)', loc(PFNCACHE, 'kvm_gpc_deactivate', 'list_del(&gpc->list);'), {
		guard: eq(g('gpclk'), 0),
		body: [set(g('onlist', c), 0)],
	});
	t.step('kvm_gfn_to_pfn_cache_unmap(): mutex_lock(&gpc->refresh_lock)', loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_unmap', 'mutex_lock(&gpc->refresh_lock);'), {
		guard: eq(g('mtx', c), 0),
		body: [mightSleep(t, ctx, 'mutex_lock(&gpc->refresh_lock)'), set(g('mtx', c), me)],
	});
	writeLocked(t, c, 'write_lock_irq(&gpc->lock); gpc->valid = false; khva = NULL; pfn = KVM_PFN_ERR_FAULT; write_unlock_irq(); mutex_unlock(&gpc->refresh_lock)', loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_unmap', 'gpc->valid = false;'), {
		body: [set(g('valid', c), 0), set(L('o_khva'), g('khva', c)), set(g('khva', c), 0), set(L('o_pfn'), g('pfn', c)), set(g('pfn', c), 0), set(g('mtx', c), 0)],
	});
	t.step('gpc_unmap_khva(kvm, old_pfn, old_khva)', loc(PFNCACHE, 'kvm_gfn_to_pfn_cache_unmap', 'gpc_unmap_khva(kvm, old_pfn, old_khva);'), {
		body: [mightSleep(t, ctx, 'gpc_unmap()'), unmap(L('o_pfn'), L('o_khva')), set(L('o_pfn'), 0), set(L('o_khva'), 0)],
	});
	t.mark(done);
}

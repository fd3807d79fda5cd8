// The host side: an MMU-notifier invalidation that migrates the page behind an
// hva (kvm_main.c range_start/end around pfncache.c's invalidate hook), and a
// memslot move (kvm_swap_active_memslots()).
import { and, eq, g, inc, dec, ne, or, set, when, type Expr, type Stmt, type ThreadBuilder } from './ir';
import { KVM_MAIN, PFNCACHE, br, loc, mightSleep, type Ctx } from './ctx';

const T61 = 'linux-6.1';

/** One kvm_mmu_notifier_invalidate_range_start()/end() pair over hva `h` per round. */
export function emitInvalidation(t: ThreadBuilder, ctx: Ctx, h: number, rounds: number): void {
	const me = t.me;
	const hva = ctx.world.hvas[h - 1];
	const L = (n: string) => t.local(n);
	const guestCaches = ctx.world.caches.map((c, i) => (c.usage === 'guest' ? i : -1)).filter((i) => i >= 0);
	const evict = guestCaches.length > 0 && !ctx.flags.guestUsageNoRequest;
	for (let r = 0; r < rounds; r++) {
		t.step('kvm->mn_active_invalidate_count++', loc(KVM_MAIN, 'kvm_mmu_notifier_invalidate_range_start', 'kvm->mn_active_invalidate_count++;'), {
			body: [inc(g('mn_active'))],
		});
		t.step('spin_lock(&kvm->gpc_lock)', loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'spin_lock(&kvm->gpc_lock);'), {
			guard: eq(g('gpclk'), 0),
			body: [set(g('gpclk'), me)],
		});
		ctx.world.caches.forEach((cache, c) => {
			const hit: Expr = and(eq(g('valid', c), 1), ne(g('pfn', c), 0), eq(g('uhva', c), h));
			const write = t.fresh('inval_write');
			const nextCache = t.fresh('inval_next');
			// Peek under the read lock first; only take the write lock when it matters.
			t.step(`read_lock_irq(&gpc->lock): ${cache.name} valid with uhva in [start, end)?`, loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'read_lock_irq(&gpc->lock);'), {
				guard: or(eq(g('onlist', c), 0), eq(g('wr', c), 0)),
				next: { cases: [{ when: and(eq(g('onlist', c), 1), hit), goto: write }], else: nextCache },
			});
			t.mark(write);
			const clear: Stmt[] = [set(g('valid', c), 0)];
			if (cache.usage === 'guest') clear.push(set(L('evict'), 1));
			t.step(`write_lock_irq(&gpc->lock); ${cache.name}->valid = false`, loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'gpc->valid = false;'), {
				guard: and(eq(g('rd', c), 0), eq(g('wr', c), 0)),
				body: [set(g('wr', c), me), when(hit, clear)],
			});
			t.step('write_unlock_irq(&gpc->lock)', loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'write_unlock_irq(&gpc->lock);'), {
				body: [set(g('wr', c), 0)],
			});
			t.mark(nextCache);
		});
		t.step('spin_unlock(&kvm->gpc_lock)', loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'spin_unlock(&kvm->gpc_lock);'), {
			body: [set(g('gpclk'), 0)],
		});
		if (evict) {
			const begin = t.fresh('inval_begin');
			const wait = t.fresh('inval_wait');
			// 6.1: force the vCPU that may use the pfn out of guest mode and wait (KVM_REQUEST_WAIT).
			t.step('kvm_make_vcpus_request_mask(kvm, KVM_REQ_OUTSIDE_GUEST_MODE, vcpu_bitmap)', loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'called = kvm_make_vcpus_request_mask(kvm, req, vcpu_bitmap);', T61), {
				body: [when(eq(L('evict'), 1), [set(g('req'), 1), set(br(t), 1)])],
				next: { cases: [{ when: eq(br(t), 1), goto: wait }], else: begin },
			});
			t.mark(wait);
			t.step('KVM_REQUEST_WAIT: wait until the vCPU is OUTSIDE_GUEST_MODE', loc(KVM_MAIN, 'kvm_make_vcpus_request_mask', 'called = kvm_kick_many_cpus(cpus, !!(req & KVM_REQUEST_WAIT));', T61), {
				guard: eq(g('mode'), 0),
				body: [set(L('evict'), 0)],
			});
			t.mark(begin);
		}
		t.step('kvm_mmu_invalidate_begin(): kvm->mmu_invalidate_in_progress++', loc(KVM_MAIN, 'kvm_mmu_invalidate_begin', 'kvm->mmu_invalidate_in_progress++;'), {
			body: [inc(g('in_prog'))],
		});
		t.step(`try_to_migrate_one(): hva ${hva} now maps a new page`, loc('mm/rmap.c', 'try_to_migrate_one', 'set_pte_at(mm, address, pvmw.pte, swp_pte);'), {
			body: [
				set(L('old'), g('backing', h)),
				set(g('page_hva', L('old')), 0),
				set(g('backing', h), g('nextpage')),
				set(g('page_hva', g('nextpage')), h),
				inc(g('nextpage')),
			],
		});
		t.step('kvm_mmu_invalidate_end(): mmu_invalidate_seq++; mmu_invalidate_in_progress--', loc(KVM_MAIN, 'kvm_mmu_invalidate_end', 'kvm->mmu_invalidate_seq++;'), {
			body: [inc(g('mmu_seq')), dec(g('in_prog'))],
		});
		t.step('--kvm->mn_active_invalidate_count', loc(KVM_MAIN, 'kvm_mmu_notifier_invalidate_range_end', '--kvm->mn_active_invalidate_count;'), {
			body: [dec(g('mn_active'))],
		});
		t.step('migrate_folio_done(): the old page is freed', loc('mm/migrate.c', 'migrate_folio_done', 'folio_put(src);'), {
			body: [set(g('freed', L('old')), 1), set(L('old'), 0)],
		});
	}
}

/** A memslot move of cache `c`'s gfn to hva `to`. */
export function emitMemslotMove(t: ThreadBuilder, ctx: Ctx, c: number, to: number, nThreads: number): void {
	const from = ctx.world.caches[c].hva;
	const snapshotReaders: Stmt[] = [];
	const none: Expr[] = [];
	for (let i = 1; i <= nThreads; i++) {
		snapshotReaders.push(set(g('srcu_old', i), g('srcu_rd', i)));
		none.push(eq(g('srcu_old', i), 0));
	}
	t.step(`while (mn_active_invalidate_count) wait; rcu_assign_pointer(kvm->memslots): ${ctx.world.caches[c].gfn} → hva ${ctx.world.hvas[to - 1]} (generation | UPDATE_IN_PROGRESS)`, loc(KVM_MAIN, 'kvm_swap_active_memslots', 'rcu_assign_pointer(kvm->memslots[as_id], slots);'), {
		guard: eq(g('mn_active'), 0),
		body: [set(g('slots_gen'), 1), set(g('gfn_hva', c), to), ...snapshotReaders],
	});
	t.step('synchronize_srcu_expedited(&kvm->srcu)', loc(KVM_MAIN, 'kvm_swap_active_memslots', 'synchronize_srcu_expedited(&kvm->srcu);'), {
		guard: and(...none),
		body: [mightSleep(t, ctx, 'synchronize_srcu_expedited()')],
	});
	t.step('slots->generation = gen (update complete; the old hva leaves the guest)', loc(KVM_MAIN, 'kvm_swap_active_memslots', 'slots->generation = gen;'), {
		body: [set(g('slots_gen'), 2), set(g('retired', from), 1)],
	});
}

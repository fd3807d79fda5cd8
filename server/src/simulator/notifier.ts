// The host side: an MMU-notifier invalidation around a change of the page
// tables behind one hva (kvm_main.c range_start/end around pfncache.c's
// invalidate hook), and a memslot move (kvm_swap_active_memslots()).
import { and, eq, g, inc, dec, ne, or, set, when, type Expr, type Stmt, type ThreadBuilder } from './ir';
import { KVM_MAIN, PFNCACHE, br, loc, mightSleep, readFree, seqBump, writeLocked, type Ctx } from './ctx';

const T61 = 'linux-6.1';

/**
 * What the host does to the hva between invalidate_range_start() and _end():
 * - migrate: try_to_migrate_one() puts a migration entry in the PTE; after
 *   _end() the page is moved (and the old one freed) unless someone holds a
 *   reference (get_user_pages()), in which case the PTE is restored;
 * - zap: MADV_DONTNEED/munmap() clears the PTE; the page is freed at
 *   tlb_finish_mmu(), or by whoever puts the last reference after that;
 *   the next access to the hva faults in a fresh page;
 * - protect: change_protection() (mprotect, NUMA hinting): same page, only
 *   the invalidation.
 */
export type InvalidationKind = 'migrate' | 'zap' | 'protect';

export interface InvalidationOpts {
	kind: InvalidationKind;
	/** invalidations back to back */
	rounds?: number;
	/** start over after the last round, forever (an adversary that never stops) */
	loop?: boolean;
}

/** kvm_mmu_notifier_invalidate_range_start()/end() over hva `h`, per round. */
export function emitInvalidation(t: ThreadBuilder, ctx: Ctx, h: number, o: InvalidationOpts): void {
	const me = t.me;
	const hva = ctx.world.hvas[h - 1];
	const L = (n: string) => t.local(n);
	const guestCaches = ctx.world.caches.map((c, i) => (c.usage === 'guest' ? i : -1)).filter((i) => i >= 0);
	const evict = guestCaches.length > 0 && !ctx.flags.guestUsageNoRequest;
	const top = t.fresh('invalidate');
	if (o.loop) t.mark(top);
	for (let r = 0; r < (o.rounds ?? 1); r++) {
		t.step(`kvm->mn_active_invalidate_count++ (${o.kind === 'zap' ? 'MADV_DONTNEED' : o.kind === 'migrate' ? 'migrate_pages()' : 'change_protection()'} on hva ${hva})`, loc(KVM_MAIN, 'kvm_mmu_notifier_invalidate_range_start', 'kvm->mn_active_invalidate_count++;'), {
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
			const clear: Stmt[] = [set(g('valid', c), 0)];
			if (cache.usage === 'guest') clear.push(set(L('evict'), 1));
			if (ctx.flags.code === '6.1' || ctx.flags.noPeek) {
				// Before 6.9 every cache on the list is write-locked and tested under the write lock.
				writeLocked(t, c, `list_for_each_entry(gpc, &kvm->gpc_list): write_lock_irq(&${cache.name}->lock); valid with uhva in [start, end)? valid = false; write_unlock_irq()`, loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'write_lock_irq(&gpc->lock);'), {
					body: [when(hit, clear)],
					skip: eq(g('onlist', c), 0),
				});
				t.mark(write);
				t.mark(nextCache);
				return;
			}
			// Peek under the read lock first (a process-context reader: it waits behind a queued writer); only take the write lock when it matters.
			t.step(`list_for_each_entry(gpc, &kvm->gpc_list): ${cache.name} on the list? read_lock_irq(&gpc->lock): valid with uhva in [start, end)?`, loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'read_lock_irq(&gpc->lock);'), {
				guard: or(eq(g('onlist', c), 0), readFree(c)),
				next: { cases: [{ when: and(eq(g('onlist', c), 1), hit), goto: write }], else: nextCache },
			});
			t.mark(write);
			// "check again whether invalidation is still necessary once the write lock has been acquired"
			const again: Stmt[] = ctx.flags.mutant?.noRecheckInInvalidate ? clear : [when(hit, clear)];
			writeLocked(t, c, `write_lock_irq(&gpc->lock); ${cache.name}->valid = false; write_unlock_irq(&gpc->lock)`, loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'gpc->valid = false;'), {
				body: again,
			});
			t.mark(nextCache);
		});
		t.step('spin_unlock(&kvm->gpc_lock)', loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'spin_unlock(&kvm->gpc_lock);'), {
			body: [set(g('gpclk'), 0)],
		});
		if (evict) emitEviction(t);
		// __kvm_handle_hva_range() calls on_lock() only for the first memslot it finds in [start, end).
		t.step('__kvm_handle_hva_range(): hva in a memslot? kvm_mmu_invalidate_begin(): mmu_invalidate_in_progress++', loc(KVM_MAIN, 'kvm_mmu_invalidate_begin', 'kvm->mmu_invalidate_in_progress++;'), {
			body: [when(eq(g('inslot', h), 1), [inc(g('in_prog')), set(L('slot'), 1)])],
		});
		if (o.kind === 'migrate') {
			// The page keeps the hva's data until migrate_folio_move() copies it: an access in between is not lost.
			t.step(`try_to_migrate_one(): a migration entry replaces the PTE of hva ${hva}`, loc('mm/rmap.c', 'try_to_migrate_one', 'set_pte_at(mm, address, pvmw.pte, swp_pte);'), {
				body: [set(L('old'), g('backing', h)), set(g('backing', h), 0), set(g('migrating', h), 1)],
			});
		} else if (o.kind === 'zap') {
			t.step(`zap_pte_range(): the PTE of hva ${hva} is cleared`, loc('mm/memory.c', 'zap_page_range_single', 'unmap_single_vma(&tlb, vma, address, end, details, false);'), {
				body: [set(L('old'), g('backing', h)), set(g('page_hva', L('old')), 0), set(g('backing', h), 0)],
			});
		}
		t.step('kvm_mmu_invalidate_end() (if it began): mmu_invalidate_seq++; mmu_invalidate_in_progress--', loc(KVM_MAIN, 'kvm_mmu_invalidate_end', 'kvm->mmu_invalidate_seq++;'), {
			body: [when(eq(L('slot'), 1), [...seqBump(ctx), dec(g('in_prog')), set(L('slot'), 0)])],
		});
		const ended: Stmt[] = [dec(g('mn_active'))];
		if (ctx.flags.mnInvalidateSeq) for (let i = 1; i <= ctx.nThreads; i++) ended.push(set(g('mnmv', i), 1));
		t.step(ctx.flags.mnInvalidateSeq ? 'kvm->mn_invalidate_seq++; --kvm->mn_active_invalidate_count' : '--kvm->mn_active_invalidate_count', loc(KVM_MAIN, 'kvm_mmu_notifier_invalidate_range_end', '--kvm->mn_active_invalidate_count;'), {
			body: ended,
		});
		if (o.kind === 'migrate') {
			// migrate_folio_move(): folio_migrate_mapping() refuses a page with extra references.
			const moved = [
				set(g('page_hva', L('old')), 0),
				set(g('backing', h), g('nextpage')),
				set(g('page_hva', g('nextpage')), h),
				inc(g('nextpage')),
				set(g('freed', L('old')), 1),
			];
			const restored = [set(g('backing', h), L('old'))];
			t.step(`migrate_folio_move(): hva ${hva} now maps a new page and the old one is freed (or, while a reference is held, the PTE is restored)`, loc('mm/migrate.c', 'migrate_folio_done', 'folio_put(src);'), {
				body: [when(ne(L('old'), 0), [when(eq(g('gup', L('old')), 0), moved, restored)]), set(g('migrating', h), 0), set(L('old'), 0)],
			});
		} else if (o.kind === 'zap') {
			t.step('tlb_finish_mmu(): the page-table reference is put; the page is freed unless a reference is still held', loc('mm/memory.c', 'zap_page_range_single', 'tlb_finish_mmu(&tlb);'), {
				body: [when(ne(L('old'), 0), [set(g('orphan', L('old')), 1), when(eq(g('gup', L('old')), 0), [set(g('freed', L('old')), 1)])]), set(L('old'), 0)],
			});
		}
	}
	if (o.loop) t.goto(top);
}

/** 6.1: force the vCPU that may use the pfn out of guest mode and wait (KVM_REQUEST_WAIT). */
function emitEviction(t: ThreadBuilder): void {
	const L = (n: string) => t.local(n);
	const begin = t.fresh('inval_begin');
	const wait = t.fresh('inval_wait');
	// kvm_make_request() then kvm_request_needs_ipi(): kvm_vcpu_exiting_guest_mode() turns IN_GUEST_MODE into EXITING_GUEST_MODE.
	t.step('kvm_make_vcpus_request_mask(kvm, KVM_REQ_OUTSIDE_GUEST_MODE, vcpu_bitmap): request, then kick if not OUTSIDE_GUEST_MODE', loc(PFNCACHE, 'gfn_to_pfn_cache_invalidate_start', 'called = kvm_make_vcpus_request_mask(kvm, req, vcpu_bitmap);', T61), {
		body: [when(eq(L('evict'), 1), [set(g('req'), 1), when(eq(g('mode'), 1), [set(g('mode'), 2)]), when(ne(g('mode'), 0), [set(br(t), 1)]), set(L('evict'), 0)])],
		next: { cases: [{ when: eq(br(t), 1), goto: wait }], else: begin },
	});
	t.mark(wait);
	t.step('KVM_REQUEST_WAIT: wait until the vCPU is OUTSIDE_GUEST_MODE', loc(KVM_MAIN, 'kvm_make_vcpus_request_mask', 'called = kvm_kick_many_cpus(cpus, !!(req & KVM_REQUEST_WAIT));', T61), {
		guard: eq(g('mode'), 0),
	});
	t.mark(begin);
}

/** A memslot move of cache `c`'s gfn to hva `to`. */
export function emitMemslotMove(t: ThreadBuilder, ctx: Ctx, c: number, to: number): void {
	const from = ctx.world.caches[c].hva;
	const snapshotReaders: Stmt[] = [];
	const none: Expr[] = [];
	for (let i = 1; i <= ctx.nThreads; i++) {
		snapshotReaders.push(set(g('srcu_old', i), g('srcu_rd', i)));
		none.push(eq(g('srcu_old', i), 0));
	}
	t.step(`while (mn_active_invalidate_count) wait; rcu_assign_pointer(kvm->memslots): ${ctx.world.caches[c].gfn} → hva ${ctx.world.hvas[to - 1]} (generation | UPDATE_IN_PROGRESS)`, loc(KVM_MAIN, 'kvm_swap_active_memslots', 'rcu_assign_pointer(kvm->memslots[as_id], slots);'), {
		guard: eq(g('mn_active'), 0),
		body: [set(g('slots_gen'), 1), set(g('gfn_hva', c), to), set(g('inslot', from), 0), set(g('inslot', to), 1), ...snapshotReaders],
	});
	t.step('synchronize_srcu_expedited(&kvm->srcu)', loc(KVM_MAIN, 'kvm_swap_active_memslots', 'synchronize_srcu_expedited(&kvm->srcu);'), {
		guard: and(...none),
		body: [mightSleep(t, ctx, 'synchronize_srcu_expedited()')],
	});
	t.step('slots->generation = gen (update complete; the old hva leaves the guest)', loc(KVM_MAIN, 'kvm_swap_active_memslots', 'slots->generation = gen;'), {
		body: [set(g('slots_gen'), 2), set(g('retired', from), 1)],
	});
}

// The world the threads race in: gpc caches, the VM's invalidation counters and
// memslot generation, host pages and kernel mappings. All values are small
// integers so that both checkers can hash them; ids are 1-based, 0 is "none"
// (KVM_PFN_ERR_FAULT, NULL khva, KVM_HVA_ERR_BAD, no lock owner, no page).
import { add, eq, g, type EndCheck, type Expr, type GlobalDecl } from './ir';
import type { CacheSnapshot, PageSnapshot, Snapshot } from './types';

export interface CacheSpec {
	/** e.g. 'shinfo_cache' */
	name: string;
	/** the guest frame the cache is activated on (ignored for an HVA-based cache) */
	gfn: string;
	/** hva id the gfn maps to at start (for an HVA-based cache: the hva it was activated on) */
	hva: number;
	/** KVM_HOST_USES_PFN maps a khva; KVM_GUEST_USES_PFN hands the pfn to hardware */
	usage: 'host' | 'guest';
	/** An earlier invalidation already migrated the page: invalid, khva still maps the freed page. */
	stale?: boolean;
	/**
	 * kvm_gpc_activate_hva(): gpa is INVALID_GPA, the cache is keyed by the hva,
	 * kvm_gpc_check() skips the memslot generation and refresh never looks up a gfn.
	 */
	hvaBased?: boolean;
	/** The memslots changed since the last refresh: the gfn now maps hva `movedTo`, the generation is stale. */
	movedTo?: number;
	/** Not activated yet (kvm_gpc_init() only): inactive, invalid, off kvm->gpc_list. */
	inactive?: boolean;
	/** kvm_gpc_deactivate() ran: inactive, invalid, unmapped, off kvm->gpc_list; gpa→uhva kept. */
	deactivated?: boolean;
}

export interface World {
	caches: CacheSpec[];
	/** hva names; hva id = index + 1, backed at start by page id = hva id */
	hvas: string[];
	/** pages allocated during the run (migration targets, pages faulted in after a zap) */
	extraPages: number;
	/** memslot move of a cache's gfn to another hva */
	memslot?: { cache: number; to: number };
	/** readers run inside kvm->srcu (needed with a memslot update) */
	srcu: boolean;
	/** hva ids that no memslot covers (an HVA-based cache on a page outside guest memory) */
	outsideMemslots?: number[];
}

/** Pages reserved at start: one per hva, plus one per stale cache's replacement. */
function initialPages(w: World): number {
	return w.hvas.length + w.caches.filter((c) => c.stale).length;
}

export function pageCount(w: World): number {
	return initialPages(w) + w.extraPages;
}

/** Global variables of the model with their initial values. */
export function declareGlobals(w: World, nThreads: number): GlobalDecl[] {
	const C = w.caches.length;
	const H = w.hvas.length;
	const P = pageCount(w);
	const backing = [0, ...w.hvas.map((_, i) => i + 1)];
	const pageHva = new Array(P + 1).fill(0);
	for (let h = 1; h <= H; h++) pageHva[h] = h;
	const freed = new Array(P + 1).fill(0);
	const maps = new Array(P + 1).fill(0);
	const retired = new Array(H + 1).fill(0);
	const inslot = [0, ...w.hvas.map((_, i) => (w.outsideMemslots?.includes(i + 1) ? 0 : 1))];
	let next = H + 1;
	const perCache = (f: (c: CacheSpec) => number) => w.caches.map(f);
	for (const c of w.caches) {
		if (c.inactive || c.deactivated) continue;
		maps[c.hva] += c.usage === 'host' ? 1 : 0;
		if (c.stale) {
			// The migration already happened: hva moved to a new page, old one freed.
			pageHva[c.hva] = 0;
			freed[c.hva] = 1;
			backing[c.hva] = next;
			pageHva[next] = c.hva;
			next++;
		}
		if (c.movedTo) {
			// The memslot update completed: the old hva left the guest's memslots.
			retired[c.hva] = 1;
			inslot[c.hva] = 0;
		}
	}
	const arr = (name: string, size: number, init: number | number[]): GlobalDecl => ({ name, size, init });
	const scalar = (name: string, init = 0): GlobalDecl => ({ name, init });
	const live = (c: CacheSpec) => !c.inactive && !c.deactivated;
	return [
		// struct gfn_to_pfn_cache, one slot per cache
		arr('active', C, perCache((c) => (live(c) ? 1 : 0))),
		arr('valid', C, perCache((c) => (live(c) && !c.stale ? 1 : 0))),
		arr('uhva', C, perCache((c) => (c.inactive ? 0 : c.hva))),
		arr('gen', C, 0),
		arr('pfn', C, perCache((c) => (live(c) ? c.hva : 0))),
		arr('khva', C, perCache((c) => (live(c) && c.usage === 'host' ? c.hva : 0))),
		arr('rd', C, 0),
		arr('wr', C, 0),
		// qrwlock: the writer waiting for the lock (_QW_WAITING, wait_lock held); process-context readers wait behind it
		arr('wq', C, 0),
		arr('mtx', C, 0),
		arr('onlist', C, perCache((c) => (live(c) ? 1 : 0))),
		// memslots: hva of each cache's gfn (0: an HVA-based cache has no gfn)
		arr('gfn_hva', C, perCache((c) => (c.hvaBased ? 0 : (c.movedTo ?? c.hva)))),
		scalar('slots_gen', w.caches.some((c) => c.movedTo) ? 2 : 0),
		// struct kvm; mmu_invalidate_seq is compared only with a snapshot, see seqmv
		{ ...scalar('mmu_seq'), ghost: true },
		scalar('in_prog'),
		scalar('mn_active'),
		scalar('gpclk'),
		// host: the page behind each hva (0: none, the next access faults one in)
		arr('backing', H + 1, backing),
		arr('page_hva', P + 1, pageHva),
		arr('freed', P + 1, freed),
		arr('maps', P + 1, maps),
		// page references taken by hva_to_pfn() (GUP) and not yet put
		arr('gup', P + 1, 0),
		// zapped pages whose last page-table reference is gone: freed when the last GUP reference is put
		arr('orphan', P + 1, 0),
		// a migration entry replaces the PTE of this hva: hva_to_pfn() waits
		arr('migrating', H + 1, 0),
		arr('retired', H + 1, retired),
		// hva lies in some memslot: only then does an invalidation run kvm_mmu_invalidate_begin/end()
		arr('inslot', H + 1, inslot),
		scalar('nextpage', next),
		// kvm->srcu readers, and those a synchronize_srcu() must wait for
		arr('srcu_rd', nThreads + 1, 0),
		arr('srcu_old', nThreads + 1, 0),
		// per thread: mmu_invalidate_seq moved since the thread's snapshot (mmu_seq = kvm->mmu_invalidate_seq)
		arr('seqmv', nThreads + 1, 0),
		// the same for the fix of docs/findings/hva-cache-refresh.md: any invalidation ended since the snapshot
		arr('mnmv', nThreads + 1, 0),
		// scheduler: rq->__lock of the CPU a preempted vCPU is switched out on, and p->pi_lock of a task woken onto it
		scalar('rq'),
		scalar('pi'),
		// per thread: interrupts disabled (a depth: irqsave nests), and the hard IRQ handler running on its CPU
		arr('irqoff', nThreads + 1, 0),
		arr('hirq', nThreads + 1, 0),
		// vCPU mode (0 OUTSIDE, 1 IN_GUEST, 2 EXITING) and pending request
		scalar('mode'),
		scalar('req'),
		// bookkeeping: finished threads
		scalar('ndone'),
	];
}

/** No mapping leaked: every live kmap is the one a cache still owns. */
export function leakChecks(w: World): EndCheck[] {
	const checks: EndCheck[] = [];
	for (let p = 1; p <= pageCount(w); p++) {
		const owners = w.caches.map((_, c): Expr => eq(g('khva', c), p)).reduce((a, b) => add(a, b), 0 as Expr);
		checks.push({ assert: eq(g('maps', p), owners), prop: 'leaked-mapping', msg: `a kernel mapping of page P${p} is still live but no cache owns it` });
	}
	return checks;
}

export interface StateView {
	g(name: string, i?: number): number;
	local(t: number, name: string): number;
	at(t: number): string;
	done(t: number): boolean;
}

const hvaName = (w: World, h: number) => (h ? w.hvas[h - 1] : null);
const pageName = (p: number) => (p ? `P${p}` : null);
const owner = (threads: string[], id: number) => (id ? threads[id - 1] : null);
const MODES = ['OUTSIDE_GUEST_MODE', 'IN_GUEST_MODE', 'EXITING_GUEST_MODE'] as const;

export function snapshot(w: World, threads: { name: string; locals: string[] }[], v: StateView): Snapshot {
	const names = threads.map((t) => t.name);
	const caches: CacheSnapshot[] = w.caches.map((c, i) => ({
		name: c.name,
		active: v.g('active', i) === 1,
		valid: v.g('valid', i) === 1,
		gpa: c.hvaBased ? 'INVALID_GPA' : c.gfn,
		uhva: hvaName(w, v.g('uhva', i)),
		generation: v.g('gen', i),
		pfn: pageName(v.g('pfn', i)),
		khva: v.g('khva', i) ? `kmap(P${v.g('khva', i)})` : null,
		lock: {
			readers: threads.filter((t, ti) => t.locals.includes(`r${i}`) && v.local(ti, `r${i}`) === 1).map((t) => t.name),
			writer: owner(names, v.g('wr', i)),
			count: v.g('rd', i),
			...(v.g('wq', i) ? { queued: owner(names, v.g('wq', i))! } : {}),
		},
		refreshLock: owner(names, v.g('mtx', i)),
		onList: v.g('onlist', i) === 1,
		...(c.hvaBased ? { hvaBased: true } : {}),
	}));
	const pages: PageSnapshot[] = [];
	for (let p = 1; p <= pageCount(w); p++) {
		const backs = v.g('page_hva', p);
		const used = backs || v.g('freed', p) || v.g('maps', p) || p < v.g('nextpage');
		if (!used) continue;
		const page: PageSnapshot = { page: `P${p}`, backs: hvaName(w, backs), freed: v.g('freed', p) === 1, kmaps: v.g('maps', p) };
		if (v.g('gup', p)) page.refs = v.g('gup', p);
		pages.push(page);
	}
	const backing: Record<string, string> = {};
	w.hvas.forEach((h, i) => (backing[h] = v.g('migrating', i + 1) ? 'migration entry' : (pageName(v.g('backing', i + 1)) ?? '-')));
	const memslots: Record<string, string> = {};
	w.caches.forEach((c, i) => {
		if (!c.hvaBased) memslots[c.gfn] = hvaName(w, v.g('gfn_hva', i)) ?? '-';
	});
	const guest = w.caches.some((c) => c.usage === 'guest');
	const gen = v.g('slots_gen');
	const snap: Snapshot = {
		caches,
		vm: {
			memslotGeneration: gen,
			memslotUpdateInProgress: gen % 2 === 1,
			mmuInvalidateSeq: v.g('mmu_seq'),
			mmuInvalidateInProgress: v.g('in_prog'),
			mnActiveInvalidateCount: v.g('mn_active'),
			gpcListLock: owner(names, v.g('gpclk')),
			rqLock: owner(names, v.g('rq')),
			piLock: owner(names, v.g('pi')),
		},
		host: {
			backing,
			memslots,
			retiredHvas: w.hvas.filter((_, i) => v.g('retired', i + 1) === 1),
			pages,
		},
		threads: {},
	};
	const outside = w.hvas.filter((_, i) => v.g('inslot', i + 1) === 0 && v.g('retired', i + 1) === 0);
	if (outside.length) snap.host.outsideMemslots = outside;
	if (guest) {
		snap.vm.vcpuMode = MODES[v.g('mode')] ?? 'OUTSIDE_GUEST_MODE';
		snap.vm.vcpuRequest = v.g('req') === 1;
	}
	threads.forEach((t, ti) => {
		const locals: Record<string, number> = {};
		for (const n of t.locals) if (n !== 'br') locals[n] = v.local(ti, n);
		snap.threads[t.name] = { at: v.at(ti), done: v.done(ti), locals };
		if (v.g('irqoff', ti + 1)) snap.threads[t.name].irqsOff = true;
		if (v.g('hirq', ti + 1)) snap.threads[t.name].interruptedBy = owner(names, v.g('hirq', ti + 1))!;
	});
	return snap;
}

// The world the threads race in: gpc caches, the VM's invalidation counters and
// memslot generation, host pages and kernel mappings. All values are small
// integers so that both checkers can hash them; ids are 1-based, 0 is "none"
// (KVM_PFN_ERR_FAULT, NULL khva, KVM_HVA_ERR_BAD, no lock owner).
import { add, eq, g, type EndCheck, type Expr, type GlobalDecl } from './ir';
import type { CacheSnapshot, PageSnapshot, Snapshot } from './types';

export interface CacheSpec {
	/** e.g. 'shinfo_cache' */
	name: string;
	/** the guest frame the cache is activated on */
	gfn: string;
	/** hva id the gfn maps to at start */
	hva: number;
	/** KVM_HOST_USES_PFN maps a khva; KVM_GUEST_USES_PFN hands the pfn to hardware */
	usage: 'host' | 'guest';
	/** An earlier invalidation already migrated the page: invalid, khva still maps the freed page. */
	stale?: boolean;
}

export interface World {
	caches: CacheSpec[];
	/** hva names; hva id = index + 1, backed at start by page id = hva id */
	hvas: string[];
	/** pages allocated by migrations during the run */
	extraPages: number;
	/** memslot move of a cache's gfn to another hva */
	memslot?: { cache: number; to: number };
	/** readers run inside kvm->srcu (needed with a memslot update) */
	srcu: boolean;
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
	let next = H + 1;
	const perCache = (f: (c: CacheSpec) => number) => w.caches.map(f);
	for (const c of w.caches) {
		maps[c.hva] += c.usage === 'host' ? 1 : 0;
		if (c.stale) {
			// The migration already happened: hva moved to a new page, old one freed.
			pageHva[c.hva] = 0;
			freed[c.hva] = 1;
			backing[c.hva] = next;
			pageHva[next] = c.hva;
			next++;
		}
	}
	const arr = (name: string, size: number, init: number | number[]): GlobalDecl => ({ name, size, init });
	const scalar = (name: string, init = 0): GlobalDecl => ({ name, init });
	return [
		// struct gfn_to_pfn_cache, one slot per cache
		arr('active', C, 1),
		arr('valid', C, perCache((c) => (c.stale ? 0 : 1))),
		arr('uhva', C, perCache((c) => c.hva)),
		arr('gen', C, 0),
		arr('pfn', C, perCache((c) => c.hva)),
		arr('khva', C, perCache((c) => (c.usage === 'host' ? c.hva : 0))),
		arr('rd', C, 0),
		arr('wr', C, 0),
		arr('mtx', C, 0),
		arr('onlist', C, 1),
		// memslots: hva of each cache's gfn
		arr('gfn_hva', C, perCache((c) => c.hva)),
		scalar('slots_gen'),
		// struct kvm
		scalar('mmu_seq'),
		scalar('in_prog'),
		scalar('mn_active'),
		scalar('gpclk'),
		// host
		arr('backing', H + 1, backing),
		arr('page_hva', P + 1, pageHva),
		arr('freed', P + 1, freed),
		arr('maps', P + 1, maps),
		arr('retired', H + 1, 0),
		scalar('nextpage', next),
		// kvm->srcu readers, and those a synchronize_srcu() must wait for
		arr('srcu_rd', nThreads + 1, 0),
		arr('srcu_old', nThreads + 1, 0),
		// scheduler rq->__lock owner; vCPU mode and pending request
		scalar('rq'),
		scalar('mode'),
		scalar('req'),
		// bookkeeping: finished threads, running adversaries
		scalar('ndone'),
		scalar('adv'),
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

export function snapshot(w: World, threads: { name: string; locals: string[] }[], v: StateView): Snapshot {
	const names = threads.map((t) => t.name);
	const caches: CacheSnapshot[] = w.caches.map((c, i) => ({
		name: c.name,
		active: v.g('active', i) === 1,
		valid: v.g('valid', i) === 1,
		gpa: c.gfn,
		uhva: hvaName(w, v.g('uhva', i)),
		generation: v.g('gen', i),
		pfn: pageName(v.g('pfn', i)),
		khva: v.g('khva', i) ? `kmap(P${v.g('khva', i)})` : null,
		lock: {
			readers: threads.filter((t, ti) => t.locals.includes(`r${i}`) && v.local(ti, `r${i}`) === 1).map((t) => t.name),
			writer: owner(names, v.g('wr', i)),
			count: v.g('rd', i),
		},
		refreshLock: owner(names, v.g('mtx', i)),
		onList: v.g('onlist', i) === 1,
	}));
	const pages: PageSnapshot[] = [];
	for (let p = 1; p <= pageCount(w); p++) {
		const backs = v.g('page_hva', p);
		const used = backs || v.g('freed', p) || v.g('maps', p) || p < v.g('nextpage');
		if (!used) continue;
		pages.push({ page: `P${p}`, backs: hvaName(w, backs), freed: v.g('freed', p) === 1, kmaps: v.g('maps', p) });
	}
	const backing: Record<string, string> = {};
	w.hvas.forEach((h, i) => (backing[h] = pageName(v.g('backing', i + 1)) ?? '-'));
	const memslots: Record<string, string> = {};
	w.caches.forEach((c, i) => (memslots[c.gfn] = hvaName(w, v.g('gfn_hva', i)) ?? '-'));
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
		},
		host: {
			backing,
			memslots,
			retiredHvas: w.hvas.filter((_, i) => v.g('retired', i + 1) === 1),
			pages,
		},
		threads: {},
	};
	if (guest) {
		snap.vm.vcpuMode = v.g('mode') ? 'IN_GUEST_MODE' : 'OUTSIDE_GUEST_MODE';
		snap.vm.vcpuRequest = v.g('req') === 1;
	}
	threads.forEach((t, ti) => {
		const locals: Record<string, number> = {};
		for (const n of t.locals) if (n !== 'br') locals[n] = v.local(ti, n);
		snap.threads[t.name] = { at: v.at(ti), done: v.done(ti), locals };
	});
	return snap;
}

// What every program fragment needs: the world, the variant, and the checks
// that several fragments share (sleeping, bounded liveness, memory access).
import { and, check, eq, g, gt, inc, le, ne, when, type Expr, type Stmt, type ThreadBuilder } from './ir';
import type { World } from './model';
import type { Location } from './types';
import type { VariantFlags } from './variants';

export interface Ctx {
	world: World;
	flags: VariantFlags;
	/** loop back-edges a thread may take after the last adversary finished */
	bound: number;
}

export const PFNCACHE = 'virt/kvm/pfncache.c';
export const KVM_MAIN = 'virt/kvm/kvm_main.c';
export const XEN = 'arch/x86/kvm/xen.c';
export const X86 = 'arch/x86/kvm/x86.c';

export const loc = (file: string, fn: string, hint: string, tree?: string): Location => (tree ? { file, function: fn, hint, tree } : { file, function: fn, hint });

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
	terms.push(ne(g('rq'), t.me));
	terms.push(eq(t.local('irq'), 0));
	return and(...terms);
}

export function mightSleep(t: ThreadBuilder, ctx: Ctx, what: string): Stmt {
	return check(holdsNothing(t, ctx), 'sleep-under-lock', `${what} may sleep, but ${t.name} holds a gpc rwlock or runs in atomic context`);
}

/** Counts a loop back-edge once the adversaries are done; past the bound the loop is not terminating. */
export function quietRetry(t: ThreadBuilder, ctx: Ctx, what: string): Stmt[] {
	const qr = t.local('qr');
	return [
		when(eq(g('adv'), 0), [inc(qr)]),
		check(le(qr, ctx.bound), 'refresh-terminates', `${what} went round more than ${ctx.bound} times after the last invalidation finished`),
	];
}

/** One access through a kernel mapping or a hardware-held pfn of page `p`. */
export function accessOk(p: Expr, what: string, viaKmap: boolean): Stmt[] {
	const s: Stmt[] = [check(ne(p, 0), 'stale-access', `${what} through a NULL ${viaKmap ? 'khva' : 'pfn'} of a cache that checks as valid`)];
	if (viaKmap) s.push(check(gt(g('maps', p), 0), 'stale-access', `${what} through a kernel mapping that was already unmapped`));
	s.push(
		check(eq(g('freed', p), 0), 'stale-access', `${what} to a page the host has freed`),
		check(ne(g('page_hva', p), 0), 'stale-access', `${what} to a stale page: the hva is now backed by another page`),
		check(eq(g('retired', g('page_hva', p)), 0), 'stale-access', `${what} to memory that left the guest's memslots`),
	);
	return s;
}

/** gpc_unmap(pfn, khva): a no-op for KVM_PFN_ERR_FAULT or NULL, else drop one kmap. */
export function unmap(pfn: Expr, khva: Expr): Stmt {
	return when(and(ne(pfn, 0), ne(khva, 0)), [
		check(gt(g('maps', khva), 0), 'stale-access', 'gpc_unmap() of a kernel mapping that was already unmapped (double unmap)'),
		{ set: g('maps', khva), to: { op: '-', a: g('maps', khva), b: 1 } },
	]);
}

export const kvmGpcCheck = (ctx: Ctx, c: number): Expr => {
	const terms: Expr[] = [];
	if (!ctx.flags.noActiveFlag) terms.push(eq(g('active', c), 1));
	terms.push(eq(g('gen', c), g('slots_gen')), ne(g('uhva', c), 0), eq(g('valid', c), 1));
	return and(...terms);
};


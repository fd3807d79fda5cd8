// Which pfncache algorithm a tree has: the model's variants encode the
// historical shapes (the 5.18 refresh that marks the cache valid before it
// maps the page, without or with refresh_lock; 6.0's check and refresh that
// ignore gpc->active, and its activation that re-initialises the locks), so
// the tree's virt/kvm/pfncache.c is read for the marks of each and the
// matching variant is simulated. Today's shape (6.1 through 6.12) is
// `upstream`; 6.1's is the same algorithm in older code (the steps' lines come
// from its own functions).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFunction } from './locations';
import type { PfncacheChoice } from './types';
import { VARIANTS, variantFlags, type Variant, type VariantFlags } from './variants';

export const PFNCACHE_FILE = 'virt/kvm/pfncache.c';

const body = (text: string, fn: string): string | undefined => {
	const span = findFunction(text, fn);
	return span ? text.split('\n').slice(span.start - 1, span.end).join('\n') : undefined;
};
const first = (text: string, fns: string[]): { fn: string; text: string } | undefined => {
	for (const fn of fns) {
		const t = body(text, fn);
		if (t) return { fn, text: t };
	}
	return undefined;
};

/** The algorithm of a tree's virt/kvm/pfncache.c (`read` returns the file's text, or undefined). */
export function detectPfncache(read: (file: string) => string | undefined): PfncacheChoice {
	const text = read(PFNCACHE_FILE);
	if (text === undefined) return { variant: 'upstream', how: 'default', why: `no ${PFNCACHE_FILE} in the tree: today's algorithm (Linux 6.12)` };
	const refresh = first(text, ['__kvm_gpc_refresh', 'kvm_gfn_to_pfn_cache_refresh', 'kvm_gpc_refresh']);
	const retry = body(text, 'hva_to_pfn_retry') ?? '';
	const check = first(text, ['kvm_gpc_check', 'kvm_gfn_to_pfn_cache_check']);
	if (!refresh || !check) return { variant: 'upstream', how: 'default', why: `${PFNCACHE_FILE} has no refresh or check function the model knows: today's algorithm (Linux 6.12)` };
	// Before 6.9 the invalidation write-locked every cache on the list; since, it peeks under the read lock first.
	const invalidate = body(text, 'gfn_to_pfn_cache_invalidate_start');
	const noPeek = invalidate !== undefined && !/read_lock_irq\s*\(\s*&gpc->lock\s*\)/.test(invalidate) ? { noPeek: true } : {};
	const marks: string[] = [];
	const ids: string[] = [];
	// 5.18: `gpc->valid = true` with placeholders before the page is resolved, retry on mmu_notifier_retry_hva().
	const validFirst = /gpc->valid\s*=\s*true/.test(refresh.text) && refresh.text.search(/gpc->valid\s*=\s*true/) < Math.max(refresh.text.indexOf('hva_to_pfn'), 0) && !/gpc->valid\s*=\s*false/.test(retry);
	if (validFirst) {
		const mutex = /refresh_lock/.test(refresh.text);
		ids.push(mutex ? 'valid-before-map' : 'no-refresh-mutex');
		marks.push(`${refresh.fn}() sets gpc->valid = true before hva_to_pfn() resolves the page${mutex ? '' : ', without refresh_lock'}`);
	}
	if (!/gpc->active/.test(check.text)) {
		ids.push('no-active-flag');
		marks.push(`${check.fn}() does not test gpc->active`);
	}
	for (const fn of ['kvm_gfn_to_pfn_cache_init', 'kvm_gpc_activate', '__kvm_gpc_activate']) {
		const b = body(text, fn);
		if (b && /if\s*\(\s*!gpc->active\s*\)[\s\S]*rwlock_init\s*\(/.test(b)) {
			ids.push('lock-init-on-activate');
			marks.push(`${fn}() runs rwlock_init() on an inactive cache`);
			break;
		}
	}
	if (!ids.length) {
		const era = refresh.fn === '__kvm_gpc_refresh' ? '6.9–6.12' : refresh.fn === 'kvm_gfn_to_pfn_cache_refresh' ? '6.1' : '6.2–6.8';
		return {
			variant: 'upstream',
			how: 'detected',
			why: `${PFNCACHE_FILE}: ${refresh.fn}() clears gpc->valid before it drops the lock and retries while an invalidation runs, refresh_lock serialises refreshes, ${check.fn}() tests gpc->active: today's algorithm (the ${era} code)`,
			...(era === '6.1' ? { tree: 'linux-6.1', trees: ['linux-6.1'] } : {}),
			...noPeek,
		};
	}
	const older = ids.includes('valid-before-map') || ids.includes('no-refresh-mutex') ? 'linux-5.18' : 'linux-6.0';
	// The 5.18 shape is the refresh of 5.17 to 5.19: its fixes landed in 6.0-rc1.
	const era = older === 'linux-5.18' ? 'Linux 5.17 to 5.19' : 'Linux 6.0';
	return { variant: ids.join('+'), how: 'detected', why: `${PFNCACHE_FILE}: ${marks.join('; ')} (as in ${era})`, tree: older, trees: ['linux-5.18', 'linux-6.0', 'linux-6.1'], ...noPeek };
}

/** The variant of a choice: one of VARIANTS, or several of them together (`no-active-flag+lock-init-on-activate`, 6.0). */
export function choiceVariant(id: string): { variant: Pick<Variant, 'id' | 'flags'>; flags: VariantFlags } | undefined {
	const parts = id.split('+').map((p) => VARIANTS.find((v) => v.id === p));
	if (!parts.length || parts.some((p) => !p)) return undefined;
	const merged = Object.assign({}, ...parts.map((p) => p!.flags));
	return { variant: { id, flags: merged }, flags: variantFlags({ flags: merged }) };
}

/** A reader of a tree's files by root-relative path (undefined for a file it cannot read, or without a tree). */
export function treeReader(root: string | undefined): (file: string) => string | undefined {
	return (file) => {
		if (!root) return undefined;
		try {
			return readFileSync(join(root, file), 'utf8');
		} catch {
			return undefined;
		}
	};
}

/** The pfncache algorithm to simulate: the variant asked for, else the tree's own; a string is an error. */
export function pfncacheFor(variant: string | undefined, read: (file: string) => string | undefined): PfncacheChoice | string {
	if (variant !== undefined) {
		if (!choiceVariant(variant)) return `unknown variant '${variant}'`;
		return { variant, how: 'given', why: `--variant ${variant}` };
	}
	return detectPfncache(read);
}

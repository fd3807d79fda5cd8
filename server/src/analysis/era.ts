// API era detection from the tree's own declarations, then from its calls.
import { gpcFunctionsFor, type ApiEra, type GpcFunction } from './api';
import type { ApiDeclaration, FileFacts } from './facts';

export interface EraDecision {
	era: ApiEra;
	/** What decided it, for the status line and the hover. */
	evidence: string;
}

export function detectEra(files: FileFacts[], override?: ApiEra): EraDecision {
	if (override) return { era: override, evidence: 'set by gpcscope.apiEra / --api-era' };
	const declared = new Map<string, ApiDeclaration>();
	for (const f of files) for (const d of f.declarations) if (!declared.has(d.name)) declared.set(d.name, d);
	const usageEnum = files.some((f) => f.hasUsageEnum);
	const where = (d: ApiDeclaration) => `${d.file}:${d.line + 1}`;

	const check = declared.get('kvm_gpc_check');
	if (check) {
		return usageEnum
			? { era: '6.2-6.8', evidence: `kvm_gpc_check(gpc, len) declared at ${where(check)} and enum pfn_cache_usage present` }
			: { era: '6.9+', evidence: `kvm_gpc_check(gpc, len) declared at ${where(check)}, no enum pfn_cache_usage` };
	}
	const oldCheck = declared.get('kvm_gfn_to_pfn_cache_check');
	if (oldCheck) {
		const init = declared.get('kvm_gpc_init');
		return init
			? { era: '6.1', evidence: `kvm_gfn_to_pfn_cache_check() and kvm_gpc_init() declared at ${where(oldCheck)}` }
			: { era: '5.17-6.0', evidence: `kvm_gfn_to_pfn_cache_check() declared at ${where(oldCheck)} without kvm_gpc_init()` };
	}

	// No declarations (a lone file): the newest era whose signatures fit the calls.
	const calls = files.flatMap((f) => f.apiCalls);
	const arity = (name: string) => calls.find((c) => c.name === name)?.arity;
	const usesUsage = files.some((f) => f.usageArguments.length > 0);
	if (calls.some((c) => c.name.startsWith('kvm_gfn_to_pfn_cache_'))) {
		const era: ApiEra = calls.some((c) => c.name === 'kvm_gpc_init' || c.name === 'kvm_gpc_activate') ? '6.1' : '5.17-6.0';
		return { era, evidence: 'inferred from kvm_gfn_to_pfn_cache_*() calls (no declarations indexed)' };
	}
	if (arity('kvm_gpc_init') === 4 || arity('kvm_gpc_activate') === 6 || usesUsage) {
		const era: ApiEra = arity('kvm_gpc_activate') === 6 ? '6.1' : '6.2-6.8';
		return { era, evidence: 'inferred from usage-flag arguments in calls (no declarations indexed)' };
	}
	return { era: '6.9+', evidence: calls.length ? 'inferred from kvm_gpc_*() calls (no declarations indexed)' : 'default: newest era' };
}

/** The era's API table with argument positions corrected by the tree's declarations. */
export function apiTable(era: ApiEra, files: FileFacts[]): Map<string, GpcFunction> {
	const table = gpcFunctionsFor(era);
	// A tree may carry a helper before the era that made it standard (a backport).
	if (files.some((f) => f.declarations.some((d) => d.name === 'kvm_gpc_mark_dirty_in_slot')) && !table.has('kvm_gpc_mark_dirty_in_slot')) {
		table.set('kvm_gpc_mark_dirty_in_slot', { name: 'kvm_gpc_mark_dirty_in_slot', role: 'markDirty', gpc: 0 });
	}
	for (const f of files) {
		for (const d of f.declarations) {
			const entry = table.get(d.name);
			if (!entry) continue;
			const index = (pred: (p: { type: string; name: string }) => boolean) => {
				const i = d.params.findIndex(pred);
				return i < 0 ? undefined : i;
			};
			const gpc = index((p) => p.type === 'gfn_to_pfn_cache');
			if (gpc === undefined) continue;
			entry.gpc = gpc;
			entry.len = index((p) => p.name === 'len') ?? (entry.len !== undefined ? index((p) => /len/.test(p.name)) : undefined);
			entry.gpa = index((p) => p.name === 'gpa');
			entry.usage = index((p) => p.type === 'pfn_cache_usage');
			entry.vcpu = index((p) => p.type === 'kvm_vcpu');
		}
	}
	return table;
}

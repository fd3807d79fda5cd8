// The gpc vocabulary: which identifiers make C code "gpc code". The prefilter,
// pass-1 facts, the engine, the language server, kbuild and the extension's
// lazy start all ask here. No imports: the extension bundles this file.

/** The cache's type and its API's functions, of every era (the API's names are lowercase). */
const API = String.raw`gfn_to_pfn_cache|kvm_gpc_[a-z_]+|kvm_gfn_to_pfn_cache_[a-z_]+`;
/** The mapping a checked cache hands out. */
const MAPPING = 'khva';
/** The usage argument's enum and its values as callers pass them (removed in 6.9). */
const USAGE = String.raw`pfn_cache_usage|KVM_(?:GUEST|HOST)_USES_PFN`;

/** Any gpc identifier: a file that names one is analysed (the index's prefilter). */
export const GPC_IDENTIFIER = new RegExp(String.raw`\b(?:${API}|${MAPPING}|${USAGE})\b`);

/**
 * Literal needles, one of which every GPC_IDENTIFIER match contains: "fn_cach"
 * (gfn_to_pfn_cache, kvm_gfn_to_pfn_cache_*, pfn_cache_usage), "kvm_gpc", "khva", "USES_PF".
 */
export const GPC_NEEDLES = ['fn_cach', 'kvm_gpc', 'khva', 'USES_PF'] as const;

/** Uses of the API itself (the usage flags are not uses): what makes a function a gpc user. */
export const GPC_API_MENTION = new RegExp(String.raw`\b(?:${API}|${MAPPING})\b`);

/** Names of code that says it is gpc code without `khva`, which other code uses too (the extension's lazy start). */
export const GPC_API_OR_USAGE = new RegExp(String.raw`\b(?:${API}|${USAGE})\b`);

/** A lock through a pointer: a gpc's lock in a file that names the gpc API. */
export const LOCK_MENTION = /->lock\b/;

/** Any gpc API function name, including helpers no era table lists (kvm_gpc_is_gpa_active, ...). */
export const GPC_API_NAME = /^(kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+)$/;

/** The usage machinery's names, as the rewrite and `grep` look for them. */
export const USAGE_TEXT = /\b(?:pfn_cache_usage|KVM_GUEST_USES_PFN|KVM_HOST_USES_PFN|KVM_GUEST_AND_HOST_USE_PFN)\b/;
/** The usage argument's values as callers pass them. */
export const USAGE_FLAG = /\bKVM_(GUEST|HOST)_USES_PFN\b/;
export const USAGE_ENUM = 'pfn_cache_usage';

/** Whether an identifier is one of the usage machinery's names (hover explains the census there). */
export function isUsageName(identifier: string): boolean {
	return /^(KVM_GUEST_USES_PFN|KVM_HOST_USES_PFN|KVM_GUEST_AND_HOST_USE_PFN|pfn_cache_usage)$/.test(identifier);
}

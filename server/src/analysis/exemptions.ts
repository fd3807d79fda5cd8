// Caches whose writes need no mark-dirty, each with the document that says so.
export interface DirtyExemption {
	field: string;
	reason: string;
	document: string;
}

export const DIRTY_EXEMPTIONS: readonly DirtyExemption[] = [
	{
		field: 'shinfo_cache',
		reason: 'the Xen shared_info page is exempt from dirty tracking; userspace must always assume it is dirty',
		document: 'Documentation/virt/kvm/api.rst (KVM_XEN_ATTR_TYPE_SHARED_INFO)',
	},
	{
		field: 'vcpu_info_cache',
		reason: "each vCPU's vcpu_info page is exempt from dirty tracking; userspace must always assume it is dirty",
		document: 'Documentation/virt/kvm/api.rst (KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO)',
	},
];

/** The exemption table with the user's setting applied (field names; an empty list disables all). */
export function dirtyExemptions(override?: readonly string[]): Map<string, DirtyExemption> {
	const table = new Map(DIRTY_EXEMPTIONS.map((e) => [e.field, e]));
	if (!override) return table;
	const out = new Map<string, DirtyExemption>();
	for (const field of override) {
		out.set(field, table.get(field) ?? { field, reason: 'exempt by the gpcscope.markDirty.exemptInstances setting', document: 'settings' });
	}
	return out;
}

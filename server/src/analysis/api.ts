// The gpc API per era, and the kernel primitives the dataflow understands.
// Argument positions come from this table unless the indexed tree declares
// the function itself (see era.ts), in which case its declaration wins.

export type ApiEra = '5.17-6.0' | '6.1' | '6.2-6.8' | '6.9+';
export const API_ERAS: readonly ApiEra[] = ['5.17-6.0', '6.1', '6.2-6.8', '6.9+'];

export type GpcRole =
	| 'init'
	| 'activate'
	| 'check'
	| 'refresh'
	| 'deactivate'
	| 'unmap'
	| 'markDirty';

export interface GpcFunction {
	name: string;
	role: GpcRole;
	/** Argument indexes; absent where the era's signature has no such argument. */
	gpc: number;
	len?: number;
	gpa?: number;
	usage?: number;
	vcpu?: number;
	mayRefresh?: boolean;
}

type Signature = Omit<GpcFunction, 'name' | 'role'>;
const sig = (s: Signature) => s;

/** Signatures by era; `kvm_gpc_activate_hva` takes (gpc, uhva, len). */
export const GPC_SIGNATURES: Record<ApiEra, Record<string, [GpcRole, Signature]>> = {
	'5.17-6.0': {
		kvm_gfn_to_pfn_cache_init: ['activate', sig({ gpc: 1, vcpu: 2, usage: 3, gpa: 4, len: 5 })],
		kvm_gfn_to_pfn_cache_check: ['check', sig({ gpc: 1, gpa: 2, len: 3 })],
		kvm_gfn_to_pfn_cache_refresh: ['refresh', sig({ gpc: 1, gpa: 2, len: 3 })],
		kvm_gfn_to_pfn_cache_unmap: ['unmap', sig({ gpc: 1 })],
		kvm_gfn_to_pfn_cache_destroy: ['deactivate', sig({ gpc: 1 })],
	},
	'6.1': {
		kvm_gpc_init: ['init', sig({ gpc: 0 })],
		kvm_gpc_activate: ['activate', sig({ gpc: 1, vcpu: 2, usage: 3, gpa: 4, len: 5 })],
		kvm_gfn_to_pfn_cache_check: ['check', sig({ gpc: 1, gpa: 2, len: 3 })],
		kvm_gfn_to_pfn_cache_refresh: ['refresh', sig({ gpc: 1, gpa: 2, len: 3 })],
		kvm_gfn_to_pfn_cache_unmap: ['unmap', sig({ gpc: 1 })],
		kvm_gpc_deactivate: ['deactivate', sig({ gpc: 1 })],
	},
	'6.2-6.8': {
		kvm_gpc_init: ['init', sig({ gpc: 0, vcpu: 2, usage: 3 })],
		kvm_gpc_activate: ['activate', sig({ gpc: 0, gpa: 1, len: 2 })],
		kvm_gpc_check: ['check', sig({ gpc: 0, len: 1 })],
		kvm_gpc_refresh: ['refresh', sig({ gpc: 0, len: 1 })],
		kvm_gpc_deactivate: ['deactivate', sig({ gpc: 0 })],
	},
	'6.9+': {
		kvm_gpc_init: ['init', sig({ gpc: 0 })],
		kvm_gpc_activate: ['activate', sig({ gpc: 0, gpa: 1, len: 2 })],
		kvm_gpc_activate_hva: ['activate', sig({ gpc: 0, len: 2 })],
		kvm_gpc_check: ['check', sig({ gpc: 0, len: 1 })],
		kvm_gpc_refresh: ['refresh', sig({ gpc: 0, len: 1 })],
		kvm_gpc_deactivate: ['deactivate', sig({ gpc: 0 })],
		kvm_gpc_mark_dirty_in_slot: ['markDirty', sig({ gpc: 0 })],
	},
};

/** Every gpc API name of every era: the prefilter and the call-site census use it. */
export const ALL_GPC_FUNCTION_NAMES: ReadonlySet<string> = new Set(
	Object.values(GPC_SIGNATURES).flatMap((table) => Object.keys(table)),
);

/** Any gpc API name, including helpers no era table lists (kvm_gpc_is_gpa_active, ...). */
export const GPC_API_NAME = /^(kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+)$/;

export function gpcFunctionsFor(era: ApiEra): Map<string, GpcFunction> {
	const table = new Map<string, GpcFunction>();
	for (const [name, [role, s]] of Object.entries(GPC_SIGNATURES[era])) {
		table.set(name, { name, role, ...s, mayRefresh: role === 'refresh' || role === 'activate' });
	}
	return table;
}

/** gpc roles that may sleep (refresh_lock mutex, faulting pages in, synchronising with notifiers). */
export const SLEEPING_ROLES: ReadonlySet<GpcRole> = new Set(['activate', 'refresh', 'deactivate', 'unmap']);

export type LockVariant = 'plain' | 'irq' | 'irqsave' | 'bh';
export interface LockPrimitive {
	op: 'lock' | 'unlock' | 'trylock';
	mode: 'read' | 'write';
	variant: LockVariant;
	/** Index of the flags argument for irqsave/irqrestore. */
	flags?: number;
}

/** rwlock primitives applied to `&gpc->lock`. */
export const RWLOCK_PRIMITIVES: Record<string, LockPrimitive> = {
	read_lock: { op: 'lock', mode: 'read', variant: 'plain' },
	read_lock_nested: { op: 'lock', mode: 'read', variant: 'plain' },
	read_lock_irq: { op: 'lock', mode: 'read', variant: 'irq' },
	read_lock_irqsave: { op: 'lock', mode: 'read', variant: 'irqsave', flags: 1 },
	read_lock_bh: { op: 'lock', mode: 'read', variant: 'bh' },
	read_trylock: { op: 'trylock', mode: 'read', variant: 'plain' },
	read_unlock: { op: 'unlock', mode: 'read', variant: 'plain' },
	read_unlock_irq: { op: 'unlock', mode: 'read', variant: 'irq' },
	read_unlock_irqrestore: { op: 'unlock', mode: 'read', variant: 'irqsave', flags: 1 },
	read_unlock_bh: { op: 'unlock', mode: 'read', variant: 'bh' },
	write_lock: { op: 'lock', mode: 'write', variant: 'plain' },
	write_lock_irq: { op: 'lock', mode: 'write', variant: 'irq' },
	write_lock_irqsave: { op: 'lock', mode: 'write', variant: 'irqsave', flags: 1 },
	write_lock_bh: { op: 'lock', mode: 'write', variant: 'bh' },
	write_trylock: { op: 'trylock', mode: 'write', variant: 'plain' },
	write_unlock: { op: 'unlock', mode: 'write', variant: 'plain' },
	write_unlock_irq: { op: 'unlock', mode: 'write', variant: 'irq' },
	write_unlock_irqrestore: { op: 'unlock', mode: 'write', variant: 'irqsave', flags: 1 },
	write_unlock_bh: { op: 'unlock', mode: 'write', variant: 'bh' },
};

/** Other spinning locks: holding one makes the context atomic. */
export const SPIN_ACQUIRE = /^(raw_)?(spin|read|write)_lock(_irq|_irqsave|_bh|_nested)?$|^(raw_)?spin_trylock(_irq|_irqsave)?$|^arch_spin_lock$/;
export const SPIN_RELEASE = /^(raw_)?(spin|read|write)_unlock(_irq|_irqrestore|_bh)?$|^arch_spin_unlock$/;

export const IRQ_DISABLE: Record<string, { flags?: number }> = {
	local_irq_save: { flags: 0 },
	local_irq_disable: {},
	preempt_disable: {},
	rcu_read_lock_sched: {},
};
export const IRQ_ENABLE: Record<string, { flags?: number }> = {
	local_irq_restore: { flags: 0 },
	local_irq_enable: {},
	preempt_enable: {},
	preempt_enable_no_resched: {},
	rcu_read_unlock_sched: {},
};

/**
 * Primitives that may sleep by contract, whatever the tree shows: macros (might_sleep(),
 * wait_event()), config stubs (`static inline void might_fault(void) { }`), core files
 * outside the indexed set. Seeds for the transitive may-sleep summary.
 * GFP_KERNEL allocations are recognised by their flags argument (allocationMaySleep).
 */
export const SLEEPING_PRIMITIVES: ReadonlySet<string> = new Set([
	'might_sleep', 'might_fault', 'cond_resched', 'schedule', 'schedule_timeout', 'msleep', 'usleep_range', 'ssleep',
	'mutex_lock', 'mutex_lock_interruptible', 'mutex_lock_killable', 'mutex_lock_nested',
	'down', 'down_read', 'down_write', 'down_interruptible', 'down_killable', 'down_read_killable',
	'synchronize_rcu', 'synchronize_srcu', 'synchronize_srcu_expedited', 'wait_for_completion',
	'wait_event', 'wait_event_interruptible', 'flush_work', 'cancel_work_sync', 'kthread_stop',
	'copy_to_user', 'copy_from_user', 'get_user', 'put_user', 'clear_user', 'strncpy_from_user',
	'__copy_to_user', '__copy_from_user', '__get_user', '__put_user',
	'vmalloc', 'vzalloc', 'vfree', 'vunmap', 'iounmap', 'memunmap', 'kunmap', 'get_user_pages', 'pin_user_pages',
	'kvm_gpc_activate', 'kvm_gpc_activate_hva', 'kvm_gpc_refresh', 'kvm_gpc_deactivate',
	'kvm_gfn_to_pfn_cache_refresh', 'kvm_gfn_to_pfn_cache_init', 'kvm_gfn_to_pfn_cache_destroy',
	'kvm_gfn_to_pfn_cache_unmap',
]);

/**
 * KVM's own guest-memory helpers (virt/kvm/kvm_main.c, arch/x86/kvm/x86.c). Where the indexed
 * tree defines one, its may-sleep summary decides: kvm_gfn_to_hva_cache_init() only looks a
 * memslot up, and kvm_write_guest() sleeps through __copy_to_user(). This table answers only
 * for a tree that does not define them (a fixture, a subdirectory checked on its own).
 */
export const SLEEPING_UNLESS_DEFINED: ReadonlySet<string> = new Set([
	'kvm_read_guest', 'kvm_write_guest', 'kvm_read_guest_page', 'kvm_write_guest_page',
	'kvm_read_guest_cached', 'kvm_write_guest_cached', 'kvm_read_guest_offset_cached',
	'kvm_write_guest_offset_cached', 'kvm_vcpu_read_guest', 'kvm_vcpu_write_guest',
	'kvm_vcpu_read_guest_page', 'kvm_vcpu_write_guest_page', 'kvm_gfn_to_hva_cache_init',
	'kvm_read_guest_virt', 'kvm_write_guest_virt_system', 'kvm_vcpu_map', 'kvm_vcpu_unmap',
	'kvm_vcpu_block', 'kvm_vcpu_halt',
]);

/**
 * Functions the kernel calls in atomic context by design (dropping a page or object
 * reference, freeing memory): may-sleep summaries never follow a call into them. Their
 * rare slow paths (the last reference to a hugetlb folio gathering surplus pages) are
 * reachable in a call graph without the conditions that rule them out under a spinlock.
 */
export const ATOMIC_SAFE: ReadonlySet<string> = new Set([
	'put_page', 'folio_put', 'folio_put_refs', '__folio_put', 'put_page_testzero',
	'kfree', 'kfree_sensitive', 'kmem_cache_free', 'free_pages', 'free_page', '__free_pages', '__free_page', 'folio_free',
	'kvm_release_page_clean', 'kvm_release_page_dirty', 'kvm_release_pfn_clean', 'kvm_release_pfn_dirty',
]);

export const ALLOCATORS = /^(kmalloc|kzalloc|kcalloc|kmalloc_array|krealloc|kmem_cache_alloc|kmem_cache_zalloc|kvmalloc|kvzalloc|kvcalloc|alloc_pages|__get_free_pages?|get_zeroed_page|kstrdup|kmemdup)$/;
/** GFP flags that allow direct reclaim. */
export const SLEEPING_GFP = /\bGFP_(KERNEL|USER|HIGHUSER|NOFS|NOIO|KERNEL_ACCOUNT)\b/;

/** Functions that mark guest memory dirty; the instance comes from a `gpc->...` argument. */
export const MARK_DIRTY_FUNCTIONS: ReadonlySet<string> = new Set([
	'kvm_gpc_mark_dirty_in_slot', 'mark_page_dirty_in_slot', 'mark_page_dirty', 'kvm_vcpu_mark_page_dirty',
]);

/** Calls that write through their first argument. */
export const WRITES_FIRST_ARGUMENT = /^(memcpy|memset|memmove|strscpy|copy_from_user|__copy_from_user|WRITE_ONCE|xchg|cmpxchg|cmpxchg64|try_cmpxchg|atomic_\w+|atomic64_\w+)$/;
/** Bit operations: the address is the second argument. */
export const WRITES_SECOND_ARGUMENT = /^(__)?(set_bit|clear_bit|change_bit|test_and_set_bit|test_and_clear_bit|test_and_change_bit)(_lock)?$/;

// May-sleep summaries resolve calls as the linker would: a .c file's own static
// function first, then the tree's other definitions, every one of which must
// sleep (kernel trees define the same name per architecture and in tools/).
import { describe, expect, it } from 'vitest';
import { extractFacts, type FileFacts } from '../../server/src/analysis/facts';
import { sleepSummaries } from '../../server/src/analysis/sleep';
import { createCParser } from '../../server/src/parse/parser';
import { engine } from '../helpers';

/** `raw`: tree-sitter on the text as written, without the kernel normalisation (parse/normalise.ts). */
async function factsOf(files: Record<string, string>, options: { raw?: boolean } = {}): Promise<FileFacts[]> {
	const parser = options.raw ? await createCParser({ raw: true }) : (await engine()).parser;
	return Object.entries(files).map(([file, text]) => {
		const tree = parser.parse(text)!;
		try {
			return extractFacts(file, tree);
		} finally {
			tree.delete();
		}
	});
}

describe('sleepSummaries', () => {
	it('follows calls down to a sleeping primitive and explains the chain', async () => {
		const s = sleepSummaries(await factsOf({
			'a.c': 'void outer(void) { middle(); }\nvoid middle(void) { mutex_lock(&m); }\n',
		}));
		expect(s.from('a.c', 'outer')).toBe('it calls middle(), which calls mutex_lock()');
		expect(s.from(undefined, 'middle')).toBe('it calls mutex_lock()');
		expect(s.from('a.c', 'unknown')).toBeUndefined();
	});

	it('resolves a call to the calling .c file\'s own static function, never to another file\'s', async () => {
		const s = sleepSummaries(await factsOf({
			'drivers/x/xmon.c': 'static void backtrace(void) { msleep(1); }\n',
			'kernel/dump.c': 'void dump_stack(void) { backtrace(); }\n',
			'arch/y/dump.c': 'static void backtrace(void) { }\nvoid show(void) { backtrace(); }\n',
			'drivers/x/user.c': 'void report(void) { backtrace(); }\n',
		}));
		expect(s.from('drivers/x/xmon.c', 'backtrace')).toBe('it calls msleep()');
		// Another file's static backtrace() is not reachable from here.
		expect(s.from(undefined, 'dump_stack')).toBeUndefined();
		expect(s.from('drivers/x/user.c', 'report')).toBeUndefined();
		expect(s.from('arch/y/dump.c', 'show')).toBeUndefined();
	});

	it('counts static inline functions of headers as everyone\'s', async () => {
		const s = sleepSummaries(await factsOf({
			'include/linux/wait.h': 'static inline void wait_for_it(void) { schedule(); }\n',
			'kernel/a.c': 'void waiter(void) { wait_for_it(); }\n',
		}));
		expect(s.from('kernel/a.c', 'waiter')).toBe('it calls wait_for_it(), which calls schedule()');
	});

	it('says a name with several definitions may sleep only when every one may', async () => {
		const files = {
			'arch/a/lock.c': 'void arch_lock(void) { schedule(); }\n',
			'arch/b/lock.c': 'void arch_lock(void) { }\n',
			'kernel/user.c': 'void user(void) { arch_lock(); }\n',
		};
		expect(sleepSummaries(await factsOf(files)).from('kernel/user.c', 'user')).toBeUndefined();
		const both = { ...files, 'arch/b/lock.c': 'void arch_lock(void) { msleep(1); }\n' };
		expect(sleepSummaries(await factsOf(both)).from('kernel/user.c', 'user')).toBe('it calls arch_lock(), which calls schedule()');
	});

	it('takes a macro loop tree-sitter parsed as a function for part of its function, and gives nested functions their own calls', async () => {
		// skl_enable_logs() in linux-6.1's sound/soc/intel/avs/skl.c: after `if (x) for_each_set_bit(...) { }`
		// tree-sitter alone parses the loop as a definition and nests the next functions in this one.
		// The normalised parse reads it as a loop (below); facts.ts still copes with the raw one.
		const files = {
			'sound/avs/skl.c': [
				'static int enable_logs(struct avs_dev *adev, int enable, unsigned long mask, u32 *prio)',
				'{',
				'\tstruct log_info *info;',
				'\tu32 size, cores = adev->cores;',
				'\tint ret, i;',
				'',
				'\tsize = struct_size(info, logs, cores);',
				'\tinfo = kzalloc(size, GFP_KERNEL);',
				'\tif (!info)',
				'\t\treturn -ENOMEM;',
				'',
				'\tif (enable)',
				'\t\tfor_each_set_bit(i, &mask, GENMASK(cores, 0)) {',
				'\t\t\tinfo->logs[i].enable = enable;',
				'\t\t\tinfo->logs[i].prio = *prio++;',
				'\t\t}',
				'\telse',
				'\t\tfor_each_set_bit(i, &mask, GENMASK(cores, 0))',
				'\t\t\tinfo->logs[i].enable = enable;',
				'',
				'\tret = send_and_wait(adev, info, size);',
				'\tkfree(info);',
				'\tif (ret)',
				'\t\treturn AVS_IPC_RET(ret);',
				'',
				'\treturn 0;',
				'}',
				'',
				'int next_function(struct avs_dev *adev)',
				'{',
				'\treturn msleep_and_report(adev);',
				'}',
				'',
				'int log_offset(struct avs_dev *adev, u32 core)',
				'{',
				'\treturn core * buffer_size(adev);',
				'}',
				'',
				'static int log_status(struct avs_dev *adev, union notify_msg *msg)',
				'{',
				'\tmsleep_and_report(adev);',
				'\treturn 0;',
				'}',
				'',
			].join('\n'),
			'sound/avs/ipc.c': 'int msleep_and_report(struct avs_dev *adev) { msleep(1); return 0; }\nint buffer_size(struct avs_dev *adev) { return 4096; }\n',
			'lib/user.c': 'void user(unsigned long *m) { for_each_set_bit(i, m, 4); }\n',
		};
		const facts = await factsOf(files, { raw: true });
		const functions = facts[0].functions;
		expect(functions.map((f) => f.name)).toEqual(['enable_logs', 'log_offset', 'log_status']);
		// The functions tree-sitter nested in enable_logs() keep their calls.
		expect(functions[0].callees).toContain('kzalloc');
		expect(functions[0].callees).not.toContain('buffer_size');
		const s = sleepSummaries(facts);
		expect(s.from('lib/user.c', 'user')).toBeUndefined();
		expect(s.from('sound/avs/skl.c', 'log_status')).toBe('it calls msleep_and_report(), which calls msleep()');
		expect(s.from('sound/avs/skl.c', 'log_offset')).toBeUndefined();

		// Normalised, the loops are loops: every function is found, next_function() too, and no error is left.
		const normalised = await factsOf(files);
		expect(normalised[0].functions.map((f) => f.name)).toEqual(['enable_logs', 'next_function', 'log_offset', 'log_status']);
		expect(normalised[0].errorNodes).toBe(0);
		expect(normalised[0].functions[0].callees).toEqual(expect.arrayContaining(['kzalloc', 'send_and_wait', 'kfree']));
		expect(normalised[0].functions[0].callees).not.toContain('buffer_size');
		const n = sleepSummaries(normalised);
		expect(n.from('sound/avs/skl.c', 'next_function')).toBe('it calls msleep_and_report(), which calls msleep()');
		expect(n.from('sound/avs/skl.c', 'log_offset')).toBeUndefined();
	});

	it('takes no statement nested in a body for a function: `else list_for_each_entry(...) { }` (vmwgfx)', async () => {
		// vmw_validation_res_unreserve() in linux-6.1 and 6.12: tree-sitter parses the second loop as a
		// definition of list_for_each_entry() typed `else`, nested in the function's body.
		const facts = await factsOf({
			'drivers/gpu/drm/vmwgfx/vmwgfx_validation.c': [
				'void vmw_validation_res_unreserve(struct vmw_validation_context *ctx,',
				'\t\t\t\t bool backoff)',
				'{',
				'\tstruct vmw_validation_res_node *val;',
				'',
				'\tlist_splice_init(&ctx->resource_ctx_list, &ctx->resource_list);',
				'\tif (backoff)',
				'\t\tlist_for_each_entry(val, &ctx->resource_list, head) {',
				'\t\t\tif (val->reserved)',
				'\t\t\t\tvmw_resource_unreserve(val->res, false, false, false, NULL, 0);',
				'\t\t}',
				'\telse',
				'\t\tlist_for_each_entry(val, &ctx->resource_list, head) {',
				'\t\t\tif (val->reserved)',
				'\t\t\t\tvmw_resource_unreserve(val->res, val->dirty_set, val->dirty, false, NULL, 0);',
				'\t\t}',
				'}',
				'',
			].join('\n'),
			'drivers/gpu/drm/vmwgfx/vmwgfx_resource.c': 'void vmw_resource_unreserve(struct vmw_resource *res, bool a, bool b, bool c, struct vmw_bo *bo, unsigned long off) { mutex_lock(&res->lock); }\n',
			'kernel/locking/lockdep.c': 'void lock_acquire(struct lockdep_map *lock) { list_for_each_entry(entry, &lock->list, list) { } }\n',
		});
		expect(facts[0].functions.map((f) => f.name)).toEqual(['vmw_validation_res_unreserve']);
		expect(facts[0].functions[0].callees).toContain('vmw_resource_unreserve');
		const s = sleepSummaries(facts);
		expect(s.from('drivers/gpu/drm/vmwgfx/vmwgfx_validation.c', 'vmw_validation_res_unreserve')).toBe('it calls vmw_resource_unreserve(), which calls mutex_lock()');
		// No call of list_for_each_entry anywhere in the tree resolves to the misread loop.
		expect(s.from('kernel/locking/lockdep.c', 'lock_acquire')).toBeUndefined();
	});

	it('lets the tree decide for KVM\'s guest-memory helpers it defines, and the table for those it does not', async () => {
		const caller = {
			'arch/x86/kvm/x86.c': 'void record_steal_time(struct kvm_vcpu *v, gpa_t gpa) { kvm_gfn_to_hva_cache_init(v->kvm, &v->arch.st.cache, gpa, 64); }\n' +
				'void write_clock(struct kvm_vcpu *v, gpa_t gpa) { kvm_write_guest(v->kvm, gpa, &v->arch.clock, 8); }\n',
		};
		// Not defined here (a fixture, a subdirectory): the table says both may sleep.
		const bare = sleepSummaries(await factsOf(caller));
		expect(bare.from('arch/x86/kvm/x86.c', 'kvm_write_guest')).toBe('');
		expect(bare.from('arch/x86/kvm/x86.c', 'write_clock')).toBe('it calls kvm_write_guest()');
		expect(bare.from('arch/x86/kvm/x86.c', 'record_steal_time')).toBe('it calls kvm_gfn_to_hva_cache_init()');
		// Defined as virt/kvm/kvm_main.c defines them: a memslot lookup does not sleep; a copy to user space does.
		const s = sleepSummaries(await factsOf({
			...caller,
			'virt/kvm/kvm_main.c': [
				'int kvm_gfn_to_hva_cache_init(struct kvm *kvm, struct gfn_to_hva_cache *ghc, gpa_t gpa, unsigned long len)',
				'{',
				'\tghc->memslot = __gfn_to_memslot(kvm_memslots(kvm), gpa >> PAGE_SHIFT);',
				'\tghc->hva = gfn_to_hva_many(ghc->memslot, gpa >> PAGE_SHIFT, NULL);',
				'\treturn kvm_is_error_hva(ghc->hva) ? -EFAULT : 0;',
				'}',
				'int kvm_write_guest(struct kvm *kvm, gpa_t gpa, const void *data, unsigned long len)',
				'{',
				'\treturn __copy_to_user((void __user *)gfn_to_hva(kvm, gpa >> PAGE_SHIFT), data, len) ? -EFAULT : 0;',
				'}',
				'',
			].join('\n'),
		}));
		expect(s.from('arch/x86/kvm/x86.c', 'record_steal_time')).toBeUndefined();
		expect(s.from('arch/x86/kvm/x86.c', 'kvm_gfn_to_hva_cache_init')).toBeUndefined();
		expect(s.from('arch/x86/kvm/x86.c', 'write_clock')).toBe('it calls kvm_write_guest(), which calls __copy_to_user()');
	});

	it('follows calls through a vendor ops table to every implementation the tree\'s tables name', async () => {
		const facts = await factsOf({
			'arch/x86/kvm/x86.c': [
				'static int vcpu_enter_guest(struct kvm_vcpu *vcpu)',
				'{',
				'\tstatic_call(kvm_x86_prepare_switch_to_guest)(vcpu);',
				'\tkvm_x86_call(vcpu_load)(vcpu, 0);',
				'\tkvm_x86_ops.vcpu_put(vcpu);',
				'\tstatic_call_cond(kvm_x86_pmu_refresh)(vcpu);',
				'\treturn kvm_x86_call(vcpu_run)(vcpu, false);',
				'}',
				'',
			].join('\n'),
			'arch/x86/kvm/vmx/main.c': [
				'struct kvm_x86_ops vt_x86_ops __initdata = {',
				'\t.prepare_switch_to_guest = vmx_prepare_switch_to_guest,',
				'\t.vcpu_run = vmx_vcpu_run,',
				'};',
				'',
			].join('\n'),
			'arch/x86/kvm/svm/svm.c': [
				'static void svm_prepare_switch_to_guest(struct kvm_vcpu *vcpu) { }',
				'static int svm_vcpu_run(struct kvm_vcpu *vcpu, bool force) { return 0; }',
				'static struct kvm_x86_ops svm_x86_ops __initdata = {',
				'\t.prepare_switch_to_guest = svm_prepare_switch_to_guest,',
				'\t.vcpu_run = svm_vcpu_run,',
				'};',
				'',
			].join('\n'),
			'arch/x86/kvm/vmx/vmx.c': 'void vmx_prepare_switch_to_guest(struct kvm_vcpu *vcpu) { mutex_lock(&vcpu->mutex); }\nint vmx_vcpu_run(struct kvm_vcpu *vcpu, bool force) { return 0; }\n',
		});
		expect(facts[0].functions[0].callees).toEqual(expect.arrayContaining([
			'kvm_x86_ops.prepare_switch_to_guest', 'kvm_x86_ops.vcpu_load', 'kvm_x86_ops.vcpu_put', 'kvm_pmu_ops.refresh', 'kvm_x86_ops.vcpu_run',
		]));
		expect(facts[1].opsTables?.map((e) => `${e.table}.${e.member} = ${e.impl}`)).toEqual([
			'vt_x86_ops.prepare_switch_to_guest = vmx_prepare_switch_to_guest', 'vt_x86_ops.vcpu_run = vmx_vcpu_run',
		]);
		const s = sleepSummaries(facts);
		// One vendor's implementation sleeps: the call may sleep (whichever module is loaded runs).
		expect(s.from('arch/x86/kvm/x86.c', 'kvm_x86_ops.prepare_switch_to_guest')).toBe('it is vmx_prepare_switch_to_guest() (vt_x86_ops), which calls mutex_lock()');
		expect(s.from('arch/x86/kvm/x86.c', 'vcpu_enter_guest')).toBe('it calls kvm_x86_ops.prepare_switch_to_guest(), which is vmx_prepare_switch_to_guest() (vt_x86_ops), which calls mutex_lock()');
		expect(s.from('arch/x86/kvm/x86.c', 'kvm_x86_ops.vcpu_run')).toBeUndefined();
	});

	it('does not follow calls into functions made for atomic context (a page reference dropped under a spinlock)', async () => {
		// linux-6.12: put_page() → folio_put() → __folio_put() → free_huge_folio() → … → cond_resched(),
		// a slow path the last reference to a hugetlb folio takes, not one under a spinlock.
		const s = sleepSummaries(await factsOf({
			'mm/swap.c': 'void __folio_put(struct folio *folio) { if (folio_test_hugetlb(folio)) free_huge_folio(folio); }\n',
			'mm/hugetlb.c': 'void free_huge_folio(struct folio *folio) { cond_resched(); }\n',
			'include/linux/mm.h': 'static inline void put_page(struct page *page) { __folio_put(page_folio(page)); }\n',
			'virt/kvm/kvm_main.c': 'void kvm_release_pfn_clean(kvm_pfn_t pfn) { put_page(pfn_to_page(pfn)); }\n',
		}));
		expect(s.from(undefined, 'free_huge_folio')).toBe('it calls cond_resched()');
		expect(s.from('virt/kvm/pfncache.c', 'kvm_release_pfn_clean')).toBeUndefined();
		expect(s.from('mm/swap.c', 'put_page')).toBeUndefined();
	});

	it('ignores a function that drops its caller\'s gpc lock before it sleeps', async () => {
		const s = sleepSummaries(await factsOf({
			'virt/kvm/pfncache.c': 'static int retry(struct gfn_to_pfn_cache *gpc) { write_unlock_irq(&gpc->lock); schedule(); write_lock_irq(&gpc->lock); return 0; }\nint refresh(struct gfn_to_pfn_cache *gpc) { return retry(gpc); }\n',
		}));
		expect(s.from('virt/kvm/pfncache.c', 'refresh')).toBeUndefined();
	});
});

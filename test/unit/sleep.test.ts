// May-sleep summaries resolve calls as the linker would: a .c file's own static
// function first, then the tree's other definitions, every one of which must
// sleep (kernel trees define the same name per architecture and in tools/).
import { describe, expect, it } from 'vitest';
import { extractFacts, type FileFacts } from '../../server/src/analysis/facts';
import { sleepSummaries } from '../../server/src/analysis/sleep';
import { engine } from '../helpers';

async function factsOf(files: Record<string, string>): Promise<FileFacts[]> {
	const { parser } = await engine();
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

	it('ignores a function that drops its caller\'s gpc lock before it sleeps', async () => {
		const s = sleepSummaries(await factsOf({
			'virt/kvm/pfncache.c': 'static int retry(struct gfn_to_pfn_cache *gpc) { write_unlock_irq(&gpc->lock); schedule(); write_lock_irq(&gpc->lock); return 0; }\nint refresh(struct gfn_to_pfn_cache *gpc) { return retry(gpc); }\n',
		}));
		expect(s.from('virt/kvm/pfncache.c', 'refresh')).toBeUndefined();
	});
});

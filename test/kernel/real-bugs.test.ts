// The bugs Debian's trees still carry (issue 14), on the real trees: the
// sched-out deadlock's rewrite and its hover, the hard-IRQ locks and the posted
// fix for them, and a kvm_gpc_init() deleted from each owner that has one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineOptions } from '../../server/src/analysis/engine';
import type { Finding } from '../../server/src/analysis/findings';
import { hover } from '../../server/src/features/hover';
import { applyEdits } from '../../server/src/findingFix';
import type { IndexResult } from '../../server/src/index/indexer';
import { engine, indexed } from '../helpers';
import { kernelTree, type KernelVersion } from './trees';

const scans = new Map<KernelVersion, IndexResult>();
const key = (f: Finding) => `${f.file}:${f.rule}:${f.message}`;

async function analyse(version: KernelVersion, override?: { file: string; text: string }, options: EngineOptions = {}) {
	if (!scans.has(version)) scans.set(version, await indexed(kernelTree(version)));
	const sources = scans.get(version)!.sources.map((s) => (override && s.file === override.file ? { file: s.file, read: () => override.text } : s));
	return (await engine()).analyze(sources, options);
}

const read = (version: KernelVersion, file: string) => readFileSync(join(kernelTree(version), file), 'latin1');
const replaceOnce = (text: string, original: string, replacement: string) => {
	expect(text.split(original).length, `once: ${original}`).toBe(2);
	return text.replace(original, replacement);
};

const baseline = new Map<string, Set<string>>();
beforeAll(async () => {
	for (const v of ['6.1', '6.12'] as const) {
		baseline.set(v, new Set((await analyse(v)).findings.map(key)));
		baseline.set(`${v}-rt`, new Set((await analyse(v, undefined, { preemptRt: true })).findings.map(key)));
	}
}, 300_000);

describe('gpc-lock-in-sched-out on linux-6.1', () => {
	it('rewrites the runstate lock into upstream 6.2\'s shape, after which only the rule\'s finding is gone', async () => {
		const before = await analyse('6.1');
		const f = before.findings.find((x) => x.rule === 'gpc-lock-in-sched-out')!;
		expect(f.file).toBe('arch/x86/kvm/xen.c');
		const text = read('6.1', f.file);
		const fixed = applyEdits(text, f.fix!.edits)!;
		const after = await analyse('6.1', { file: f.file, text: fixed });
		expect(after.findings.filter((x) => x.rule === 'gpc-lock-in-sched-out')).toEqual([]);
		// Nothing new, and everything else still found (moved by the eight added lines).
		const moved = (x: Finding) => `${x.file}:${x.rule}:${x.message}`;
		expect(after.findings.map(moved).filter((k) => !baseline.get('6.1')!.has(k))).toEqual([]);
		expect(after.findings.length).toBe(before.findings.length - 1);
	});

	it('says on the lock which sched-out chain reaches it', async () => {
		const result = await analyse('6.1');
		const text = read('6.1', 'arch/x86/kvm/xen.c');
		const lines = text.split('\n');
		const row = lines.findIndex((l, i) => l === '\tread_lock_irqsave(&gpc->lock, flags);' && lines[i + 2]?.includes('user_len)) {'));
		expect(row).toBe(219);
		const tree = (await engine()).parser.parse(text)!;
		try {
			const h = hover({ tree, file: 'arch/x86/kvm/xen.c', result, uriOf: (f) => `file:///linux-6.1/${f}` }, { line: row, character: 3 });
			const value = (h!.contents as { value: string }).value;
			console.log(`hover on arch/x86/kvm/xen.c:${row + 1}:\n${value}`);
			expect(value).toContain('**Calling context:** sched-out context (rq lock held) via kvm_sched_out() → kvm_arch_vcpu_put() → kvm_xen_runstate_set_preempted() → kvm_xen_update_runstate_guest() with state = RUNSTATE_runnable');
			expect(value).toContain('**gpc-lock-in-sched-out** (error)');
		} finally {
			tree.delete();
		}
	});
});

describe('gpc-lock-in-hardirq on linux-6.12 (--preempt-rt)', () => {
	it('is silent once kvm_xen_set_evtchn_fast() only trylocks, as the posted fix does', async () => {
		const file = 'arch/x86/kvm/xen.c';
		let text = read('6.12', file);
		text = replaceOnce(text, '\tread_lock_irqsave(&gpc->lock, flags);\n\tif (!kvm_gpc_check(gpc, PAGE_SIZE))\n\t\tgoto out_rcu;\n\n\tif (IS_ENABLED(CONFIG_64BIT) && kvm->arch.xen.long_mode) {\n\t\tstruct shared_info *shinfo = gpc->khva;\n\t\tpending_bits = (unsigned long *)&shinfo->evtchn_pending;\n\t\tmask_bits',
			'\tlocal_irq_save(flags);\n\tif (!read_trylock(&gpc->lock)) {\n\t\tlocal_irq_restore(flags);\n\t\tgoto out_srcu;\n\t}\n\tif (!kvm_gpc_check(gpc, PAGE_SIZE))\n\t\tgoto out_rcu;\n\n\tif (IS_ENABLED(CONFIG_64BIT) && kvm->arch.xen.long_mode) {\n\t\tstruct shared_info *shinfo = gpc->khva;\n\t\tpending_bits = (unsigned long *)&shinfo->evtchn_pending;\n\t\tmask_bits');
		text = replaceOnce(text, '\t\tgpc = &vcpu->arch.xen.vcpu_info_cache;\n\n\t\tread_lock_irqsave(&gpc->lock, flags);\n',
			'\t\tgpc = &vcpu->arch.xen.vcpu_info_cache;\n\n\t\tlocal_irq_save(flags);\n\t\tif (!read_trylock(&gpc->lock)) {\n\t\t\tlocal_irq_restore(flags);\n\t\t\tif (!test_and_set_bit(port_word_bit, &vcpu->arch.xen.evtchn_pending_sel))\n\t\t\t\tkick_vcpu = true;\n\t\t\tgoto out_srcu;\n\t\t}\n');
		text = replaceOnce(text, ' out_rcu:\n\tread_unlock_irqrestore(&gpc->lock, flags);\n\tsrcu_read_unlock(&kvm->srcu, idx);\n\n\tif (kick_vcpu) {',
			' out_rcu:\n\tread_unlock_irqrestore(&gpc->lock, flags);\n out_srcu:\n\tsrcu_read_unlock(&kvm->srcu, idx);\n\n\tif (kick_vcpu) {');
		const rt = await analyse('6.12', { file, text }, { preemptRt: true });
		expect(rt.findings.map((f) => `${f.file}:${f.range.start.line + 1}: ${f.message} [${f.rule}]`)).toEqual([]);
		expect(baseline.get('6.12-rt')!.size).toBe(2);
		expect([...baseline.get('6.12-rt')!].every((k) => k.includes(':gpc-lock-in-hardirq:'))).toBe(true);
	});

	it('finds nothing on linux-6.1, whose hard timer callback only kicks the vCPU', () => {
		expect([...baseline.get('6.1-rt')!].filter((k) => k.includes('gpc-lock-in-hardirq'))).toEqual([]);
	});
});

describe('a cache that is never initialised (gpc-use-before-activate)', () => {
	const cases: { version: KernelVersion; file: string; init: string; instance: string; at: string[]; owner: string }[] = [
		{ version: '6.1', file: 'arch/x86/kvm/x86.c', init: '\tkvm_gpc_init(&vcpu->arch.pv_time);\n', instance: 'kvm_vcpu_arch.pv_time', at: ['arch/x86/kvm/x86.c:kvm_write_system_time'], owner: 'kvm_arch_vcpu_create(), the constructor that kvm_arch_vcpu_destroy() undoes' },
		{ version: '6.1', file: 'arch/x86/kvm/xen.c', init: '\tkvm_gpc_init(&vcpu->arch.xen.vcpu_info_cache);\n', instance: 'kvm_vcpu_xen.vcpu_info_cache', at: ['arch/x86/kvm/xen.c:kvm_xen_vcpu_set_attr'], owner: 'kvm_xen_init_vcpu(), where its sibling caches are initialised' },
		// 6.12's x86.c has an unparsed region from kvm_arch_dy_runnable() to its end that kvm_arch_vcpu_create() sits in:
		// its init sites are still seen (pass 1 finds the function inside the region), and the report is at the activation.
		{ version: '6.12', file: 'arch/x86/kvm/x86.c', init: '\tkvm_gpc_init(&vcpu->arch.pv_time, vcpu->kvm);\n', instance: 'kvm_vcpu_arch.pv_time', at: ['arch/x86/kvm/x86.c:kvm_write_system_time'], owner: 'kvm_arch_vcpu_create(), the constructor that kvm_arch_vcpu_destroy() undoes' },
		{ version: '6.12', file: 'arch/x86/kvm/xen.c', init: '\tkvm_gpc_init(&vcpu->arch.xen.runstate2_cache, vcpu->kvm);\n', instance: 'kvm_vcpu_xen.runstate2_cache', at: ['arch/x86/kvm/xen.c:kvm_xen_update_runstate_guest', 'arch/x86/kvm/xen.c:kvm_xen_vcpu_set_attr'], owner: 'kvm_xen_init_vcpu(), where its sibling caches are initialised' },
	];
	for (const c of cases) {
		it(`${c.version}: kvm_gpc_init() of ${c.instance} deleted from ${c.file} is reported at its activations, naming ${c.owner.split('(')[0]}()`, async () => {
			const text = replaceOnce(read(c.version, c.file), c.init, '');
			const result = await analyse(c.version, { file: c.file, text });
			const fresh = result.findings.filter((f) => !baseline.get(c.version)!.has(key(f)));
			const lines = text.split('\n');
			const functionAt = (f: Finding) => {
				for (let row = f.range.start.line; row >= 0; row--) {
					const m = /^[a-z].*\b(\w+)\(/.exec(lines[row]);
					if (m && !lines[row].endsWith(';')) return m[1];
				}
				return '';
			};
			expect(fresh.map((f) => `${f.file}:${functionAt(f)}`).sort()).toEqual(c.at);
			for (const f of fresh) {
				expect(f.rule).toBe('gpc-use-before-activate');
				expect(f.message).toBe(`${c.instance} is activated here but initialised nowhere in the indexed tree: kvm_gpc_init() sets up its lock and refresh_lock once, before any activation; initialise it in ${c.owner}`);
				expect(lines[f.range.start.line]).toMatch(/kvm_gpc_activate\(/);
			}
		});
	}
});

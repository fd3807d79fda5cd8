// Precision and reach on the real Debian trees (issue 15): phantom functions,
// the tree's own may-sleep verdicts for KVM's guest-memory helpers, calls
// through the vendor ops tables, and what tree-sitter could not parse.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractFacts, type FileFacts } from '../../server/src/analysis/facts';
import { functionName } from '../../server/src/analysis/flow';
import { OpsTables } from '../../server/src/analysis/ops';
import { errorRegions } from '../../server/src/parse/parser';
import { functionDefinitions } from '../../server/src/parse/definitions';
import { scanTree } from '../../server/src/index/scan';
import { analyzePath, engine } from '../helpers';
import { kernelTree, type KernelVersion } from './trees';

async function factsOf(tree: string, files: string[]): Promise<FileFacts[]> {
	const { parser } = await engine();
	return files.map((file) => {
		const t = parser.parse(readFileSync(join(tree, file), 'latin1'))!;
		try {
			return extractFacts(file, t);
		} finally {
			t.delete();
		}
	});
}

function cFiles(tree: string, dir: string): string[] {
	return readdirSync(join(tree, dir)).flatMap((name) => {
		const rel = `${dir}/${name}`;
		if (statSync(join(tree, rel)).isDirectory()) return cFiles(tree, rel);
		return name.endsWith('.c') ? [rel] : [];
	});
}

describe.each(['6.12', '6.1'] as const)('linux-%s', (version: KernelVersion) => {
	it('takes `else list_for_each_entry(...) { }` in vmwgfx for a statement, not a function every list walk calls', async () => {
		const tree = kernelTree(version);
		const [facts] = await factsOf(tree, ['drivers/gpu/drm/vmwgfx/vmwgfx_validation.c']);
		const names = facts.functions.map((f) => f.name);
		expect(names).not.toContain('list_for_each_entry');
		expect(names).toContain('vmw_validation_res_unreserve');
		// The loop's calls are its function's.
		expect(facts.functions.find((f) => f.name === 'vmw_validation_res_unreserve')!.callees).toContain('vmw_resource_unreserve');
	});

	it('lets the tree decide which guest-memory helpers sleep (kvm_gfn_to_hva_cache_init() does not), and says what it could not parse', async () => {
		const tree = kernelTree(version);
		const r = await analyzePath(tree);
		const maySleep = r.knowledge.maySleep;
		expect(maySleep('kvm_gfn_to_hva_cache_init')).toBeUndefined();
		expect(maySleep('kvm_write_guest')).toMatch(/__copy_to_user\(\)$/);
		expect(maySleep('kvm_read_guest')).toMatch(/__copy_from_user\(\)$/);
		expect(maySleep('kvm_vcpu_map')).toMatch(/might_sleep\(\)$/);
		expect(maySleep('kvm_vcpu_unmap')).toBe('it calls kunmap()');
		expect(maySleep('kvm_vcpu_halt')).toMatch(/schedule\(\)$/);

		// Each notice names functions that use the gpc API and overlap an ERROR region.
		const { parser } = await engine();
		for (const notice of r.unparsed) {
			const t = parser.parse(readFileSync(join(tree, notice.file), 'latin1'))!;
			try {
				const errors = errorRegions(t.rootNode);
				for (const fn of notice.functions) {
					const def = functionDefinitions(t.rootNode).find((d) => `${functionName(d)}()` === fn.name && d.startPosition.row === fn.line);
					expect(def, `${notice.file}: ${fn.name}`).toBeDefined();
					const body = def!.childForFieldName('body')!;
					expect(errors.some(([s, e]) => s < def!.endIndex && e > body.startIndex), `${notice.file}: ${fn.name}`).toBe(true);
				}
			} finally {
				t.delete();
			}
		}
		console.log(`linux-${version}: ${r.unparsed.length} files with unparsed gpc code: ${r.unparsed.map((n) => `${n.file} (${n.functions.map((f) => f.name).join(', ')})`).join('; ')}`);
	});

	it('reports no sleep for kvm_gfn_to_hva_cache_init() under vcpu_info\'s lock, and still reports kvm_write_guest() there', async () => {
		// In memory only: the read of the pending flag in __kvm_xen_has_interrupt() replaced by a call.
		const tree = kernelTree(version);
		const file = 'arch/x86/kvm/xen.c';
		const text = readFileSync(join(tree, file), 'latin1');
		const original = '\trc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;\n';
		expect(text.split(original)).toHaveLength(2);
		const sources = scanTree(tree).sources;
		const withCall = async (call: string) => {
			const injected = text.replace(original, `\t${call};\n`);
			const r = (await engine()).analyze(sources.map((s) => (s.file === file ? { file, read: () => injected } : s)));
			return r.findings.filter((f) => f.rule === 'gpc-sleep-under-lock').map((f) => f.message);
		};
		expect(await withCall('kvm_gfn_to_hva_cache_init(v->kvm, &v->arch.st.cache, gpc->gpa, sizeof(rc))')).toEqual([]);
		const [writeGuest] = await withCall('kvm_write_guest(v->kvm, gpc->gpa, &rc, sizeof(rc))');
		expect(writeGuest).toMatch(/^kvm_write_guest\(\) may sleep: it calls kvm_write_guest_page\(\), which calls __kvm_write_guest_page\(\), which calls __copy_to_user\(\), but v->arch\.xen\.vcpu_info_cache\.lock .* is held$/);
	});

	it('resolves calls through the vendor ops tables to the implementations the tables name', async () => {
		const tree = kernelTree(version);
		const facts = await factsOf(tree, cFiles(tree, 'arch/x86/kvm'));
		const ops = new OpsTables(facts);
		const enter = facts.flatMap((f) => f.functions).find((fn) => fn.name === 'vcpu_enter_guest')!;
		const edges = enter.callees.filter((c) => c.includes('.')).map((c) => `${c} → ${ops.of(c).map((t) => t.impl).sort().join(', ')}`);
		console.log(`linux-${version}: vcpu_enter_guest() calls through the ops tables:\n  ${edges.join('\n  ')}`);
		expect(edges).toContain('kvm_x86_ops.prepare_switch_to_guest → svm_prepare_switch_to_guest, vmx_prepare_switch_to_guest');
		expect(edges).toContain('kvm_x86_ops.vcpu_run → svm_vcpu_run, vmx_vcpu_run');
		const dispatched = facts.flatMap((f) => f.functions.flatMap((fn) => fn.callees.filter((c) => c.includes('.'))));
		const resolved = dispatched.filter((c) => ops.of(c).length);
		console.log(`linux-${version}: ${dispatched.length} calls through kvm_x86_ops/kvm_pmu_ops in arch/x86/kvm, ${resolved.length} resolved to an implementation`);
		expect(resolved.length / dispatched.length).toBeGreaterThan(0.9);
	});
});

// gpc locks carried from callers into callees (analysis/callerLocks.ts): a
// helper is entered with a cache's lock held only when every call of it holds
// that cache's lock, and no call the analysis cannot see may reach it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../server/src/analysis/engine';
import { engine, FIXTURES } from '../helpers';

const TWO_DEEP = readFileSync(join(FIXTURES, 'gpc-check-unlocked/good/helper-under-callers-lock-two-deep-6.12.c'), 'utf8');
const FILE = 'arch/x86/kvm/vmx/nested.c';

/** `neighbours` are read for their call graph only, as the scan reads a gpc file's neighbours. */
function analyze(e: Engine, text: string, neighbours: Record<string, string> = {}) {
	const sources = [{ file: FILE, read: () => text }, ...Object.entries(neighbours).map(([file, t]) => ({ file, read: () => t, summariesOnly: true }))];
	const r = e.analyze(sources);
	return { findings: r.findings.map((f) => `${f.range.start.line + 1}:${f.rule}`), locks: (name: string) => r.knowledgeFor(FILE).callerLocks!(name) };
}

describe('caller-held gpc locks', () => {
	it('enters a helper two calls below the lock with the lock held (no gpc-check-unlocked)', async () => {
		const r = analyze(await engine(), TWO_DEEP);
		expect(r.findings).toEqual([]);
		expect(r.locks('nested_pi_test_and_clear_on')).toEqual(['gpc']);
		expect(r.locks('nested_pi_desc')).toEqual(['gpc']);
		expect(r.locks('vmx_complete_nested_posted_interrupt')).toEqual([]);
	});

	it('still reports the check when the outer caller takes no lock', async () => {
		const unlocked = TWO_DEEP.replace(/\tread_lock_irqsave\(&gpc->lock, flags\);\n/, '').replace(/\tread_unlock_irqrestore\(&gpc->lock, flags\);\n/, '');
		const r = analyze(await engine(), unlocked);
		expect(r.findings).toContain('35:gpc-check-unlocked');
		expect(r.locks('nested_pi_desc')).toEqual([]);
	});

	it('carries nothing when one caller holds the lock and another does not', async () => {
		const mixed = `${TWO_DEEP}
static bool vmx_nested_pi_peek(struct kvm_vcpu *vcpu)
{
	return nested_pi_test_and_clear_on(vcpu, &to_vmx(vcpu)->nested.pi_desc_gpc);
}
`;
		const r = analyze(await engine(), mixed);
		expect(r.locks('nested_pi_test_and_clear_on')).toEqual([]);
	});

	it('carries nothing into a helper the file also names outside a call (an ops table may call it)', async () => {
		const table = `${TWO_DEEP}
static const struct nested_pi_ops pi_ops = {
	.test_and_clear = nested_pi_test_and_clear_on,
};
`;
		const r = analyze(await engine(), table);
		expect(r.locks('nested_pi_test_and_clear_on')).toEqual([]);
	});

	it('carries nothing when a caller elsewhere in the tree was not analysed', async () => {
		const exported = TWO_DEEP.replace('static bool nested_pi_test_and_clear_on', 'bool nested_pi_test_and_clear_on');
		const r = analyze(await engine(), exported, {
			// Read for its call graph only: this call is never analysed.
			'arch/x86/kvm/vmx/posted_intr.c': 'void pi_wakeup(struct kvm_vcpu *vcpu, struct pi_cache *c)\n{\n\tnested_pi_test_and_clear_on(vcpu, c);\n}\n',
		});
		expect(r.locks('nested_pi_test_and_clear_on')).toEqual([]);
	});

	it('maps the held cache through the argument that carries its owner', async () => {
		const owner = TWO_DEEP
			.replace('static bool nested_pi_test_and_clear_on(struct kvm_vcpu *vcpu,\n\t\t\t\t\tstruct gfn_to_pfn_cache *gpc)\n{\n\tstruct pi_desc *pi_desc = nested_pi_desc(gpc);',
				'static bool nested_pi_test_and_clear_on(struct kvm_vcpu *vcpu,\n\t\t\t\t\tstruct vcpu_vmx *vmx)\n{\n\tstruct pi_desc *pi_desc = nested_pi_desc(&vmx->nested.pi_desc_gpc);')
			.replace('nested_pi_test_and_clear_on(vcpu, gpc)', 'nested_pi_test_and_clear_on(vcpu, vmx)');
		const r = analyze(await engine(), owner);
		expect(r.locks('nested_pi_test_and_clear_on')).toEqual(['vmx.nested.pi_desc_gpc']);
		expect(r.locks('nested_pi_desc')).toEqual(['gpc']);
		expect(r.findings).toEqual([]);
	});
});

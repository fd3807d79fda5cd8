// Calls through KVM's vendor ops tables, as the syntax spells them:
// `static_call(kvm_x86_prepare_switch_to_guest)(vcpu)` (6.1),
// `kvm_x86_call(prepare_switch_to_guest)(vcpu)` (6.11+) and
// `kvm_x86_ops.prepare_switch_to_guest(vcpu)` all call
// "kvm_x86_ops.prepare_switch_to_guest". Which functions such a call reaches is
// the tree's ops tables' business (analysis/ops.ts); here only the callee's name,
// so that every reader of a call's callee (parse/nodes.ts calleeName()) sees it.
import type { SyntaxNode } from './parser';

/** The ops structs whose calls are resolved, with the static-call key prefix of each. */
export const OPS = [
	{ struct: 'kvm_pmu_ops', staticCall: 'kvm_x86_pmu_', macro: 'kvm_pmu_call' },
	{ struct: 'kvm_x86_ops', staticCall: 'kvm_x86_', macro: 'kvm_x86_call' },
];

/** "kvm_x86_ops.member" for a call through an ops table (`fn`: the call's function, parentheses stripped). */
export function dispatchedCallee(fn: SyntaxNode): string | undefined {
	if (fn.type === 'call_expression') {
		const macro = fn.childForFieldName('function');
		const arg = fn.childForFieldName('arguments')?.namedChildren.filter((c) => c?.type !== 'comment');
		if (macro?.type !== 'identifier' || arg?.length !== 1 || arg[0]?.type !== 'identifier') return undefined;
		const key = arg[0].text;
		if (macro.text === 'static_call' || macro.text === 'static_call_cond') {
			const ops = OPS.find((o) => key.startsWith(o.staticCall));
			return ops && `${ops.struct}.${key.slice(ops.staticCall.length)}`;
		}
		const ops = OPS.find((o) => o.macro === macro.text);
		return ops && `${ops.struct}.${key}`;
	}
	if (fn.type === 'field_expression') {
		const base = fn.childForFieldName('argument');
		const member = fn.childForFieldName('field')?.text;
		const ops = base?.type === 'identifier' ? OPS.find((o) => o.struct === base.text) : undefined;
		return ops && member ? `${ops.struct}.${member}` : undefined;
	}
	return undefined;
}

/** Whether a callee name is a call through an ops table ("kvm_x86_ops.run"). */
export function isDispatched(callee: string): boolean {
	return callee.includes('.');
}

// Calls through KVM's vendor ops tables. x86.c calls the vendor module through
// `static_call(kvm_x86_prepare_switch_to_guest)(vcpu)` (6.1),
// `kvm_x86_call(prepare_switch_to_guest)(vcpu)` (6.11+) or
// `kvm_x86_ops.prepare_switch_to_guest(vcpu)`, and the tree names the targets in
// its tables: `struct kvm_x86_ops vt_x86_ops = { .prepare_switch_to_guest =
// vmx_prepare_switch_to_guest, ... }`. Such a call is named
// "kvm_x86_ops.prepare_switch_to_guest" and reaches every implementation a
// table of the indexed files names: one of them runs, whichever vendor module
// is loaded, so it may sleep if any of them may.
import type { SyntaxNode } from '../parse/parser';
import type { FileFacts, FunctionFacts } from './facts';

/** The ops structs whose calls are resolved, with the static-call key prefix of each. */
const OPS = [
	{ struct: 'kvm_pmu_ops', staticCall: 'kvm_x86_pmu_', macro: 'kvm_pmu_call' },
	{ struct: 'kvm_x86_ops', staticCall: 'kvm_x86_', macro: 'kvm_x86_call' },
];
const TABLE_DECLARATION = /\bstruct\s+kvm_(?:x86|pmu)_ops\s+\w+[^;=]*=\s*\{/;

export interface OpsEntry {
	struct: string;
	table: string;
	member: string;
	impl: string;
}

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

export function isDispatched(callee: string): boolean {
	return callee.includes('.');
}

/** The ops tables a file defines: `struct kvm_x86_ops vmx_x86_ops = { .run = vmx_vcpu_run, ... }`. */
export function opsTables(root: SyntaxNode): OpsEntry[] {
	if (!TABLE_DECLARATION.test(root.text)) return [];
	const out: OpsEntry[] = [];
	for (const decl of root.descendantsOfType('declaration')) {
		const type = decl?.childForFieldName('type');
		const struct = type?.type === 'struct_specifier' ? type.childForFieldName('name')?.text : undefined;
		if (!decl || !struct || !OPS.some((o) => o.struct === struct)) continue;
		for (const init of decl.childrenForFieldName('declarator')) {
			const value = init.type === 'init_declarator' ? init.childForFieldName('value') : null;
			if (value?.type !== 'initializer_list') continue;
			// `struct kvm_x86_ops vt_x86_ops __initdata = {`: tree-sitter takes the annotation for the name.
			const table = /^struct\s+\w+\s+(\w+)/.exec(decl.text)?.[1] ?? struct;
			for (const pair of value.namedChildren) {
				if (pair?.type !== 'initializer_pair') continue;
				const designator = pair.childForFieldName('designator');
				const impl = pair.childForFieldName('value');
				if (designator?.type === 'field_designator' && impl?.type === 'identifier') {
					out.push({ struct, table, member: designator.text.replace(/^\./, ''), impl: impl.text });
				}
			}
		}
	}
	return out;
}

export interface DispatchTarget {
	impl: string;
	table: string;
	/** The file of the table: a `static` implementation is that file's own. */
	file: string;
}

/** Every table of the indexed files, by dispatched callee ("kvm_x86_ops.run"). */
export class OpsTables {
	private readonly targets = new Map<string, DispatchTarget[]>();

	constructor(facts: readonly FileFacts[]) {
		for (const f of facts) {
			for (const e of f.opsTables ?? []) {
				const key = `${e.struct}.${e.member}`;
				const list = this.targets.get(key) ?? [];
				if (!list.some((t) => t.impl === e.impl && t.file === f.file)) list.push({ impl: e.impl, table: e.table, file: f.file });
				this.targets.set(key, list);
			}
		}
	}

	/** The implementations a dispatched call reaches; [] for any other callee. */
	of(callee: string): DispatchTarget[] {
		return isDispatched(callee) ? this.targets.get(callee) ?? [] : [];
	}

	/** The callee names a call reaches: the implementations for a dispatched call, the callee itself otherwise. */
	expand(callee: string): string[] {
		return isDispatched(callee) ? this.of(callee).map((t) => t.impl) : [callee];
	}

	/**
	 * The facts with each dispatched call replaced by calls of its implementations: the call
	 * graph the atomic contexts and the relevance of functions follow. Unchanged functions are
	 * the same objects.
	 */
	expanded(facts: readonly FileFacts[]): FileFacts[] {
		if (!this.targets.size) return [...facts];
		return facts.map((f) => {
			if (!f.functions.some((fn) => fn.callees.some(isDispatched))) return f;
			return { ...f, functions: f.functions.map((fn) => (fn.callees.some(isDispatched) ? this.expandFunction(fn) : fn)) };
		});
	}

	private expandFunction(fn: FunctionFacts): FunctionFacts {
		// `calls` and `callLines` stay parallel: an implementation's call sits at the dispatch's line.
		const lines = new Map<string, number | undefined>();
		fn.calls.forEach((c, i) => {
			const open = c.indexOf('(');
			const callee = open < 0 ? c : c.slice(0, open);
			for (const impl of this.expand(callee)) {
				const call = impl + c.slice(callee.length);
				if (!lines.has(call)) lines.set(call, fn.callLines?.[i]);
			}
		});
		const expanded: FunctionFacts = { ...fn, callees: [...new Set(fn.callees.flatMap((c) => this.expand(c)))], calls: [...lines.keys()] };
		if (fn.callLines) expanded.callLines = [...lines.values()] as number[];
		return expanded;
	}
}

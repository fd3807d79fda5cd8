// What the plan needs of struct gfn_to_pfn_cache and of the structs that hold
// one: the fields that go, and the member names that type `v->arch.pv_time.usage`.
import type { SyntaxNode } from '../parse/parser';
import { nodesMatching, wordsPattern, type UsageFile } from './files';
import { isUsageParam, isVcpuParam } from './syntax';
import { type Param } from '../parse/declarations';

const GPC_STRUCT = 'gfn_to_pfn_cache';

export interface StructFacts {
	/** Names of struct members of type struct gfn_to_pfn_cache. */
	gpcMembers: string[];
	/** Usage and vCPU fields of struct gfn_to_pfn_cache. */
	removedFields: string[];
	/** The file defines a field of struct gfn_to_pfn_cache. */
	definesStruct: boolean;
}

/** One file's part. */
export function structFactsOf(f: UsageFile): StructFacts {
	const facts: StructFacts = { gpcMembers: [], removedFields: [], definesStruct: false };
	for (const decl of nodesMatching(f, wordsPattern([GPC_STRUCT]), 'field_declaration')) {
		const type = decl.childForFieldName('type');
		if (type?.type !== 'struct_specifier' || type.childForFieldName('name')?.text !== GPC_STRUCT) continue;
		for (const d of decl.childrenForFieldName('declarator')) {
			const name = d.text.replace(/^[\s*]+/, '');
			if (/^\w+$/.test(name)) facts.gpcMembers.push(name);
		}
	}
	for (const decl of gpcStructFields(f)) {
		facts.definesStruct = true;
		const param = fieldAsParam(decl);
		if (param && (isUsageParam(param) || isVcpuParam(param))) facts.removedFields.push(param.name);
	}
	return facts;
}

/** The files' parts joined, in file order. */
export function joinStructFacts(parts: readonly StructFacts[]): { gpcMembers: Set<string>; removedFields: Set<string> } {
	const gpcMembers = new Set(parts.flatMap((p) => p.gpcMembers));
	const removedFields = new Set(parts.flatMap((p) => p.removedFields));
	// No struct definition indexed (a tree without kvm_types.h): the upstream field names.
	if (!parts.some((p) => p.definesStruct)) for (const n of ['usage', 'vcpu']) removedFields.add(n);
	return { gpcMembers, removedFields };
}

/** The fields of every definition of struct gfn_to_pfn_cache in the file, in document order. */
export function gpcStructFields(f: UsageFile): SyntaxNode[] {
	return nodesMatching(f, wordsPattern([GPC_STRUCT]), 'struct_specifier')
		.filter((s) => s.childForFieldName('name')?.text === GPC_STRUCT)
		.flatMap((s) => s.childForFieldName('body')?.namedChildren.filter((c): c is SyntaxNode => c?.type === 'field_declaration') ?? [])
		// A definition nested in another's field comes after the outer one's fields that precede it.
		.sort((a, b) => a.startIndex - b.startIndex);
}

export function fieldAsParam(decl: SyntaxNode): Param | undefined {
	const ds = decl.childrenForFieldName('declarator');
	if (ds.length !== 1) return undefined;
	const t = decl.childForFieldName('type');
	return { node: decl, name: ds[0].text.replace(/^[\s*]+/, ''), type: t ? t.text.replace(/\s+/g, ' ') : '', pointer: /^\s*\*/.test(ds[0].text) };
}

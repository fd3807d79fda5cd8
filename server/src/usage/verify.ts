// The rewrite's last step, per file: every mention of the machinery must be
// inside text the plan removes; anything else is a refusal naming its line.
import { variableTypes } from '../analysis/flow';
import { enclosingDefinition } from '../parse/definitions';
import type { SyntaxNode } from '../parse/parser';
import { references } from './bodies';
import type { UsageFunction } from './census';
import { errorAt, type UsageFile } from './files';
import { emptyPart, oneLine, refuse, where, type FilePart } from './output';
import { usageIndexes, type Drop } from './signatures';
import { declaredFunction, descendants, parametersOf, USAGE_ENUM } from './syntax';

export interface VerifyContext {
	functions: ReadonlyMap<string, UsageFunction>;
	drops: ReadonlyMap<string, Drop>;
	members: ReadonlyMap<string, number>;
	removedFields: ReadonlySet<string>;
	gpcMembers: ReadonlySet<string>;
}

/** The refusals for what `removed` (the file's removed text) leaves behind. */
export function verifyFile(f: UsageFile, ctx: VerifyContext, removed: readonly [number, number][]): FilePart {
	const out = emptyPart();
	const types = new Map<number, Map<string, string>>();
	const gone = (n: SyntaxNode) => removed.some(([s, e]) => n.startIndex >= s && n.endIndex <= e);
	const leftover = (n: SyntaxNode, what: string) => {
		const err = errorAt(f, n.startIndex, n.endIndex);
		refuse(out, f, n.startIndex, err
			? `tree-sitter could not parse the region around ${where(f, err[0])}, which mentions ${what}; edit it by hand`
			: `${what} is still used here; gpcscope does not know how to remove it`);
	};
	for (const n of descendants(f.tree.rootNode)) {
		if ((n.type === 'identifier' && ctx.members.has(n.text)) || (n.type === 'type_identifier' && n.text === USAGE_ENUM)) {
			if (!gone(n)) leftover(n, `\`${n.text}\``);
		} else if (n.type === 'function_definition') {
			const fn = declaredFunction(n);
			const drop = fn && ctx.drops.get(fn.name);
			const body = n.childForFieldName('body');
			if (!fn || !drop || !body) continue;
			const params = parametersOf(fn.declarator);
			const indexes = drop.usage ? usageIndexes(ctx, drop, params) : drop.indexes;
			for (const i of indexes) {
				const name = params[i]?.name;
				if (name) for (const r of references(body, name)) if (!gone(r)) leftover(r, `the dropped parameter \`${name}\``);
			}
		} else if (n.type === 'field_expression' && ctx.removedFields.has(n.childForFieldName('field')?.text ?? '')) {
			const def = enclosingDefinition(n);
			const base = n.childForFieldName('argument');
			if (!def || !base) continue;
			const defTypes = types.get(def.id) ?? variableTypes(def);
			types.set(def.id, defTypes);
			const gpc = (base.type === 'identifier' && defTypes.get(base.text) === 'gfn_to_pfn_cache') ||
				(base.type === 'field_expression' && ctx.gpcMembers.has(base.childForFieldName('field')?.text ?? ''));
			if (gpc && !gone(n)) leftover(n, `\`${oneLine(n.text)}\``);
		}
	}
	return out;
}

// The cross-file part: lifecycle sites of every cache instance (helpers that
// activate or deactivate the cache they are given count at their call sites)
// and the tree rules over them.
import type { FileFacts } from './facts';
import type { Finding } from './findings';
import { severityOf, type FilePass, type TreeContext } from './filePass';
import { TREE_RULES } from './rules';
import type { LifecycleSite, TreeCallGraph } from './rules/treeRule';
import { rangeOf } from '../parse/positions';
import { ruleInfo } from '../catalogue';

/**
 * A helper that deactivates (or activates) the cache it is given stands for that
 * lifecycle step at each of its call sites: `release(&vcpu->arch.xen.vcpu_info_cache)`.
 */
export function helperLifecycle(passes: FilePass[], ctx: TreeContext): LifecycleSite[] {
	const helpers = new Map<string, { role: LifecycleSite['role']; parameter: number }[]>();
	for (const pass of passes) {
		for (const { analysis } of pass.analyses) {
			for (const call of analysis.calls) {
				const api = ctx.knowledge.api.get(call.callee);
				if (!api || !['activate', 'deactivate', 'init'].includes(api.role)) continue;
				const parameter = analysis.params.indexOf(call.argPaths[api.gpc] ?? '');
				if (parameter < 0) continue;
				const list = helpers.get(analysis.name) ?? [];
				list.push({ role: api.role as LifecycleSite['role'], parameter });
				helpers.set(analysis.name, list);
			}
		}
	}
	const sites: LifecycleSite[] = [];
	for (const pass of passes) {
		for (const { analysis, types, file } of pass.analyses) {
			for (const call of analysis.calls) {
				for (const h of helpers.get(call.callee) ?? []) {
					const path = call.argPaths[h.parameter];
					const instance = path && ctx.instanceId(path, types);
					if (instance) sites.push({ instance, role: h.role, file, range: rangeOf(call.node), functionName: analysis.name });
				}
			}
		}
	}
	return sites;
}

/** The call graph of every indexed file, for the tree rules. */
export function treeCallGraph(facts: readonly FileFacts[], hasInit: boolean): TreeCallGraph {
	let names: Set<string> | undefined;
	return {
		hasInit,
		defines: (name) => (names ??= new Set(facts.flatMap((f) => f.functions.map((fn) => fn.name)))).has(name),
		callers: (name) => facts.flatMap((f) => f.functions.filter((fn) => fn.callees.includes(name)).map((fn) => fn.name)),
	};
}

export function treeFindings(lifecycle: Map<string, LifecycleSite[]>, ctx: TreeContext, calls: TreeCallGraph): Finding[] {
	const out: Finding[] = [];
	for (const rule of TREE_RULES) {
		if (!ctx.enabled.has(rule.id)) continue;
		const severity = severityOf(rule.id, ctx.options);
		if (!severity) continue;
		rule.check(lifecycle, (at, message, related = []) => {
			if (ctx.implementationFiles.has(at.file) && ruleInfo(rule.id).readerOnly) return;
			out.push({
				rule: rule.id, severity, file: at.file, range: at.range, message,
				related: related.map((r) => ({ file: r.site.file, range: r.site.range, message: r.message })),
			});
		}, calls);
	}
	return out;
}

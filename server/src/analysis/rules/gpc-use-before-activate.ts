import { displayPath } from '../paths';
import type { TreeRule } from './treeRule';
import type { FunctionRule } from './types';

export const gpcUseBeforeActivate: FunctionRule = {
	id: 'gpc-use-before-activate',
	create: (ctx) => {
		// Once per function and cache: the first check or use on the inactive path.
		const reported = new Set<string>();
		return {
		observe(o) {
			const isUse = o.kind === 'use' && !o.derived;
			const isCheck = o.kind === 'gpcCall' && (o.api.role === 'check' || o.api.role === 'refresh');
			if ((!isUse && !isCheck) || o.state.life !== 'inactive' || reported.has(o.instance)) return;
			reported.add(o.instance);
			const what = o.kind === 'gpcCall' ? `${o.api.name}()` : o.node.text.replace(/\s+/g, ' ');
			const since = o.state.lifeSite?.text.startsWith('kvm_gpc_init') ? 'initialised but not activated' : 'deactivated';
			ctx.report(
				o.node,
				`${what} on ${displayPath(o.instance)}, which is ${since} on this path`,
				o.state.lifeSite ? [{ node: o.state.lifeSite, message: since }] : [],
			);
		},
		};
	},
};

/** The struct that holds the cache: "kvm_vcpu_xen.runstate_cache" → "kvm_vcpu_xen". */
const owner = (instance: string) => instance.slice(0, Math.max(instance.lastIndexOf('.'), 0)) || instance;

/**
 * Cross-file: a cache that is checked but activated nowhere in the tree, where the tree
 * does initialise it or activates its sibling caches (so the lifecycle is in view).
 */
export const gpcUseBeforeActivateTree: TreeRule = {
	id: gpcUseBeforeActivate.id,
	check(instances, report) {
		const activatedOwners = new Set([...instances].filter(([, sites]) => sites.some((s) => s.role === 'activate')).map(([k]) => owner(k)));
		for (const [key, sites] of instances) {
			if (sites.some((s) => s.role === 'activate')) continue;
			const inits = sites.filter((s) => s.role === 'init');
			if (!inits.length && !activatedOwners.has(owner(key))) continue;
			const firstPerFunction = new Map<string, (typeof sites)[number]>();
			for (const s of sites.filter((x) => x.role === 'check' || x.role === 'refresh')) {
				const k = `${s.file}:${s.functionName}`;
				const seen = firstPerFunction.get(k);
				if (!seen || s.range.start.line < seen.range.start.line) firstPerFunction.set(k, s);
			}
			for (const s of firstPerFunction.values()) {
				report(s, `${key} is checked here but activated nowhere in the indexed tree${inits.length ? ' (it is only initialised)' : ''}: the check can never succeed, or the activation is missing`, inits.map((i) => ({ site: i, message: 'initialised here' })));
			}
		}
	},
};

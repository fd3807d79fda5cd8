// Cross-file: every activated instance (owner struct + field) must be
// deactivated in its owner's teardown. A teardown is a function that
// deactivates caches and activates none; when the teardown of an owner type
// deactivates some of its caches but not this one, it is reported there.
import type { LifecycleSite, TreeRule } from './treeRule';

/** The struct that holds the cache: "kvm_vcpu_xen.runstate_cache" → "kvm_vcpu_xen". */
const ownerType = (instance: string) => instance.slice(0, Math.max(instance.lastIndexOf('.'), 0)) || instance;

export const gpcMissingDeactivate: TreeRule = {
	id: 'gpc-missing-deactivate',
	check(instances, report) {
		const all = [...instances.values()].flat();
		const activatesIn = new Set(all.filter((s) => s.role === 'activate').map((s) => `${s.file}:${s.functionName}`));
		const teardown = all.filter((s) => s.role === 'deactivate' && !activatesIn.has(`${s.file}:${s.functionName}`));
		for (const [key, sites] of instances) {
			const activations = sites.filter((s) => s.role === 'activate');
			if (!activations.length) continue;
			const tornDown = teardown.some((s) => s.instance === key);
			if (tornDown) continue;
			const siblings = teardown.filter((s) => ownerType(s.instance) === ownerType(key));
			if (siblings.length) {
				const last = siblings.reduce((a, b) => (b.range.start.line > a.range.start.line && b.file === a.file ? b : a));
				report(last, `${key} is activated (${where(activations[0])}) but ${last.functionName}(), which deactivates the other ${ownerType(key)} caches, does not deactivate it`, activations.map((a) => ({ site: a, message: 'activated here' })));
				continue;
			}
			if (sites.some((s) => s.role === 'deactivate')) {
				// Deactivated only where it is also (re)activated: no teardown releases it.
				for (const a of activations) report(a, `${key} is activated here and deactivated only when it is reconfigured: no teardown of ${ownerType(key)} deactivates it`, []);
				continue;
			}
			for (const a of activations) report(a, `${key} is activated here but never deactivated in the indexed tree: its mapping and notifier registration outlive the owner`, []);
		}
	},
};

const where = (s: LifecycleSite) => `${s.file}:${s.range.start.line + 1}`;

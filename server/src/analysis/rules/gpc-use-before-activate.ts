import { displayPath } from '../paths';
import type { LifecycleSite, TreeCallGraph, TreeRule } from './treeRule';
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
	check(instances, report, calls) {
		neverInitialised(instances, report, calls);
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

/** Teardown names and the constructors they undo: kvm_arch_vcpu_destroy ↔ kvm_arch_vcpu_create, kvm_xen_destroy_vcpu ↔ kvm_xen_init_vcpu. */
const TEARDOWN = /(destroy|uninit|free|teardown|fini|exit|release|cleanup)/;
const CONSTRUCTORS = ['create', 'init', 'alloc', 'setup'];

/**
 * Since 6.1, kvm_gpc_init() sets up the cache's rwlock and refresh_lock once, before any
 * activation (52491a38b2c2 moved it out of activate to fix a race). In a tree that has it,
 * a cache activated but initialised nowhere runs on locks never set up: reported at its
 * first activation in each function, naming where its owner initialises its caches.
 */
function neverInitialised(instances: Map<string, LifecycleSite[]>, report: Parameters<TreeRule['check']>[1], calls: TreeCallGraph | undefined): void {
	if (!calls?.hasInit) return;
	for (const [key, sites] of instances) {
		if (sites.some((s) => s.role === 'init')) continue;
		const activations = sites.filter((s) => s.role === 'activate');
		if (!activations.length) continue;
		const siblingInits = [...instances].filter(([k]) => k !== key && owner(k) === owner(key)).flatMap(([, s]) => s.filter((x) => x.role === 'init'));
		const initFunctions = [...new Set(siblingInits.map((s) => s.functionName))];
		const where = initFunctions.length
			? `${initFunctions.map((f) => `${f}()`).join(' or ')}, where its sibling caches are initialised`
			: constructorOf(sites, calls);
		const firstPerFunction = new Map<string, LifecycleSite>();
		for (const s of activations) {
			const k = `${s.file}:${s.functionName}`;
			const seen = firstPerFunction.get(k);
			if (!seen || s.range.start.line < seen.range.start.line) firstPerFunction.set(k, s);
		}
		for (const s of firstPerFunction.values()) {
			report(
				s,
				`${key} is activated here but initialised nowhere in the indexed tree: kvm_gpc_init() sets up its lock and refresh_lock once, before any activation; ` +
					(where ? `initialise it in ${where}` : 'initialise it in its owner\'s constructor'),
				siblingInits.slice(0, 4).map((i) => ({ site: i, message: `${i.instance} is initialised here` })),
			);
		}
	}
}

/** The owner's constructor, as the counterpart of a teardown that deactivates the cache (or calls what does). */
function constructorOf(sites: LifecycleSite[], calls: TreeCallGraph | undefined): string | undefined {
	if (!calls) return undefined;
	const deactivating = [...new Set(sites.filter((s) => s.role === 'deactivate').map((s) => s.functionName))];
	for (const fn of [...deactivating, ...deactivating.flatMap((f) => calls.callers(f))]) {
		const m = TEARDOWN.exec(fn);
		if (!m) continue;
		for (const c of CONSTRUCTORS) {
			const candidate = fn.replace(m[0], c);
			if (calls.defines(candidate)) return `${candidate}(), the constructor that ${fn}() undoes`;
		}
	}
	return undefined;
}

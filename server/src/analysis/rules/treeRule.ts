// Rules that judge facts gathered across the whole indexed tree.
import type { Range } from '../findings';
import type { RuleId } from '../../catalogue';

export interface LifecycleSite {
	/** Owner struct + field, e.g. "kvm_vcpu.arch.xen.runstate_cache". */
	instance: string;
	role: 'init' | 'activate' | 'deactivate' | 'check' | 'refresh';
	file: string;
	range: Range;
	functionName: string;
	len?: string;
	gpa?: string;
}

/** What a tree rule may ask of the indexed tree's call graph and API. */
export interface TreeCallGraph {
	/** The tree's API era has kvm_gpc_init() (6.1+): every cache must be initialised before activation. */
	hasInit: boolean;
	/** Whether the tree defines a function of this name. */
	defines(name: string): boolean;
	/** The functions that call `name`. */
	callers(name: string): string[];
}

export interface TreeRule {
	id: RuleId;
	check(
		instances: Map<string, LifecycleSite[]>,
		report: (at: LifecycleSite, message: string, related?: { site: LifecycleSite; message: string }[]) => void,
		calls?: TreeCallGraph,
	): void;
}

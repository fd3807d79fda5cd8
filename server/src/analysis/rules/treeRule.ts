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

export interface TreeRule {
	id: RuleId;
	check(
		instances: Map<string, LifecycleSite[]>,
		report: (at: LifecycleSite, message: string, related?: { site: LifecycleSite; message: string }[]) => void,
	): void;
}

import type { SyntaxNode } from '../../parse/parser';
import { displayPath } from '../paths';
import type { FunctionRule, Related } from './types';

export const gpcUseUnchecked: FunctionRule = {
	id: 'gpc-use-unchecked',
	create: (ctx) => {
		// One report per lock hold: the first unchecked use explains the rest.
		const reportedHolds = new Set<SyntaxNode>();
		return {
			observe(o) {
				if (o.kind !== 'use' || o.derived) return;
				const { state } = o;
				const what = o.node.text.replace(/\s+/g, ' ');
				const inst = displayPath(o.instance);
				const related: Related[] = [];
				if (state.held === 'yes' && state.valid === 'no') {
					if (state.hold) {
						if (reportedHolds.has(state.hold.site)) return;
						reportedHolds.add(state.hold.site);
						related.push({ node: state.hold.site, message: 'lock taken here' });
					}
					related.push({ node: o.node, message: `${what} used here` });
					if (state.ignoredCheck) {
						ctx.report(state.ignoredCheck, `the result of this check of ${inst} is ignored: ${what} is used below even if the cache is invalid`, related);
						return;
					}
					if (state.refreshedAfter) {
						ctx.report(state.refreshedAfter, `after kvm_gpc_refresh() the lock is taken again but ${inst} is not checked again before ${what} is used: another invalidation may have landed; make this check a loop`, related);
						return;
					}
					if (state.foreignCheck) {
						ctx.report(state.foreignCheck.site, `this checks ${displayPath(state.foreignCheck.instance)}, but ${what} of ${inst} is used below under ${inst}.lock without a check of ${inst}: the wrong cache?`, related);
						return;
					}
					if (state.failedSite) {
						related.push({ node: state.failedSite, message: 'this check failed on the path to the use' });
						ctx.report(o.node, `${what} used where the check of ${inst} failed: the mapping is not valid`, related);
						return;
					}
					ctx.report(o.node, `${what} used without a successful check of ${inst} under the current lock hold`, related);
					return;
				}
				if (state.held === 'no' && !state.dropped && state.valid === 'no') {
					ctx.report(o.node, `${what} used without holding ${inst}.lock and without a check`, related);
				}
			},
		};
	},
};

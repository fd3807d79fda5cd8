import { displayPath } from '../paths';
import type { FunctionRule, Related } from './types';

export const gpcUseAfterUnlock: FunctionRule = {
	meta: {
		id: 'gpc-use-after-unlock',
		severity: 'error',
		summary: 'khva/pfn used after the lock that validated it was dropped',
		readerOnly: true,
	},
	create: (ctx) => {
		// One report per function and field for a pointer another function stored: the first use explains the rest.
		const reportedEscapes = new Set<string>();
		return {
			observe(o) {
				if (o.kind !== 'use') return;
				const { state } = o;
				const what = o.derived ? `\`${displayPath(o.derived.name)}\` (derived from ${displayPath(o.instance)}.khva)` : o.node.text.replace(/\s+/g, ' ');
				const related: Related[] = [];
				if (state.dropped) related.push({ node: state.dropped.unlock, message: 'lock dropped here' });
				if (state.dropped?.check) related.push({ node: state.dropped.check, message: 'validated by this check' });
				if (o.derived?.pointer.escaped) {
					// Stored in a field by another function: a pointer from a hold this one never saw.
					if (o.derived.pointer.stale !== 'yes' || reportedEscapes.has(o.derived.name)) return;
					reportedEscapes.add(o.derived.name);
					ctx.report(o.node, `\`${displayPath(o.derived.name)}\` points into ${displayPath(o.instance)}'s mapping and is ${o.access === 'write' ? 'written' : 'read'} here without ${displayPath(o.instance)}.lock held: the mapping may have been invalidated since it was stored`, [
						{ node: o.derived.pointer.site, file: o.derived.pointer.file, message: 'stored here' },
					]);
					return;
				}
				if (o.derived) {
					if (o.derived.pointer.stale !== 'yes') return;
					related.push({ node: o.derived.pointer.site, file: o.derived.pointer.file, message: 'pointer taken here' });
					const why = state.held === 'yes' ? 'after the lock it was taken under was dropped and re-taken; the mapping may have moved' : 'after the lock was dropped';
					ctx.report(o.node, `${what} ${o.access === 'write' ? 'written' : 'read'} ${why}`, related);
					return;
				}
				if (state.held === 'no' && state.dropped) {
					ctx.report(o.node, `${what} ${o.access === 'write' ? 'written' : 'read'} after ${displayPath(o.instance)}.lock was dropped: the mapping may already be invalid`, related);
				}
			},
		};
	},
};

import type { SyntaxNode } from '../../parse/parser';
import { displayPath } from '../paths';
import type { FunctionRule, Related } from './types';

export const gpcUseAfterUnlock: FunctionRule = {
	meta: {
		id: 'gpc-use-after-unlock',
		severity: 'error',
		summary: 'khva/pfn, or the memslot/gpa/uhva/generation fields, used after the lock that validated them was dropped',
		readerOnly: true,
	},
	create: (ctx) => {
		// One finding per statement and dropped hold: `mark_page_dirty_in_slot(kvm, gpc->memslot, gpc->gpa >> PAGE_SHIFT)` reads two.
		const reportedFieldReads = new Set<string>();
		// One report per function and field for a pointer another function stored: the first use explains the rest.
		const reportedEscapes = new Set<string>();
		return {
			observe(o) {
				if (o.kind === 'fieldRead') {
					const { state } = o;
					if (state.held !== 'no' || !state.dropped) return;
					const stmt = enclosingStatement(o.node);
					const key = `${state.dropped.unlock.startIndex}:${stmt.startIndex}`;
					if (reportedFieldReads.has(key)) return;
					reportedFieldReads.add(key);
					const base = o.node.childForFieldName('argument')?.text ?? '';
					const read = stmt.descendantsOfType('field_expression').filter((f) => f?.childForFieldName('argument')?.text === base && REFRESHED.test(f.childForFieldName('field')?.text ?? ''));
					// gpa alone is the address the owner activated the cache with: only an activation by
					// the owner, under the owner's own lock, changes it. Read with memslot it is a pair.
					if (read.every((f) => f?.childForFieldName('field')?.text === 'gpa')) return;
					const fields = [...new Set(read.map((f) => `\`${f!.text.replace(/\s+/g, '')}\``))];
					const related: Related[] = [{ node: state.dropped.unlock, message: 'lock dropped here' }];
					if (state.dropped.check) related.push({ node: state.dropped.check, message: 'validated by this check' });
					ctx.report(
						o.node,
						`${fields.join(' and ') || `\`${o.node.text}\``} read after ${displayPath(o.instance)}.lock was dropped: the refresher rewrites memslot, gpa, uhva and generation together under the write lock, so ${fields.length > 1 ? 'these may come from different refreshes (a memslot and a gfn that do not match)' : 'this may not be the mapping that was validated'}; read them before the unlock`,
						related,
					);
					return;
				}
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

const REFRESHED = /^(memslot|gpa|uhva|generation)$/;

/** The statement (or declaration) a read is part of. */
function enclosingStatement(node: SyntaxNode): SyntaxNode {
	let cur = node;
	while (cur.parent && !/(_statement|^declaration)$/.test(cur.type) && cur.parent.type !== 'compound_statement') cur = cur.parent;
	return cur;
}

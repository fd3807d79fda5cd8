// Lengths must agree: within a function, a check and the refresh that
// retries it; across the tree, every constant length used with an instance.
import type { SyntaxNode } from '../../parse/parser';
import { displayPath } from '../paths';
import type { LifecycleSite, TreeRule } from './treeRule';
import type { FunctionRule } from './types';

const normalise = (text: string) => text.replace(/\s+/g, '');
const display = (text: string) => text.replace(/\s+/g, ' ').trim();
/** Lengths fixed at build time: sizeof, numbers, PAGE_SIZE and arithmetic on them. */
export const CONSTANT_LENGTH = /^(?:sizeof\s*\((?:struct|union)?\s*\w+\s*\)|\d+[uUlL]*|PAGE_SIZE|[\s+*()-])+$/;

export const gpcLenMismatch: FunctionRule = {
	id: 'gpc-len-mismatch',
	create: (ctx) => {
		const sites: { instance: string; len: string; text: string; node: SyntaxNode; api: string }[] = [];
		return {
			observe(o) {
				if (o.kind !== 'gpcCall' || (o.api.role !== 'check' && o.api.role !== 'refresh') || o.api.len === undefined) return;
				const lenNode = o.args[o.api.len];
				if (lenNode && !sites.some((s) => s.node === o.node)) sites.push({ instance: o.instance, len: normalise(lenNode.text), text: lenNode.text, node: o.node, api: o.api.name });
			},
			finish() {
				sites.sort((a, b) => a.node.startIndex - b.node.startIndex);
				const first = new Map<string, (typeof sites)[number]>();
				for (const s of sites) {
					const seen = first.get(s.instance);
					if (!seen) {
						first.set(s.instance, s);
						continue;
					}
					// Constant lengths are judged tree-wide (gpcLenMismatchTree).
					if (seen.len === s.len || (CONSTANT_LENGTH.test(seen.len) && CONSTANT_LENGTH.test(s.len))) continue;
					ctx.report(s.node, `${s.api}() on ${displayPath(s.instance)} with length \`${display(s.text)}\`, but the check above uses \`${display(seen.text)}\`: a refresh must map what the check needs`, [{ node: seen.node, message: `length ${display(seen.text)} here` }]);
				}
			},
		};
	},
};

const PAGE_SIZE = 4096;

/** The value of a numeric length, when it is one (`PAGE_SIZE`, `64`, `0x40`). */
function numeric(text: string): number | undefined {
	const t = normalise(text).replace(/[uUlL]+$/, '');
	if (t === 'PAGE_SIZE') return PAGE_SIZE;
	return /^(0x[0-9a-fA-F]+|\d+)$/.test(t) ? Number(t) : undefined;
}

/** offset_in_page() of a constant gpa: a literal, or `(gfn << PAGE_SHIFT) + C`. */
function pageOffset(gpa: string): number | undefined {
	const t = normalise(gpa).replace(/[uUlL]+(?=$|\))/g, '');
	const literal = numeric(t);
	if (literal !== undefined) return literal % PAGE_SIZE;
	const m = /^\(?\w+<<PAGE_SHIFT\)?\+(0x[0-9a-fA-F]+|\d+)$/.exec(t);
	return m ? Number(m[1]) % PAGE_SIZE : undefined;
}

/**
 * Constant lengths of one instance across the tree. When every activation agrees, the
 * activation is the reference and differing checks/refreshes are reported; when the
 * activations disagree, the odd ones out (by majority) are. A constant gpa whose
 * offset plus length crosses a page is reported at the activation.
 */
export const gpcLenMismatchTree: TreeRule = {
	id: gpcLenMismatch.id,
	check(instances, report) {
		for (const [key, all] of instances) {
			for (const a of all.filter((s) => s.role === 'activate' && s.len && s.gpa)) {
				const offset = pageOffset(a.gpa!);
				const len = numeric(a.len!);
				if (offset !== undefined && len !== undefined && offset + len > PAGE_SIZE) {
					report(a, `${key} activated at page offset ${offset} with length ${len}: ${offset + len} > PAGE_SIZE, a gpc maps at most one page`);
				}
			}
			const constant = all.filter((s) => s.len && (s.role === 'activate' || s.role === 'check' || s.role === 'refresh') && CONSTANT_LENGTH.test(s.len));
			const activations = constant.filter((s) => s.role === 'activate');
			const activationLens = new Set(activations.map((s) => normalise(s.len!)));
			if (activationLens.size === 1) {
				const ref = [...activationLens][0];
				for (const s of constant) {
					if (s.role === 'activate' || normalise(s.len!) === ref) continue;
					report(s, `length \`${display(s.len!)}\` for ${key}, which is activated with \`${display(activations[0].len!)}\`: checks and refreshes must use the activation length`, activations.slice(0, 3).map((a) => ({ site: a, message: `activated with ${display(a.len!)} here` })));
				}
				continue;
			}
			const counts = new Map<string, LifecycleSite[]>();
			for (const s of constant) counts.set(normalise(s.len!), [...(counts.get(normalise(s.len!)) ?? []), s]);
			if (counts.size < 2) continue;
			const ranked = [...counts.entries()].sort((a, b) => b[1].length - a[1].length);
			const majority = ranked[0][1];
			for (const [, odd] of ranked.slice(1)) {
				for (const s of odd) {
					report(s, `length \`${display(s.len!)}\` for ${key}, but ${majority.length} other site(s) use \`${display(majority[0].len!)}\`: activation, checks and refreshes must agree`, majority.slice(0, 3).map((m) => ({ site: m, message: `\`${display(m.len!)}\` here` })));
				}
			}
		}
	},
};

// The `#if` shape family of the normalisation (normalise.ts): a conditional group inside an
// expression or splitting a statement keeps its first branch, the others are hidden.
import { IDENT, PUNCT, type Directive, type Tokens } from './tokens';

/** Code worth analysing; a branch mentioning it is never hidden. */
const RELEVANT = /gpc|khva|pfn_cache|USES_PFN|lock|refresh|guard/i;

/**
 * `#if` groups that sit inside an expression or a statement: blank their directives and keep
 * their first branch (the second after `#if 0`); see the top of the file.
 */
export function conditionalGroups(
	text: string, t: Tokens, tok: (i: number) => string, blank: (s: number, e: number) => void, hidden: [number, number][], dead: Uint8Array,
): void {
	interface Group { directives: Directive[] }
	const groups: Group[] = [];
	const open: Group[] = [];
	for (const d of t.directives) {
		if (d.keyword === 'if' || d.keyword === 'ifdef' || d.keyword === 'ifndef') {
			const g = { directives: [d] };
			open.push(g);
			continue;
		}
		const g = open[open.length - 1];
		if (!g) continue;
		if (d.keyword === 'elif' || d.keyword === 'else' || d.keyword === 'elifdef' || d.keyword === 'elifndef') g.directives.push(d);
		else if (d.keyword === 'endif') {
			g.directives.push(d);
			open.pop();
			groups.push(g);
		}
	}
	// Outer groups first: a group inside a hidden branch is gone with it.
	groups.sort((a, b) => a.directives[0].start - b.directives[0].start);
	const isPunct = (i: number, p: string) => i >= 0 && i < t.count && t.kind[i] === PUNCT && tok(i) === p;
	const continues = (i: number): boolean => {
		// The token after a directive continues what came before it.
		if (i >= t.count) return false;
		if (t.kind[i] === IDENT) return tok(i) === 'else';
		if (t.kind[i] !== PUNCT) return false;
		return [')', ']', ',', ';', '||', '&&', '|', '?', ':', '.', '->', '=', '==', '!=', '<', '>', '<=', '>=', '/', '%', '^', '<<', '>>'].includes(tok(i));
	};
	const ended = (i: number): boolean => {
		// The token before a directive ends a statement or declaration.
		while (i >= 0 && dead[i]) i--;
		if (i < 0) return true;
		if (isPunct(i, ':')) {
			// A label needs a statement after it; a case label does not.
			const label = i - 1 >= 0 && t.kind[i - 1] === IDENT && tok(i - 1) !== 'default' && (i - 2 < 0 || isPunct(i - 2, ';') || isPunct(i - 2, '{') || isPunct(i - 2, '}'));
			return !label;
		}
		return isPunct(i, ';') || isPunct(i, '{') || isPunct(i, '}');
	};
	/** A branch that opens what it does not close, or closes what it did not open (`} else {`). */
	const balanced = (from: number, to: number): boolean => {
		let paren = 0;
		let brace = 0;
		for (let i = from; i < to; i++) {
			if (t.kind[i] !== PUNCT) continue;
			const p = tok(i);
			if (p === '(' || p === '[') paren++;
			else if (p === ')' || p === ']') paren--;
			else if (p === '{') brace++;
			else if (p === '}') brace--;
			if (paren < 0 || brace < 0) return false;
		}
		return paren === 0 && brace === 0;
	};
	const hiddenUntil: number[] = [];
	for (const g of groups) {
		const first = g.directives[0];
		if (hiddenUntil.some((e) => first.start < e)) continue;
		const ds = g.directives;
		let inside = false;
		for (let k = 0; k < ds.length && !inside; k++) {
			const d = ds[k];
			if (!ended(d.token - 1) || continues(d.token)) inside = true;
			if (k + 1 < ds.length && !balanced(d.token, ds[k + 1].token)) inside = true;
		}
		if (!inside) continue;
		const keep = ds.length > 2 && /^#\s*if\s+0\s*(?:\/[*/].*)?$/.test(text.slice(first.start, first.end)) ? 1 : 0;
		const drop: [number, number, number, number][] = [];
		for (let k = 0; k + 1 < ds.length; k++) {
			if (k === keep) continue;
			drop.push([ds[k].end, ds[k + 1].start, ds[k].token, ds[k + 1].token]);
		}
		if (drop.some(([s, e]) => RELEVANT.test(text.slice(s, e)))) continue;
		for (const d of ds) blank(d.start, d.end);
		for (const [s, e, from, to] of drop) {
			blank(s, e);
			for (let i = from; i < to; i++) dead[i] = 1;
			if (to > from) hidden.push([t.start[from], t.end[to - 1]]);
			hiddenUntil.push(e);
		}
	}
	hidden.sort((a, b) => a[0] - b[0]);
}

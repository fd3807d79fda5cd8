// What one path of the thread extraction knows (fromSource.ts): which cache each pointer
// names, which pointers point into a mapping, the values its tests taught it, the loop
// rounds it made; and the conditions that knowledge, or the calling context, decides.
import { canonicalPath } from '../analysis/paths';
import type { SyntaxNode } from '../parse/parser';
import { calleeName, stripParens } from '../parse/nodes';
import type { ExtractContext } from './fromSource';

export interface PathState {
	/** pointer variable → access path it names (`gpc` → `kvm.arch.xen.shinfo_cache`) */
	aliases: Record<string, string>;
	/** pointer variable → the cache instance whose mapping it points into */
	derived: Record<string, string>;
	/** variable → known value: 'true', 'false', or a constant's name */
	known: Record<string, string>;
	/** variables holding a check, trylock or refresh outcome the model computed */
	stored: Record<string, true>;
	/** loop (CFG component) → times round without a model decision */
	loops: Record<number, number>;
}

export const CONSTANT = /^([A-Z][A-Za-z0-9_]*|-?\d+[uUlL]*|0x[0-9a-fA-F]+|true|false|NULL)$/;
export const FALSY = /^(0+[uUlL]*|0x0+|false|NULL)$/;

/** A program point's key: the CFG node and all the path knows there. */
export const keyOf = (node: number, s: PathState) => `${node}|${JSON.stringify([sorted(s.aliases), sorted(s.derived), sorted(s.known), Object.keys(s.stored).sort(), sorted(s.loops)])}`;
const sorted = (o: Record<string | number, unknown>) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
export const clone = (s: PathState): PathState => ({ aliases: { ...s.aliases }, derived: { ...s.derived }, known: { ...s.known }, stored: { ...s.stored }, loops: { ...s.loops } });

/** A condition the context, a constant, or an earlier test decides. */
export function decide(e: SyntaxNode, s: PathState, context: ExtractContext['kind']): boolean | undefined {
	if (e.type === 'number_literal') return !FALSY.test(e.text);
	if (e.type === 'true') return true;
	if (e.type === 'false' || e.type === 'null') return false;
	if (e.type === 'identifier') return s.derived[e.text] ? true : truth(s.known[e.text]);
	if (e.type === 'field_expression') {
		const path = canonicalPath(e, s.aliases);
		return path ? truth(s.known[path]) : undefined;
	}
	if (e.type === 'call_expression') return contextCall(calleeName(e), context);
	if (e.type === 'binary_expression') {
		const op = e.childForFieldName('operator')?.text;
		const l = e.childForFieldName('left');
		const r = e.childForFieldName('right');
		if ((op !== '==' && op !== '!=') || !l || !r) return undefined;
		const [x, c] = CONSTANT.test(stripParens(r).text) ? [stripParens(l), stripParens(r).text] : [stripParens(r), stripParens(l).text];
		if (x.type !== 'identifier' || !CONSTANT.test(c)) return undefined;
		const k = s.known[x.text];
		if (k === undefined) return undefined;
		let equal: boolean | undefined;
		if (FALSY.test(c)) equal = truth(k) === undefined ? undefined : !truth(k);
		else if (k === `!${c}`) equal = false;
		else if (CONSTANT.test(k) && !/^(true|false)$/.test(k)) equal = k === c;
		else equal = undefined;
		return equal === undefined ? undefined : op === '==' ? equal : !equal;
	}
	return undefined;
}

/** in_interrupt() and its relatives, as the calling context has them. */
function contextCall(callee: string | undefined, k: ExtractContext['kind']): boolean | undefined {
	switch (callee) {
		case 'in_interrupt':
		case 'in_hardirq':
		case 'in_irq':
			return k === 'hardirq' ? true : k === 'process' || k === 'sched-out' ? false : undefined;
		case 'in_task':
			return k === 'hardirq' ? false : k === 'process' || k === 'sched-out' ? true : undefined;
		case 'irqs_disabled':
			return k === 'hardirq' || k === 'sched-out' ? true : k === 'process' ? false : undefined;
		case 'in_atomic':
			return k === 'process' ? false : true;
		case 'preemptible':
			return k === 'process' ? true : false;
		default:
			return undefined;
	}
}

/** The path state on the side of a condition where it is `value`. */
export function learn(e: SyntaxNode, s: PathState, value: boolean, tested: ReadonlySet<string>): PathState {
	const t = clone(s);
	if (e.type === 'identifier') {
		if (tested.has(e.text)) t.known[e.text] = String(value);
		return t;
	}
	// A flag read twice (`v->kvm->arch.xen.runstate_update_flag`): the second test goes the way the first went.
	if (e.type === 'field_expression') {
		const path = canonicalPath(e, s.aliases);
		if (path) t.known[path] = String(value);
		return t;
	}
	if (e.type === 'binary_expression') {
		const op = e.childForFieldName('operator')?.text;
		const l = e.childForFieldName('left');
		const r = e.childForFieldName('right');
		if ((op === '==' || op === '!=') && l && r) {
			const [x, c] = CONSTANT.test(stripParens(r).text) ? [stripParens(l), stripParens(r).text] : [stripParens(r), stripParens(l).text];
			if (x.type === 'identifier' && CONSTANT.test(c)) {
				const equal = op === '==' ? value : !value;
				if (FALSY.test(c)) t.known[x.text] = String(!equal);
				else t.known[x.text] = equal ? c : `!${c}`;
			}
		}
	}
	return t;
}

export function truth(v: string | undefined): boolean | undefined {
	if (v === undefined) return undefined;
	if (v === 'true') return true;
	if (v === 'false' || FALSY.test(v)) return false;
	if (/^-?\d/.test(v)) return true;
	return undefined;
}

// A small constant folder for C conditions, enough to decide the usage tests:
// `gpc->usage & KVM_GUEST_USES_PFN` is 0 when every cache is a host cache, so
// the branch it guards never runs. Conditions that mix usage with other code
// fold into what is left (`x && <true>` is `x`); anything else is unknown,
// and the rewrite refuses rather than guess.
import type { SyntaxNode } from '../parse/parser';
import { sideEffectFree } from './syntax';
import { calleeIdentifier, descendants } from '../parse/nodes';

type Precedence = 'primary' | 'unary' | 'and' | 'or' | 'other';

export type Value =
	| { kind: 'const'; value: number }
	| { kind: 'residual'; text: string; changed: boolean; precedence: Precedence; dropped: SyntaxNode[] }
	| { kind: 'unknown'; node: SyntaxNode };

export interface EvalEnv {
	/** The value of an identifier if it is a known constant (enum member, dead local, usage parameter). */
	identifier(node: SyntaxNode): number | undefined;
	/** The value of a field read (`gpc->usage`), if known. */
	field(node: SyntaxNode): number | undefined;
	/** Whether the node is part of the usage machinery, so it cannot stay behind. */
	isAtom(node: SyntaxNode): boolean;
}

/** Macros that return (the truth of) their first argument. */
const TRANSPARENT = /^(WARN_ON|WARN_ON_ONCE|WARN|WARN_ONCE|likely|unlikely)$/;

export function mentionsAtom(node: SyntaxNode, env: EvalEnv): boolean {
	for (const n of descendants(node)) if (env.isAtom(n)) return true;
	return false;
}

export function evaluate(node: SyntaxNode, env: EvalEnv): Value {
	const unchanged = (precedence: Precedence): Value =>
		mentionsAtom(node, env) ? { kind: 'unknown', node } : { kind: 'residual', text: node.text, changed: false, precedence, dropped: [] };
	switch (node.type) {
		case 'parenthesized_expression': {
			const inner = node.namedChildren.find((c) => c && c.type !== 'comment');
			if (!inner) return unchanged('primary');
			const v = evaluate(inner, env);
			if (v.kind !== 'residual' || !v.changed) return v.kind === 'residual' ? { ...v, text: node.text, precedence: 'primary' } : v;
			return v.precedence === 'primary' || v.precedence === 'unary' ? v : { ...v, text: `(${v.text})`, precedence: 'primary' };
		}
		case 'number_literal': {
			const n = parseNumber(node.text);
			return n === undefined ? unchanged('primary') : { kind: 'const', value: n };
		}
		case 'true':
			return { kind: 'const', value: 1 };
		case 'false':
		case 'null':
			return { kind: 'const', value: 0 };
		case 'identifier': {
			const v = env.identifier(node);
			return v === undefined ? unchanged('primary') : { kind: 'const', value: v };
		}
		case 'field_expression': {
			const v = env.field(node);
			return v === undefined ? unchanged('primary') : { kind: 'const', value: v };
		}
		case 'cast_expression': {
			const value = node.childForFieldName('value');
			const v = value ? evaluate(value, env) : undefined;
			return v?.kind === 'const' ? v : unchanged('unary');
		}
		case 'call_expression': {
			const callee = calleeIdentifier(node);
			const args = (node.childForFieldName('arguments')?.namedChildren ?? []).filter((c): c is SyntaxNode => !!c && c.type !== 'comment');
			if ((callee === 'BIT' || callee === 'BIT_ULL') && args.length === 1) {
				const v = evaluate(args[0], env);
				return v.kind === 'const' ? { kind: 'const', value: 2 ** v.value } : unchanged('primary');
			}
			if (callee && TRANSPARENT.test(callee) && args.length >= 1) {
				const v = evaluate(args[0], env);
				if (v.kind === 'const') return { kind: 'const', value: v.value ? 1 : 0 };
				return v.kind === 'residual' && !v.changed ? unchanged('primary') : { kind: 'unknown', node };
			}
			return unchanged('primary');
		}
		case 'unary_expression': {
			const op = node.childForFieldName('operator')?.text;
			const arg = node.childForFieldName('argument');
			if (!arg) return unchanged('unary');
			const v = evaluate(arg, env);
			if (v.kind === 'unknown') return v;
			if (v.kind === 'const') {
				if (op === '!') return { kind: 'const', value: v.value ? 0 : 1 };
				if (op === '~') return { kind: 'const', value: ~v.value };
				if (op === '-') return { kind: 'const', value: -v.value };
				if (op === '+') return v;
				return unchanged('unary');
			}
			if (!v.changed) return unchanged('unary');
			if (op !== '!') return { kind: 'unknown', node };
			const operand = v.precedence === 'primary' || v.precedence === 'unary' ? v.text : `(${v.text})`;
			return { kind: 'residual', text: `!${operand}`, changed: true, precedence: 'unary', dropped: v.dropped };
		}
		case 'binary_expression': {
			const op = node.childForFieldName('operator')?.text ?? '';
			const left = node.childForFieldName('left');
			const right = node.childForFieldName('right');
			if (!left || !right) return unchanged('other');
			if (op === '&&' || op === '||') return logical(node, op, left, right, env);
			const l = evaluate(left, env);
			const r = evaluate(right, env);
			if (l.kind === 'const' && r.kind === 'const') {
				const value = arithmetic(op, l.value, r.value);
				return value === undefined ? { kind: 'unknown', node } : { kind: 'const', value };
			}
			return unchanged('other');
		}
		default:
			return unchanged('other');
	}
}

function logical(node: SyntaxNode, op: '&&' | '||', left: SyntaxNode, right: SyntaxNode, env: EvalEnv): Value {
	const l = evaluate(left, env);
	const r = evaluate(right, env);
	const bool = (v: Value): Value => (v.kind === 'const' ? { kind: 'const', value: v.value ? 1 : 0 } : v);
	// The value that decides the operator on its own: false for &&, true for ||.
	const decides = (v: number) => (op === '&&' ? !v : !!v);
	const decided: Value = { kind: 'const', value: op === '&&' ? 0 : 1 };
	const withDropped = (v: Value, dropped: SyntaxNode): Value =>
		v.kind === 'residual' ? { ...v, changed: true, dropped: [...v.dropped, dropped] } : v;
	if (l.kind === 'const') {
		// Short-circuit: the right side never ran, so dropping it loses nothing.
		if (decides(l.value)) return decided;
		return withDropped(bool(r), left);
	}
	if (l.kind === 'unknown') return l;
	if (r.kind === 'const') {
		if (decides(r.value)) return sideEffectFree(left) ? decided : { kind: 'unknown', node };
		return withDropped(l, right);
	}
	if (r.kind === 'unknown') return r;
	if (!l.changed && !r.changed) return { kind: 'residual', text: node.text, changed: false, precedence: op === '&&' ? 'and' : 'or', dropped: [] };
	const operand = (v: Extract<Value, { kind: 'residual' }>) => (op === '&&' && v.precedence === 'or' ? `(${v.text})` : v.text);
	return {
		kind: 'residual', text: `${operand(l)} ${op} ${operand(r)}`, changed: true,
		precedence: op === '&&' ? 'and' : 'or', dropped: [...l.dropped, ...r.dropped],
	};
}

function arithmetic(op: string, a: number, b: number): number | undefined {
	switch (op) {
		case '&': return a & b;
		case '|': return a | b;
		case '^': return a ^ b;
		case '==': return +(a === b);
		case '!=': return +(a !== b);
		case '<': return +(a < b);
		case '>': return +(a > b);
		case '<=': return +(a <= b);
		case '>=': return +(a >= b);
		case '+': return a + b;
		case '-': return a - b;
		case '*': return a * b;
		case '<<': return a * 2 ** b;
		case '>>': return Math.floor(a / 2 ** b);
		default: return undefined;
	}
}

export function parseNumber(text: string): number | undefined {
	const t = text.replace(/[uUlL]+$/, '');
	if (/^0[xX][0-9a-fA-F]+$/.test(t)) return parseInt(t.slice(2), 16);
	if (/^0[0-7]*$/.test(t)) return parseInt(t, 8);
	if (/^[1-9][0-9]*$/.test(t)) return parseInt(t, 10);
	return undefined;
}

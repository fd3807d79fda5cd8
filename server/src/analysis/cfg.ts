// Per-function control-flow graph built from tree-sitter's C syntax tree.
// Nodes hold one statement (or one condition atom); conditions are split at
// `&&`, `||` and `!` so each atom refines the state on its own edges.
import type { SyntaxNode } from '../parse/parser';

export type CfgKind = 'entry' | 'exit' | 'stmt' | 'cond' | 'join' | 'return' | 'scopeEnd' | 'opaque';

export interface CfgNode {
	id: number;
	kind: CfgKind;
	/** Statement, declaration, condition atom, ERROR region; for `return`, the return statement or closing brace. */
	ast?: SyntaxNode;
	/** For `cond`: [when true, when false]. Otherwise the successors in order. */
	succ: number[];
	/** For `scopeEnd`: the guard()/scoped_guard() calls whose locks the scope releases. */
	guards?: SyntaxNode[];
}

export interface Cfg {
	nodes: CfgNode[];
	entry: number;
	exit: number;
	/** ERROR regions tree-sitter could not parse; the engine never reports inside them. */
	unparsed: SyntaxNode[];
}

interface Targets {
	breakTo?: number;
	continueTo?: number;
	/** guard() calls in enclosing scopes, innermost last: released on return. */
	guards: SyntaxNode[];
	/** How many of `guards` the break / continue target is inside (the rest are released on the way). */
	breakDepth?: number;
	continueDepth?: number;
}

const ITERATOR_MACRO = /for_each|foreach|^scoped_guard$|^scoped_cond_guard$/;

/** `labels`: the function's labeled statements, when the caller has them. */
export function buildCfg(fn: SyntaxNode, labels: readonly (SyntaxNode | null)[] = fn.descendantsOfType('labeled_statement')): Cfg {
	const nodes: CfgNode[] = [];
	const unparsed: SyntaxNode[] = [];
	const labelNodes = new Map<string, number>();
	const add = (kind: CfgKind, ast?: SyntaxNode, succ: number[] = []): number => {
		nodes.push({ id: nodes.length, kind, ast, succ });
		return nodes.length - 1;
	};
	const entry = add('entry');
	const exit = add('exit');

	for (const label of labels) {
		const name = label?.childForFieldName('label')?.text;
		if (name && !labelNodes.has(name)) labelNodes.set(name, add('join'));
	}
	/** The guards in force at each label, and every goto with the guards in force there. */
	const labelGuards = new Map<string, SyntaxNode[]>();
	const gotos: { node: number; label: string; guards: SyntaxNode[] }[] = [];

	/** The guards of `t` already taken where `at` starts (a block's guards count from their statement on). */
	const inForce = (t: Targets, at: SyntaxNode, from = 0): SyntaxNode[] => t.guards.slice(from).filter((g) => g.startIndex < at.startIndex);

	/** A jump that leaves the scopes of `released`: release them (innermost first), then go to `target`. */
	const leave = (released: SyntaxNode[], target: number): number => {
		if (!released.length) return target;
		const end = add('scopeEnd', undefined, [target]);
		nodes[end].guards = [...released].reverse();
		return end;
	};

	const unwrap = (e: SyntaxNode): SyntaxNode => {
		let cur = e;
		while (cur.type === 'parenthesized_expression' && cur.namedChildCount === 1) cur = cur.namedChild(0)!;
		return cur;
	};

	function condition(expr: SyntaxNode | null, whenTrue: number, whenFalse: number): number {
		if (!expr) return whenTrue;
		const e = unwrap(expr);
		if (e.type === 'unary_expression' && e.childForFieldName('operator')?.text === '!') {
			return condition(e.childForFieldName('argument'), whenFalse, whenTrue);
		}
		if (e.type === 'binary_expression') {
			const op = e.childForFieldName('operator')?.text;
			const left = e.childForFieldName('left');
			const right = e.childForFieldName('right');
			if (op === '&&') return condition(left, condition(right, whenTrue, whenFalse), whenFalse);
			if (op === '||') return condition(left, whenTrue, condition(right, whenTrue, whenFalse));
		}
		if (e.type === 'call_expression') {
			const callee = e.childForFieldName('function')?.text;
			const args = e.childForFieldName('arguments');
			if ((callee === 'likely' || callee === 'unlikely') && args?.namedChildCount === 1) {
				return condition(args.namedChild(0), whenTrue, whenFalse);
			}
		}
		if (e.type === 'comma_expression') {
			const left = e.childForFieldName('left');
			return left ? add('stmt', left, [condition(e.childForFieldName('right'), whenTrue, whenFalse)]) : whenTrue;
		}
		return add('cond', e, [whenTrue, whenFalse]);
	}

	/** Groups a block's children so an iterator macro owns the statement after it. */
	function sequence(children: SyntaxNode[], next: number, t: Targets, scopeGuards: SyntaxNode[]): number {
		let cur = next;
		for (let i = children.length - 1; i >= 0; i--) {
			const child = children[i];
			const prev = i > 0 ? children[i - 1] : undefined;
			const macro = prev && iteratorMacro(prev);
			if (macro) {
				cur = iteratorLoop(macro, child, cur, t);
				i--;
				continue;
			}
			cur = statement(child, cur, t, scopeGuards);
		}
		return cur;
	}

	function iteratorMacro(stmt: SyntaxNode): SyntaxNode | undefined {
		if (stmt.type !== 'expression_statement') return undefined;
		const call = stmt.namedChild(0);
		if (call?.type !== 'call_expression') return undefined;
		const missingSemicolon = stmt.children.some((c) => c?.isMissing);
		const name = call.childForFieldName('function')?.text ?? '';
		return missingSemicolon && ITERATOR_MACRO.test(name) ? call : undefined;
	}

	function iteratorLoop(macro: SyntaxNode, body: SyntaxNode, next: number, t: Targets): number {
		const name = macro.childForFieldName('function')?.text ?? '';
		if (name.startsWith('scoped_')) {
			// The scope owns the lock: acquire, run the body once, release. The macro is a `for`
			// loop: a break or continue in the body leaves the scope (and releases the lock).
			const release = add('scopeEnd', undefined, [next]);
			nodes[release].guards = [macro];
			const depth = t.guards.length + 1;
			const inner = { ...t, guards: [...t.guards, macro], breakTo: release, continueTo: release, breakDepth: depth, continueDepth: depth };
			return add('stmt', macro, [statement(body, release, inner, [])]);
		}
		const head = add('join');
		const bodyEntry = statement(body, head, loop(t, next, head), []);
		nodes[head].succ = [bodyEntry, next];
		return add('stmt', macro, [head]);
	}

	function statement(s: SyntaxNode, next: number, t: Targets, scopeGuards: SyntaxNode[]): number {
		switch (s.type) {
			case 'compound_statement': {
				const guards: SyntaxNode[] = [];
				const children = s.namedChildren.filter((c): c is SyntaxNode => !!c && c.type !== 'comment');
				for (const c of children) {
					const g = guardCall(c);
					if (g) guards.push(g);
				}
				let after = next;
				if (guards.length) {
					after = add('scopeEnd', undefined, [next]);
					nodes[after].guards = guards;
				}
				return sequence(children, after, { ...t, guards: [...t.guards, ...guards] }, guards);
			}
			case 'if_statement': {
				const consequence = s.childForFieldName('consequence');
				const alternative = s.childForFieldName('alternative');
				const thenEntry = consequence ? statement(consequence, next, t, scopeGuards) : next;
				const elseEntry = alternative ? statement(alternative, next, t, scopeGuards) : next;
				return condition(s.childForFieldName('condition'), thenEntry, elseEntry);
			}
			case 'else_clause': {
				const body = s.namedChildren.find((c) => c?.type !== 'comment');
				return body ? statement(body, next, t, scopeGuards) : next;
			}
			case 'while_statement': {
				const head = add('join');
				const body = s.childForFieldName('body');
				const bodyEntry = body ? statement(body, head, loop(t, next, head), []) : head;
				nodes[head].succ = [condition(s.childForFieldName('condition'), bodyEntry, next)];
				return head;
			}
			case 'do_statement': {
				const head = add('join');
				const condEntry = condition(s.childForFieldName('condition'), head, next);
				const body = s.childForFieldName('body');
				const bodyEntry = body ? statement(body, condEntry, loop(t, next, condEntry), []) : condEntry;
				nodes[head].succ = [bodyEntry];
				return head;
			}
			case 'for_statement': {
				const head = add('join');
				const update = s.childForFieldName('update');
				const updateEntry = update ? add('stmt', update, [head]) : head;
				const body = s.childForFieldName('body');
				const bodyEntry = body ? statement(body, updateEntry, loop(t, next, updateEntry), []) : updateEntry;
				nodes[head].succ = [condition(s.childForFieldName('condition'), bodyEntry, next)];
				const init = s.childForFieldName('initializer');
				return init ? add('stmt', init, [head]) : head;
			}
			case 'switch_statement': {
				const body = s.childForFieldName('body');
				const cases = body?.namedChildren.filter((c): c is SyntaxNode => c?.type === 'case_statement') ?? [];
				const inner = { ...t, breakTo: next, breakDepth: t.guards.length };
				let fallthrough = next;
				const entries: number[] = [];
				for (let i = cases.length - 1; i >= 0; i--) {
					const value = cases[i].childForFieldName('value');
					const stmts = cases[i].namedChildren.filter((c): c is SyntaxNode => !!c && !sameNode(c, value) && c.type !== 'comment');
					fallthrough = sequence(stmts, fallthrough, inner, scopeGuards);
					entries.unshift(fallthrough);
				}
				const hasDefault = cases.some((c) => !c.childForFieldName('value'));
				const dispatch = add('join', undefined, hasDefault ? entries : [...entries, next]);
				const selector = s.childForFieldName('condition');
				return selector ? add('stmt', selector, [dispatch]) : dispatch;
			}
			case 'break_statement':
				return add('join', undefined, [leave(inForce(t, s, t.breakDepth ?? t.guards.length), t.breakTo ?? next)]);
			case 'continue_statement':
				return add('join', undefined, [leave(inForce(t, s, t.continueDepth ?? t.guards.length), t.continueTo ?? next)]);
			case 'goto_statement': {
				const label = s.childForFieldName('label')?.text ?? '';
				const target = labelNodes.get(label);
				const jump = add('join', undefined, [target ?? exit]);
				// The guards left behind are known once every label has been seen.
				if (target !== undefined) gotos.push({ node: jump, label, guards: inForce(t, s) });
				return jump;
			}
			case 'return_statement': {
				// Evaluate the value, release scope guards, then leave.
				let after = add('return', s, [exit]);
				const released = inForce(t, s);
				if (released.length) {
					after = add('scopeEnd', undefined, [after]);
					nodes[after].guards = [...released];
				}
				const value = s.namedChildren.find((c) => c && c.type !== 'comment');
				return value ? add('stmt', value, [after]) : after;
			}
			case 'labeled_statement': {
				const name = s.childForFieldName('label')?.text ?? '';
				const join = labelNodes.get(name);
				if (!labelGuards.has(name)) labelGuards.set(name, inForce(t, s));
				const inner = s.namedChildren.find((c) => c && c.type !== 'statement_identifier' && c.type !== 'comment');
				const entryOfInner = inner ? statement(inner, next, t, scopeGuards) : next;
				if (join === undefined) return entryOfInner;
				nodes[join].succ = [entryOfInner];
				return join;
			}
			case 'preproc_if':
			case 'preproc_ifdef':
			case 'preproc_elif':
			case 'preproc_elifdef':
			case 'preproc_else': {
				// Both sides of a preprocessor conditional are possible builds.
				const alternative = s.childForFieldName('alternative');
				const heads = [alternative, s.childForFieldName('condition'), s.childForFieldName('name')];
				const body = s.namedChildren.filter((c): c is SyntaxNode => !!c && !heads.some((h) => sameNode(c, h)) && c.type !== 'comment');
				const bodyEntry = sequence(body, next, t, scopeGuards);
				if (s.type === 'preproc_else') return bodyEntry;
				const altEntry = alternative ? statement(alternative, next, t, scopeGuards) : next;
				return add('join', undefined, [bodyEntry, altEntry]);
			}
			case 'ERROR': {
				unparsed.push(s);
				return add('opaque', s, [next]);
			}
			case 'comment':
			case 'preproc_call':
			case 'preproc_def':
			case 'preproc_function_def':
			case 'preproc_include':
			case ';':
				return next;
			default:
				if (s.hasError) collectErrors(s, unparsed);
				return add('stmt', s, [next]);
		}
	}

	const body = fn.childForFieldName('body');
	// Falling off the end is a return at the closing brace.
	const end = add('return', body?.lastChild ?? fn, [exit]);
	const bodyEntry = body ? statement(body, end, { guards: [] }, []) : end;
	nodes[entry].succ = [bodyEntry];
	// A goto out of a guard's scope releases it (the cleanup runs on every exit from the scope).
	for (const g of gotos) {
		const atLabel = labelGuards.get(g.label);
		if (!atLabel) continue;
		const released = g.guards.filter((x) => !atLabel.some((y) => y.id === x.id));
		nodes[g.node].succ = [leave(released, nodes[g.node].succ[0])];
	}
	return { nodes, entry, exit, unparsed };
}

/** The targets inside a loop: break goes to `after`, continue to `next`, both keeping the guards outside. */
function loop(t: Targets, after: number, next: number): Targets {
	return { ...t, breakTo: after, continueTo: next, breakDepth: t.guards.length, continueDepth: t.guards.length };
}

/**
 * web-tree-sitter hands out a new wrapper object per lookup, so nodes compare by id, never by
 * identity: `c !== alternative` kept each #elif in its parent's body as well, and a chain of n
 * #elif built 2^n CFG nodes (17 in arch/powerpc/kernel/udbg.c: 393,220 nodes, 56 s).
 */
function sameNode(a: SyntaxNode, b: SyntaxNode | null | undefined): boolean {
	return !!b && a.id === b.id;
}

function collectErrors(node: SyntaxNode, out: SyntaxNode[]): void {
	if (node.type === 'ERROR') {
		out.push(node);
		return;
	}
	for (const c of node.children) if (c?.hasError) collectErrors(c, out);
}

/** `guard(read_lock)(&gpc->lock);` as a statement. */
export function guardCall(stmt: SyntaxNode): SyntaxNode | undefined {
	if (stmt.type !== 'expression_statement') return undefined;
	const call = stmt.namedChild(0);
	if (call?.type !== 'call_expression') return undefined;
	const inner = call.childForFieldName('function');
	if (inner?.type !== 'call_expression') return undefined;
	return inner.childForFieldName('function')?.text === 'guard' ? call : undefined;
}

// What a function declares and does to its locks before the dataflow runs: its
// parameters and locals, which identifiers are caches, which instances it manages itself
// and which its callers hold (the entry state of each instance, flow.ts), and its labels.
import type { SyntaxNode } from '../parse/parser';
import { callArguments, calleeName, stripParens } from '../parse/nodes';
import { declaratorName, declaredVariables, functionDeclarator, functionHeader, isPointerDeclarator, parameters } from '../parse/declarations';
import { RWLOCK_PRIMITIVES } from './api';
import { baseIdentifier, canonicalPath } from './paths';

export interface FunctionScope {
	params: Map<string, string>;
	locals: Map<string, string>;
	/** Identifiers declared as `struct gfn_to_pfn_cache` (pointer or not). */
	gpcVars: Set<string>;
	/** Instances the function locks or unlocks itself: their state at entry is "not held". */
	managed: Set<string>;
	/** Parameters that carry an atomic context (`bool atomic`). */
	atomicParams: Set<string>;
	/** Instances whose lock the function releases before taking it (held by the caller). */
	callerHeld: Set<string>;
	paramOrder: string[];
	/** The function's labeled statements, in source order. */
	labels: SyntaxNode[];
	/** Instances every caller holds locked when it calls the function (set by analyzeFunction). */
	entryHeld: Set<string>;
}

export function collectScope(fn: SyntaxNode): FunctionScope {
	const params = new Map<string, string>();
	const paramOrder: string[] = [];
	const locals = new Map<string, string>();
	const gpcVars = new Set<string>();
	const atomicParams = new Set<string>();
	for (const { name: pname, type: ptype, declarator } of parameters(functionDeclarator(fn.childForFieldName('declarator')))) {
		paramOrder.push(pname ?? '');
		if (!pname || !ptype) continue;
		params.set(pname, ptype);
		if (ptype === 'gfn_to_pfn_cache') gpcVars.add(pname);
		if (/atomic/.test(pname) && !isPointerDeclarator(declarator)) atomicParams.add(pname);
	}
	const body = fn.childForFieldName('body');
	// One walk of the function for the labels (the CFG's) and the four kinds of node read below.
	const found = fn.descendantsOfType(['labeled_statement', 'declaration', 'init_declarator', 'assignment_expression', 'call_expression']);
	const inBody = (n: SyntaxNode) => !!body && n.startIndex >= body.startIndex && n.endIndex <= body.endIndex;
	const ofType = (type: string) => found.filter((n): n is SyntaxNode => n?.type === type && inBody(n));
	for (const decl of ofType('declaration')) {
		for (const { name: lname, type: t } of declaredVariables(decl)) {
			locals.set(lname, t);
			if (t === 'gfn_to_pfn_cache') gpcVars.add(lname);
		}
	}

	// Flow-insensitive alias targets, only to decide which instances this function manages.
	const targets = new Map<string, Set<string>>();
	const noteAlias = (lhs: string, rhs: SyntaxNode | null) => {
		if (!rhs) return;
		const r = stripParens(rhs);
		if (r.type !== 'pointer_expression' || r.childForFieldName('operator')?.text !== '&') return;
		const path = canonicalPath(r, {});
		if (!path) return;
		if (!targets.has(lhs)) targets.set(lhs, new Set());
		targets.get(lhs)!.add(path);
	};
	for (const init of ofType('init_declarator')) {
		const lname = declaratorName(init?.childForFieldName('declarator') ?? null);
		if (init && lname) noteAlias(lname, init.childForFieldName('value'));
	}
	for (const a of ofType('assignment_expression')) {
		const left = a?.childForFieldName('left');
		if (a && left?.type === 'identifier' && a.childForFieldName('operator')?.text === '=') noteAlias(left.text, a.childForFieldName('right'));
	}
	const expand = (path: string, depth = 0): string[] => {
		const base = baseIdentifier(path);
		const t = targets.get(base);
		if (!t || depth > 4) return [path];
		return [...t].flatMap((target) => expand(target + path.slice(base.length), depth + 1));
	};
	const managed = new Set<string>();
	const callerHeld = new Set<string>();
	for (const call of ofType('call_expression')) {
		const callee = call && calleeName(call);
		const isGuard = call?.childForFieldName('function')?.type === 'call_expression';
		if (!call || (!callee && !isGuard)) continue;
		if ((callee && RWLOCK_PRIMITIVES[callee]) || isGuard || callee === 'scoped_guard') {
			const args = callArguments(call);
			const lockArg = callee === 'scoped_guard' ? args[1] : args[0];
			const path = lockArg && canonicalPath(lockArg, {});
			if (!path?.endsWith('.lock')) continue;
			const releasesFirst = !!callee && RWLOCK_PRIMITIVES[callee]?.op === 'unlock';
			for (const p of expand(path.slice(0, -5))) {
				// The first operation in source order says who owns the lock at entry.
				if (!managed.has(p) && !callerHeld.has(p)) (releasesFirst ? callerHeld : managed).add(p);
			}
		} else if (callee?.startsWith('lockdep_assert_held')) {
			const path = callArguments(call)[0] && canonicalPath(callArguments(call)[0], {});
			if (path?.endsWith('.lock')) for (const p of expand(path.slice(0, -5))) if (!managed.has(p)) callerHeld.add(p);
		}
	}
	// sparse annotations in the declaration: `__must_hold(&gpc->lock)`, `__releases(&gpc->lock)`.
	for (const m of functionHeader(fn).matchAll(/__(?:must_hold|releases)\s*\(\s*&?\s*([\w.>-]+?)\s*(?:->|\.)lock\s*\)/g)) {
		for (const p of expand(m[1].replace(/->/g, '.'))) callerHeld.add(p);
	}
	for (const p of callerHeld) managed.delete(p);
	const labels = found.filter((n): n is SyntaxNode => n?.type === 'labeled_statement');
	return { params, locals, gpcVars, managed, atomicParams, callerHeld, paramOrder, labels, entryHeld: new Set() };
}

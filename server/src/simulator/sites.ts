// The gpc operations a function's thread is made of (fromSource.ts): what the dataflow
// observed (locks, checks, uses of the mapping, sleeps) with the expression naming each
// one's cache, resolved per path later; and the locks its callers hold at entry.
import type { GpcRole, LockVariant } from '../analysis/api';
import type { Cfg } from '../analysis/cfg';
import { analyzeFunction, type TreeKnowledge } from '../analysis/flow';
import { canonicalPath } from '../analysis/paths';
import { functionHeader, functionName } from '../parse/declarations';
import { callArguments, calleeName, stripParens } from '../parse/nodes';
import type { SyntaxNode } from '../parse/parser';

/** Why a function the engine understands cannot be a simulator thread. */
export class ExtractError extends Error {}

/** A gpc operation the dataflow saw in the function. */
export interface Site {
	kind: 'lock' | 'trylock' | 'unlock' | 'gpc' | 'use' | 'fieldRead' | 'sleep' | 'irqSave' | 'irqRestore' | 'srcuLock' | 'srcuUnlock';
	node: SyntaxNode;
	/** the expression naming the cache (`&gpc->lock` → `gpc`), resolved per path */
	cacheExpr?: SyntaxNode;
	/** a use through a pointer derived from khva */
	derived?: string;
	role?: GpcRole;
	variant?: LockVariant;
	mode?: 'read' | 'write';
	field?: string;
}

const IRQ_SAVE = new Set(['local_irq_save', 'local_irq_disable']);
const IRQ_RESTORE = new Set(['local_irq_restore', 'local_irq_enable']);
const SRCU_LOCK = /^(srcu_read_lock|kvm_vcpu_srcu_read_lock)$/;
const SRCU_UNLOCK = /^(srcu_read_unlock|kvm_vcpu_srcu_read_unlock)$/;

/**
 * The gpc operations of `fn`, from the dataflow's observations and the calls the model runs
 * besides (interrupts, SRCU), and the function's CFG. Undefined when it touches no
 * gfn_to_pfn_cache; an ExtractError when it does so in a way the model's threads cannot.
 */
export function collectSites(fn: SyntaxNode, knowledge: TreeKnowledge): { name: string; sites: Site[]; cfg: Cfg } | undefined {
	const name = functionName(fn) ?? '<anonymous>';
	const sites: Site[] = [];
	const seen = new Set<string>();
	const add = (s: Site) => {
		const key = `${s.node.startIndex}:${s.node.endIndex}:${s.kind}:${s.derived ?? ''}`;
		if (seen.has(key)) return;
		seen.add(key);
		sites.push(s);
	};
	const analysis = analyzeFunction(fn, knowledge, (o) => {
		switch (o.kind) {
			case 'lock':
			case 'unlock': {
				const args = o.node.type === 'call_expression' ? callArguments(o.node) : [];
				const guardArgs = guardLockArgument(o.node);
				const kind = o.primitive.op === 'trylock' ? 'trylock' : o.kind;
				add({ kind, node: o.node, cacheExpr: lockOwner(guardArgs ?? args[0]), variant: o.primitive.variant, mode: o.primitive.mode });
				break;
			}
			case 'gpcCall':
				add({ kind: 'gpc', node: o.node, cacheExpr: o.args[o.api.gpc], role: o.api.role });
				break;
			case 'use':
				if (o.derived) add({ kind: 'use', node: o.node, derived: o.derived.name });
				else add({ kind: 'use', node: o.node, cacheExpr: khvaOwner(o.node) });
				break;
			case 'fieldRead':
				add({ kind: 'fieldRead', node: o.node, cacheExpr: o.node.childForFieldName('argument') ?? undefined, field: o.field });
				break;
			case 'sleep':
				if (!knowledge.api.has(o.callee)) add({ kind: 'sleep', node: o.node });
				break;
			default:
		}
	});
	if (!sites.some((s) => s.kind !== 'sleep')) return undefined;
	if (sites.some((s) => (s.kind === 'lock' || s.kind === 'trylock') && s.mode === 'write')) {
		throw new ExtractError(`${name}() takes a gpc lock for write: it is pfncache.c's own code or a writer the model's threads do not cover (they take gpc->lock for read)`);
	}
	// Calls the dataflow does not report as gpc operations but the model runs: interrupts, SRCU.
	for (const call of fn.descendantsOfType('call_expression')) {
		const callee = call && calleeName(call);
		if (!call || !callee) continue;
		if (IRQ_SAVE.has(callee)) add({ kind: 'irqSave', node: call });
		else if (IRQ_RESTORE.has(callee)) add({ kind: 'irqRestore', node: call });
		else if (SRCU_LOCK.test(callee)) add({ kind: 'srcuLock', node: call });
		else if (SRCU_UNLOCK.test(callee)) add({ kind: 'srcuUnlock', node: call });
	}
	return { name, sites, cfg: analysis.cfg };
}

/** `guard(read_lock_irqsave)(&gpc->lock)` / `scoped_guard(read_lock, &gpc->lock)`: the lock argument. */
function guardLockArgument(node: SyntaxNode): SyntaxNode | undefined {
	if (node.type !== 'call_expression') return undefined;
	if (calleeName(node) === 'scoped_guard') return callArguments(node)[1];
	const inner = node.childForFieldName('function');
	if (inner?.type === 'call_expression' && calleeName(inner) === 'guard') return callArguments(node)[0];
	return undefined;
}

/** `&gpc->lock` → `gpc`. */
function lockOwner(arg: SyntaxNode | undefined): SyntaxNode | undefined {
	if (!arg) return undefined;
	const e = stripParens(arg);
	const field = e.type === 'pointer_expression' ? e.childForFieldName('argument') : e;
	const f = field && stripParens(field);
	return f?.type === 'field_expression' && f.childForFieldName('field')?.text === 'lock' ? (f.childForFieldName('argument') ?? undefined) : undefined;
}

/** The cache expression of `gpc->khva` (or `gpc->pfn`) inside a use. */
function khvaOwner(node: SyntaxNode): SyntaxNode | undefined {
	const all = [node, ...node.descendantsOfType('field_expression')];
	for (const f of all) {
		if (f?.type !== 'field_expression') continue;
		const field = f.childForFieldName('field')?.text;
		if (field === 'khva' || field === 'pfn') return f.childForFieldName('argument') ?? undefined;
	}
	return undefined;
}

/** Instances whose lock the function's callers hold: lockdep_assert_held(&X->lock), __must_hold(&X->lock). */
export function heldAtEntry(fn: SyntaxNode, sites: Site[]): string[] {
	const out: string[] = [];
	for (const call of fn.descendantsOfType('call_expression')) {
		if (!call || !/^lockdep_assert_held(_read)?$/.test(calleeName(call) ?? '')) continue;
		const owner = lockOwner(callArguments(call)[0]);
		const inst = owner && canonicalPath(owner, {});
		if (inst && sites.some((x) => x.kind === 'unlock' && x.cacheExpr && canonicalPath(x.cacheExpr, {}) === inst)) out.push(inst);
	}
	for (const m of functionHeader(fn).matchAll(/__(?:must_hold|releases)\s*\(\s*&?\s*([\w.>-]+?)\s*(?:->|\.)lock\s*\)/g)) {
		const inst = m[1].replace(/->/g, '.');
		if (!out.includes(inst)) out.push(inst);
	}
	return out;
}

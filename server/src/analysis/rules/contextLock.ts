// What gpc-lock-in-sched-out and gpc-lock-in-hardirq share: a blocking gpc
// lock taken on a world entered in a calling context of one kind, the chain
// that reaches it as related locations, and the upstream rewrite of the lock.
import type { SyntaxNode } from '../../parse/parser';
import { RWLOCK_PRIMITIVES } from '../api';
import { chainText, type CallingContext, type ContextKind } from '../contexts';
import type { Fix } from '../findings';
import type { Observation } from '../observations';
import { callArguments, calleeName } from '../../parse/nodes';
import type { Hold } from '../state';
import type { Related } from './types';

type LockObservation = Extract<Observation, { kind: 'lock' }>;

/** The calling context of `kind` a blocking (non-try) gpc lock is taken in, if it is. */
export function blockingLockIn(o: Observation, kind: ContextKind): { lock: LockObservation; context: CallingContext } | undefined {
	if (o.kind !== 'lock' || o.primitive.op !== 'lock') return undefined;
	const context = o.world.atomicReason?.context;
	// A runtime guard (`in_atomic()`, `preemptible()`) proved this path is not in that context.
	if (context?.kind !== kind || o.world.sleepable) return undefined;
	return { lock: o, context };
}

/** The name of the locking call as written: `read_lock_irqsave`, or `guard(read_lock)`. */
export function lockName(node: SyntaxNode): string {
	const callee = calleeName(node);
	if (callee === 'scoped_guard') return `scoped_guard(${callArguments(node)[0]?.text ?? ''})`;
	if (callee) return callee;
	const fn = node.childForFieldName('function');
	return fn ? fn.text.replace(/\s+/g, '') : node.text.split('(')[0];
}

/** The entry point and every call of the chain, as related locations. */
export function chainRelated(context: CallingContext): Related[] {
	const [entry, ...calls] = context.chain;
	const out: Related[] = [{ file: entry.file, line: entry.line, message: context.entry }];
	calls.forEach((link, i) => {
		const caller = context.chain[i];
		if (link.callLine === undefined) return;
		const bound = Object.entries(link.bound).map(([k, v]) => `${k} = ${v}`).join(', ');
		out.push({ file: caller.file, line: link.callLine, message: `${caller.fn}() calls ${link.fn}()${bound ? ` with ${bound}` : ''}` });
	});
	return out;
}

export { chainText };

/** Trylock, and what undoes the interrupt (or bottom-half) state the blocking variant would set. */
const TRY_SHAPE: Record<string, { before?: (flags: string) => string; undo?: (flags: string) => string }> = {
	plain: {},
	irqsave: { before: (f) => `local_irq_save(${f});`, undo: (f) => `local_irq_restore(${f});` },
	irq: { before: () => 'local_irq_disable();', undo: () => 'local_irq_enable();' },
	bh: { before: () => 'local_bh_disable();', undo: () => 'local_bh_enable();' },
};

/**
 * Upstream's shape (bbe17c625d68, 6.2+): when the context is decided by the function's
 * own parameters, take the lock with a trylock on that side and bail out when it fails:
 *
 *	if (atomic) {
 *		local_irq_save(flags);
 *		if (!read_trylock(&gpc->lock)) {
 *			local_irq_restore(flags);
 *			return;
 *		}
 *	} else {
 *		read_lock_irqsave(&gpc->lock, flags);
 *	}
 *
 * Undefined when the lock is not a plain statement, the function returns a value (no safe
 * value to bail out with), the context binds none of its parameters, or the path holds
 * something a bail-out could not release (a spinlock, interrupts disabled by hand).
 */
export function trylockFix(o: LockObservation, context: CallingContext): Fix | undefined {
	const call = o.node;
	const stmt = call.parent;
	const callee = calleeName(call);
	const prim = callee ? RWLOCK_PRIMITIVES[callee] : undefined;
	if (!prim || prim.op !== 'lock' || stmt?.type !== 'expression_statement') return undefined;
	const fn = enclosingFunction(stmt);
	if (!fn || !returnsVoid(fn)) return undefined;
	const params = parameterNames(fn);
	const parts = Object.entries(context.values).filter(([p]) => params.includes(p)).map(([p, v]) => (v === 'true' ? p : v === 'false' ? `!${p}` : `${p} == ${v}`));
	if (!parts.length) return undefined;
	if (Object.keys(o.world.spins).length) return undefined;

	// The other gpc locks held here are released on the way out, innermost first.
	const held = Object.values(o.world.instances).filter((s) => s.held === 'yes');
	if (held.some((s) => !s.hold)) return undefined;
	const holds = held.map((s) => s.hold!).sort((a, b) => b.id - a.id);
	const pairedIrq = holds.some((h) => h.variant === 'irqsave' || h.variant === 'irq' || h.irqPairFlags);
	if (o.world.irqOff !== 'no' && !pairedIrq) return undefined;
	const releases = holds.map(unlockOf);
	if (releases.some((r) => r === undefined)) return undefined;

	const args = callArguments(call);
	const lock = args[0]?.text;
	const flags = prim.flags !== undefined ? args[prim.flags]?.text : undefined;
	if (!lock || (prim.variant === 'irqsave' && !flags)) return undefined;
	const shape = TRY_SHAPE[prim.variant];
	const indent = indentationOf(stmt, fn);
	const original = stmt.text.split('\n').map((l, i) => (i ? `\t${l}` : l)).join('\n');
	const condition = parts.join(' && ');
	const lines = [
		`if (${condition}) {`,
		...(shape.before ? [`\t${shape.before(flags ?? '')}`] : []),
		`\tif (!${prim.mode}_trylock(${lock})) {`,
		...(shape.undo ? [`\t\t${shape.undo(flags ?? '')}`] : []),
		...releases.map((r) => `\t\t${r}`),
		'\t\treturn;',
		'\t}',
		'} else {',
		`\t${original}`,
		'}',
	];
	const start = { line: stmt.startPosition.row, character: stmt.startPosition.column };
	const end = { line: stmt.endPosition.row, character: stmt.endPosition.column };
	return {
		title: `Take ${lock.replace(/^&/, '')} with ${prim.mode}_trylock() when ${condition}, and bail out if it is contended (upstream bbe17c625d68)`,
		edits: [{ range: { start, end }, newText: lines.map((l, i) => (i ? indent + l : l)).join('\n') }],
	};
}

function unlockOf(h: Hold): string | undefined {
	const lock = h.site.type === 'call_expression' && calleeName(h.site) ? callArguments(h.site)[0]?.text : undefined;
	if (!lock) return undefined;
	if (h.irqPairFlags) return `${h.mode}_unlock_irqrestore(${lock}, ${h.irqPairFlags});`;
	if (h.variant === 'irqsave') return h.flags ? `${h.mode}_unlock_irqrestore(${lock}, ${h.flags});` : undefined;
	return `${h.mode}_unlock${h.variant === 'plain' ? '' : `_${h.variant}`}(${lock});`;
}

function enclosingFunction(node: SyntaxNode): SyntaxNode | undefined {
	for (let p: SyntaxNode | null = node; p; p = p.parent) if (p.type === 'function_definition') return p;
	return undefined;
}

function returnsVoid(fn: SyntaxNode): boolean {
	return fn.childForFieldName('type')?.text === 'void' && fn.childForFieldName('declarator')?.type === 'function_declarator';
}

function parameterNames(fn: SyntaxNode): string[] {
	const params = fn.childForFieldName('declarator')?.childForFieldName('parameters')?.namedChildren ?? [];
	return params.flatMap((p) => {
		let d = p?.childForFieldName('declarator') ?? null;
		while (d && d.type !== 'identifier') d = d.childForFieldName('declarator');
		return d ? [d.text] : [];
	});
}

/** The whitespace before the statement on its line (kernel code: tabs). */
function indentationOf(stmt: SyntaxNode, fn: SyntaxNode): string {
	const before = fn.text.slice(0, stmt.startIndex - fn.startIndex);
	const line = before.slice(before.lastIndexOf('\n') + 1);
	return /^\s*$/.test(line) ? line : '\t';
}

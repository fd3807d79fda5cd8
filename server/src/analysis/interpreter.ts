// The transfer of one CFG node on one world: the syntax walk that finds, in each statement
// and condition, the gpc events (effects.ts) and the assignments and conditions that
// teach the world about its variables. flow.ts runs it to the fixpoint and replays it.
import type { SyntaxNode } from '../parse/parser';
import { callArguments, calleeName, stripParens } from '../parse/nodes';
import { declaratorName } from '../parse/declarations';
import {
	IRQ_DISABLE, IRQ_ENABLE, MARK_DIRTY_FUNCTIONS, RWLOCK_PRIMITIVES, SPIN_ACQUIRE, SPIN_RELEASE, WRITES_FIRST_ARGUMENT,
	WRITES_SECOND_ARGUMENT, type LockPrimitive,
} from './api';
import { CONSTANT } from './calls';
import type { CfgNode } from './cfg';
import { Effects } from './effects';
import * as atomic from './models/atomic';
import { learnEquality, learnTruth } from './models/variables';
import { canonicalPath } from './paths';
import { returnedPointer } from './resolve';
import { setEntry, type World } from './state';

/** Guard classes that make the scope atomic; mutex, srcu, rwsem guards may sleep. */
const ATOMIC_GUARD = /^((raw_)?spinlock(_irq|_irqsave|_bh|_nested)?|(read|write)_lock(_irq|_irqsave|_bh)?|irq|irqsave|preempt|preempt_notrace|rcu)$/;
/** Fields the refresher rewrites together with khva/pfn under the write lock. */
const REFRESHED_FIELDS: ReadonlySet<string> = new Set(['memslot', 'gpa', 'uhva', 'generation']);

export type Successors = [succ: number, world: World][];

/** What one return returns: a khva with the lock held, a failure (NULL, an error), or something else. */
export type ReturnedKhva = { kind: 'khva'; instance: string; mode: 'read' | 'write'; variant: LockPrimitive['variant'] } | { kind: 'failure' } | { kind: 'other' };

export class Interpreter extends Effects {
	/** The worlds one input world leaves a node with, in successor order. */
	transfer(node: CfgNode, input: World): Successors {
		const out: Successors = [];
		switch (node.kind) {
			case 'cond': {
				const [t, f] = node.succ;
				for (const [branch, value] of [[t, true], [f, false]] as const) {
					const w = this.fork(input);
					this.evaluate(node.ast!, w, 'read');
					if (this.refine(node.ast!, w, value)) out.push([branch, w]);
				}
				break;
			}
			case 'stmt': {
				const w = this.fork(input);
				this.evaluate(node.ast!, w, 'read');
				this.noteIgnoredCheck(node.ast!, w);
				for (const s of node.succ) out.push([s, w]);
				break;
			}
			case 'return': {
				const value = node.ast!.type === 'return_statement' ? node.ast!.namedChildren.find((c) => c?.type !== 'comment') : undefined;
				this.observe?.({ kind: 'exit', node: node.ast!, world: input, returnValue: value ?? undefined });
				for (const s of node.succ) out.push([s, input]);
				break;
			}
			case 'scopeEnd': {
				const w = this.fork(input);
				for (const g of node.guards ?? []) this.releaseGuard(g, w);
				for (const s of node.succ) out.push([s, w]);
				break;
			}
			case 'opaque': {
				// An unparsed region: whatever it does to a lock or a check is unknown.
				const w = this.fork(input);
				this.havocFrom(node.ast!, w);
				for (const s of node.succ) out.push([s, w]);
				break;
			}
			default:
				for (const s of node.succ) out.push([s, input]);
		}
		return out;
	}

	/** What a return statement's value is, for the lock-returning-helper summary. */
	returnedKhva(value: SyntaxNode | undefined, w: World): ReturnedKhva {
		if (!value) return { kind: 'other' };
		const v = stripParens(value);
		if (v.type === 'null' || v.text === 'NULL' || v.text === '0' || /^ERR_PTR\b/.test(v.text)) return { kind: 'failure' };
		// Read only: the world is the replay's input, shared with hover's states.
		const derived = returnedPointer(v, w);
		const instance = this.khvaIn(v, w) ?? (derived && w.derived[derived].stale === 'no' ? w.derived[derived].instance : undefined);
		const s = instance ? w.instances[instance] : undefined;
		if (!instance || s?.held !== 'yes' || s.valid !== 'yes' || !s.hold) return { kind: 'other' };
		return { kind: 'khva', instance, mode: s.hold.mode, variant: s.hold.variant };
	}

	private evaluate(node: SyntaxNode, w: World, mode: 'read' | 'write'): void {
		switch (node.type) {
			case 'call_expression':
				return this.call(node, w);
			case 'assignment_expression': {
				const left = node.childForFieldName('left');
				const right = node.childForFieldName('right');
				if (right) this.evaluate(right, w, 'read');
				if (left) this.evaluate(left, w, 'write');
				if (left?.type === 'identifier') this.bind(left.text, right, w, node.childForFieldName('operator')?.text === '=');
				else if (left?.type === 'field_expression') this.store(left, right, w, node.childForFieldName('operator')?.text === '=');
				return;
			}
			case 'init_declarator': {
				const value = node.childForFieldName('value');
				if (value) this.evaluate(value, w, 'read');
				const lname = declaratorName(node.childForFieldName('declarator'));
				if (lname) this.bind(lname, value, w, true);
				return;
			}
			case 'declaration': {
				for (const d of node.childrenForFieldName('declarator')) {
					if (d.type === 'init_declarator') this.evaluate(d, w, 'read');
					else {
						const lname = declaratorName(d);
						if (lname) this.bind(lname, null, w, true);
					}
				}
				return;
			}
			case 'update_expression': {
				const arg = node.childForFieldName('argument');
				if (arg) this.evaluate(arg, w, 'write');
				if (arg?.type === 'identifier') this.forget(arg.text, w);
				return;
			}
			case 'field_expression': {
				const arg = node.childForFieldName('argument');
				const field = node.childForFieldName('field')?.text;
				if (!arg) return;
				if (mode === 'read' && field && REFRESHED_FIELDS.has(field)) this.fieldRead(node, arg, field, w);
				if (field === 'khva' || field === 'pfn') {
					const inst = this.gpcPath(arg, w, field === 'khva');
					if (inst) {
						this.use(node, inst, w, mode);
						return;
					}
				}
				const base = stripParens(arg);
				const arrow = node.childForFieldName('operator')?.text === '->';
				if (base.type === 'identifier' && w.derived[base.text] && arrow) {
					this.derivedUse(node, base.text, w, mode);
					return;
				}
				// `vmx->nested.pi_desc->control`: through a field that holds a khva.
				const held = arrow && base.type === 'field_expression' ? this.storedPointer(base, w) : undefined;
				if (held) {
					this.derivedUse(node, held, w, mode);
					return;
				}
				// `((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending = 1`
				const through = arrow ? this.khvaIn(base, w) : undefined;
				if (through) {
					this.use(node, through, w, mode);
					return;
				}
				this.evaluate(arg, w, mode === 'write' && node.childForFieldName('operator')?.text === '.' ? 'write' : 'read');
				return;
			}
			case 'pointer_expression': {
				const arg = node.childForFieldName('argument');
				if (!arg) return;
				const op = node.childForFieldName('operator')?.text;
				const base = stripParens(arg);
				if (op === '*' && this.derivedBase(base, w)) {
					this.derivedUse(node, this.derivedBase(base, w)!, w, mode);
					this.evaluate(arg, w, 'read');
					return;
				}
				if (op === '*') {
					const inst = this.khvaIn(base, w);
					if (inst) {
						this.use(node, inst, w, mode);
						return;
					}
				}
				this.evaluate(arg, w, op === '&' ? 'read' : mode);
				return;
			}
			case 'subscript_expression': {
				const arg = node.childForFieldName('argument');
				const index = node.childForFieldName('index');
				if (index) this.evaluate(index, w, 'read');
				if (arg && this.derivedBase(stripParens(arg), w)) {
					this.derivedUse(node, this.derivedBase(stripParens(arg), w)!, w, mode);
					return;
				}
				if (arg) this.evaluate(arg, w, mode);
				return;
			}
			case 'sizeof_expression':
			case 'offsetof_expression':
			case 'alignof_expression':
			case 'string_literal':
			case 'number_literal':
			case 'comment':
				return;
			case 'compound_statement':
				// A statement expression: evaluate its statements in order (approximation).
				for (const c of node.namedChildren) if (c) this.evaluate(c, w, 'read');
				return;
			default:
				for (const c of node.namedChildren) if (c) this.evaluate(c, w, c.type === 'parenthesized_expression' ? mode : 'read');
		}
	}

	/** Assignment to a local: aliases, derived pointers, check results, known truth values. */
	private bind(name: string, value: SyntaxNode | null, w: World, plain: boolean): void {
		this.forget(name, w);
		if (!plain || !value) return;
		const v = stripParens(value);
		const khva = this.khvaIn(v, w);
		const fromDerived = this.derivedBase(v, w);
		if (!khva && !fromDerived && v.type === 'pointer_expression' && v.childForFieldName('operator')?.text === '&') {
			const path = canonicalPath(v, w.aliases);
			const inner = v.childForFieldName('argument');
			if (path && inner && stripParens(inner).type === 'field_expression') {
				setEntry(w, 'aliases', name, path);
				return;
			}
		}
		if (v.type === 'identifier' && w.aliases[v.text]) {
			setEntry(w, 'aliases', name, w.aliases[v.text]);
			return;
		}
		if (khva || fromDerived) {
			const inst = khva ?? w.derived[fromDerived!].instance;
			const s = this.instance(inst, w);
			const validated = s.held === 'yes' && s.valid === 'yes';
			setEntry(w, 'derived', name, {
				instance: inst,
				stale: fromDerived ? w.derived[fromDerived].stale : validated ? 'no' : 'maybe',
				site: value,
			});
			return;
		}
		if (v.type === 'call_expression' && this.bindLockedReturn(name, v, w)) return;
		if (v.type === 'call_expression') {
			const api = this.apiOf(v);
			const callee = calleeName(v);
			const checked = api?.role === 'check' ? api.gpc : callee ? this.tree.checkWrapper?.(callee) : undefined;
			const arg = checked !== undefined ? callArguments(v)[checked] : undefined;
			const inst = arg && this.gpcPath(arg, w, true);
			if (inst) setEntry(w, 'checkVars', name, { instance: inst, site: v });
			return;
		}
		if (v.type === 'true' || (v.type === 'number_literal' && v.text !== '0')) setEntry(w, 'known', name, true);
		else if (v.type === 'false' || v.type === 'null' || v.text === '0' || v.text === 'NULL') setEntry(w, 'known', name, false);
	}

	private call(node: SyntaxNode, w: World): void {
		const callee = calleeName(node);
		const fnExpr = node.childForFieldName('function');
		const args = callArguments(node);

		// guard(read_lock)(&gpc->lock): scope-based locking.
		if (!callee && fnExpr?.type === 'call_expression' && calleeName(fnExpr) === 'guard') {
			const kind = callArguments(fnExpr)[0]?.text ?? '';
			const prim = RWLOCK_PRIMITIVES[kind];
			const inst = this.lockInstance(args[0], w);
			if (prim && inst) this.lock(node, inst, prim, undefined, w);
			else if (ATOMIC_GUARD.test(kind)) atomic.spinAcquire(w, args[0]?.text ?? kind, node);
			return;
		}
		if (callee === 'scoped_guard') {
			const kind = args[0]?.text ?? '';
			const prim = RWLOCK_PRIMITIVES[kind];
			const inst = this.lockInstance(args[1], w);
			if (prim && inst) this.lock(node, inst, prim, undefined, w);
			else if (ATOMIC_GUARD.test(kind)) atomic.spinAcquire(w, args[1]?.text ?? kind, node);
			return;
		}

		const api = callee ? this.tree.api.get(callee) : undefined;
		const written = callee ? this.writtenArgument(callee, args) : undefined;
		for (const a of args) {
			if (a === written) {
				this.writeThrough(a, w);
				continue;
			}
			const base = stripParens(a);
			if (base.type === 'identifier' && w.derived[base.text] && !(api && args.indexOf(a) === api.gpc)) {
				this.derivedUse(a, base.text, w, 'read');
				continue;
			}
			const stored = base.type === 'field_expression' && !api ? this.storedPointer(base, w) : undefined;
			if (stored) {
				this.derivedUse(a, stored, w, 'read');
				continue;
			}
			this.evaluate(a, w, 'read');
		}
		if (!callee) {
			if (fnExpr) this.evaluate(fnExpr, w, 'read');
			return;
		}
		this.analysis?.calls.push({
			callee,
			node,
			// An instance the callers hold and this function has not touched yet is held too.
			heldGpc: [
				...Object.entries(w.instances).filter(([, s]) => s.held === 'yes').map(([k]) => k),
				...[...this.scope.entryHeld].filter((k) => !w.instances[k] && !this.scope.managed.has(k)),
			],
			atomic: this.atomicContext(w),
			argPaths: args.map((a) => canonicalPath(a, w.aliases)),
		});

		const prim = RWLOCK_PRIMITIVES[callee];
		if (prim) {
			const inst = this.lockInstance(args[0], w);
			const flags = prim.flags !== undefined ? args[prim.flags]?.text : undefined;
			if (!inst) {
				if (prim.op === 'lock') atomic.spinAcquire(w, args[0]?.text ?? callee, node);
				else if (prim.op === 'unlock') atomic.spinRelease(w, args[0]?.text ?? callee);
				return;
			}
			if (prim.op === 'lock') this.lock(node, inst, prim, flags, w);
			else if (prim.op === 'unlock') this.unlock(node, inst, prim, flags, w);
			else {
				// A trylock whose result is not tested: the lock may or may not be held.
				const s = this.instance(inst, w);
				s.held = 'maybe';
				s.valid = 'maybe';
			}
			return;
		}
		if (callee === 'lock_set_subclass' || callee === 'lockdep_assert_held' || callee === 'lockdep_assert_held_read') return;
		if (SPIN_ACQUIRE.test(callee)) {
			atomic.spinAcquire(w, args[0]?.text ?? callee, node);
			return;
		}
		if (SPIN_RELEASE.test(callee)) {
			atomic.spinRelease(w, args[0]?.text ?? callee);
			return;
		}
		if (IRQ_DISABLE[callee]) {
			const f = IRQ_DISABLE[callee].flags;
			atomic.irqDisable(w, node, f !== undefined ? args[f]?.text : undefined, f !== undefined);
			return;
		}
		if (IRQ_ENABLE[callee]) {
			atomic.irqEnable(w);
			return;
		}
		if (api) {
			this.gpcCall(node, api, args, w);
			return;
		}
		if (MARK_DIRTY_FUNCTIONS.has(callee)) {
			this.markDirty(args, w);
			return;
		}
		const why = atomic.sleepReason(callee, args, (name) => this.tree.maySleep(name));
		if (why) this.observe?.({ kind: 'sleep', node, callee, why, world: w });
	}

	/** Which argument a call writes through, if it is one that does. */
	private writtenArgument(callee: string, args: SyntaxNode[]): SyntaxNode | undefined {
		if (WRITES_FIRST_ARGUMENT.test(callee) && !/^atomic\d*_read$/.test(callee)) return args[0];
		if (WRITES_SECOND_ARGUMENT.test(callee)) return args[1];
		return undefined;
	}

	private writeThrough(arg: SyntaxNode, w: World): void {
		const derived = this.derivedBase(arg, w);
		if (derived) {
			this.derivedUse(arg, derived, w, 'write');
			return;
		}
		const inst = this.khvaIn(arg, w);
		if (inst) {
			this.use(arg, inst, w, 'write');
			return;
		}
		const e = stripParens(arg);
		if (e.type === 'pointer_expression' && e.childForFieldName('operator')?.text === '&') {
			const inner = e.childForFieldName('argument');
			if (inner) this.evaluate(inner, w, 'write');
			return;
		}
		this.evaluate(arg, w, 'read');
	}

	/** Refines a world by a condition atom's outcome; false means the edge is infeasible. */
	private refine(cond: SyntaxNode, w: World, value: boolean): boolean {
		const e = stripParens(cond);
		if (e.type === 'call_expression') {
			const callee = calleeName(e);
			const args = callArguments(e);
			const api = callee ? this.tree.api.get(callee) : undefined;
			const checked = api?.role === 'check' ? api.gpc : callee ? this.tree.checkWrapper?.(callee) : undefined;
			if (checked !== undefined) {
				const inst = args[checked] && this.gpcPath(args[checked], w, true);
				if (inst) this.checkOutcome(inst, e, w, value);
				return true;
			}
			const prim = callee ? RWLOCK_PRIMITIVES[callee] : undefined;
			if (prim?.op === 'trylock') {
				const inst = this.lockInstance(args[0], w);
				if (inst) {
					const s = this.instance(inst, w);
					if (value) {
						this.lock(e, inst, prim, undefined, w);
						w.atomicReason ??= { why: `${callee}() is used here because the path may be atomic`, site: e };
					} else if (s.held === 'maybe') s.held = 'no';
				} else if (value) atomic.spinAcquire(w, args[0]?.text ?? callee!, e);
				return true;
			}
			if (callee && /^(raw_)?spin_trylock/.test(callee) && value) atomic.spinAcquire(w, args[0]?.text ?? callee, e);
			if (callee && atomic.refineRuntimeGuard(callee, value, w)) return true;
			if (api?.role === 'refresh' || api?.role === 'activate') return true;
			return true;
		}
		if (e.type === 'number_literal' || e.type === 'true' || e.type === 'false') {
			const truthy = e.type === 'true' || (e.type === 'number_literal' && !/^0+[uUlL]*$/.test(e.text));
			return truthy === value;
		}
		if (e.type === 'identifier') return this.learn(e.text, value, w);
		if (e.type === 'field_expression' && e.childForFieldName('field')?.text === 'valid') {
			// `if (gpc->valid)` under the lock (6.1's shared_info init) validates like a check.
			const arg = e.childForFieldName('argument');
			const inst = arg && this.gpcPath(arg, w);
			if (inst) this.checkOutcome(inst, e, w, value);
			return true;
		}
		if (e.type === 'binary_expression') {
			const op = e.childForFieldName('operator')?.text;
			const l = e.childForFieldName('left');
			const r = e.childForFieldName('right');
			const zero = (n: SyntaxNode | null) => !!n && (n.text === '0' || n.text === 'NULL' || n.type === 'false');
			if ((op === '==' || op === '!=') && l && r) {
				const ident = zero(r) ? stripParens(l) : zero(l) ? stripParens(r) : undefined;
				if (ident?.type === 'identifier') return this.learn(ident.text, op === '==' ? !value : value, w);
				// `state == RUNSTATE_runnable`: a variable against a named constant.
				const [x, c] = [stripParens(l), stripParens(r)];
				if (x.type === 'identifier' && CONSTANT.test(c.text)) return learnEquality(x.text, c.text, op === '==' ? value : !value, w);
			}
		}
		if (e.type === 'field_expression' || e.type === 'pointer_expression') return true;
		return true;
	}

	private learn(name: string, value: boolean, w: World): boolean {
		if (!learnTruth(name, value, w)) return false;
		const check = w.checkVars[name];
		if (check?.locks) this.lockOutcome(check.instance, check.site, check.locks, w, value);
		else if (check) this.checkOutcome(check.instance, check.site, w, value);
		return true;
	}
}

// What the gpc events the interpreter meets do to the models: a lock taken or dropped, a
// check's outcome, a use of the mapping, a gpc API call, a pointer stored in a field, an
// unparsed region. Each event tells the rules (an observation) and then the models: every
// model that reacts to it (its `events`, models/types.ts), or the one model it concerns.
import type { SyntaxNode } from '../parse/parser';
import { callArguments, calleeName, stripParens } from '../parse/nodes';
import { RWLOCK_PRIMITIVES, SLEEPING_ROLES, type GpcFunction, type LockPrimitive } from './api';
import * as atomic from './models/atomic';
import { markDirty } from './models/dirty';
import { reacting } from './models/index';
import * as locks from './models/locks';
import { checkOutcome, lockedOutcome } from './models/validity';
import type { AtomicContext } from './observations';
import { canonicalPath } from './paths';
import { MAPPING_FIELD, Resolver } from './resolve';
import { deleteEntry, forgetLocal, setEntry, type World } from './state';

/** The models' reactions to each event, in MODELS order. */
const ACQUIRED = reacting('acquired');
const RELEASED = reacting('released');
const GPC_CALL = reacting('gpcCall');
const WROTE = reacting('wrote');

export class Effects extends Resolver {
	protected use(node: SyntaxNode, instance: string, w: World, access: 'read' | 'write'): void {
		const state = this.instance(instance, w);
		this.observe?.({ kind: 'use', node, instance, access, state, world: w });
		if (access === 'write' && state.held === 'yes' && state.valid === 'yes') for (const react of WROTE) react(state, node);
	}

	/** `gpc->gpa` and its siblings: only the state is observed (a read needs no check, only the hold it was validated under). */
	protected fieldRead(node: SyntaxNode, arg: SyntaxNode, field: string, w: World): void {
		const inst = this.observe && this.gpcPath(arg, w);
		if (inst) this.observe!({ kind: 'fieldRead', node, instance: inst, field, state: w.instances[inst] ?? this.fallback(inst), world: w });
	}

	protected derivedUse(node: SyntaxNode, name: string, w: World, access: 'read' | 'write'): void {
		const pointer = w.derived[name];
		const state = this.instance(pointer.instance, w);
		this.observe?.({ kind: 'use', node, instance: pointer.instance, access, derived: { name, pointer }, state, world: w });
		if (access === 'write' && state.held === 'yes' && pointer.stale === 'no') for (const react of WROTE) react(state, node);
	}

	protected lock(node: SyntaxNode, inst: string, prim: LockPrimitive, flags: string | undefined, w: World): void {
		const s = this.instance(inst, w);
		this.observe?.({ kind: 'lock', node, instance: inst, primitive: prim, state: { ...s }, world: w });
		locks.acquire(s, prim, node, w, { flags, trylock: prim.op === 'trylock' });
		for (const react of ACQUIRED) react(s);
	}

	protected unlock(node: SyntaxNode, inst: string, prim: LockPrimitive, flags: string | undefined, w: World): void {
		const s = this.instance(inst, w);
		this.observe?.({ kind: 'unlock', node, instance: inst, primitive: prim, flags, state: { ...s }, world: w });
		if (prim.variant === 'irqsave' && s.hold?.irqPairFlags) atomic.irqEnable(w);
		this.release(node, inst, w);
	}

	/** The lock is dropped: the mapping may go, pointers into it go stale. */
	protected release(node: SyntaxNode, inst: string, w: World): void {
		const s = this.instance(inst, w);
		for (const react of RELEASED) react(s, node, inst, w);
		locks.drop(s);
	}

	protected releaseGuard(g: SyntaxNode, w: World): void {
		const callee = calleeName(g);
		const fnExpr = g.childForFieldName('function');
		const args = callArguments(g);
		const lockArg = callee === 'scoped_guard' ? args[1] : args[0];
		const kind = callee === 'scoped_guard' ? args[0]?.text : fnExpr && callArguments(fnExpr)[0]?.text;
		const prim = RWLOCK_PRIMITIVES[kind ?? ''];
		const inst = this.lockInstance(lockArg, w);
		if (prim && inst) this.release(g, inst, w);
		else atomic.spinRelease(w, lockArg?.text ?? '');
	}

	protected gpcCall(node: SyntaxNode, api: GpcFunction, args: SyntaxNode[], w: World): void {
		const gpcArg = args[api.gpc];
		const inst = gpcArg && this.gpcPath(gpcArg, w, true);
		if (!inst) return;
		const s = this.instance(inst, w);
		const context = this.atomicContext(w);
		this.observe?.({ kind: 'gpcCall', node, instance: inst, api, args, state: { ...s }, world: w, atomic: context });
		if (SLEEPING_ROLES.has(api.role)) this.observe?.({ kind: 'sleep', node, callee: api.name, why: `${api.name}() may sleep`, world: w });
		for (const react of GPC_CALL) react(s, api.role, node, inst, w, (other) => this.instance(other, w));
	}

	protected markDirty(args: SyntaxNode[], w: World): void {
		let matched = false;
		for (const a of args) {
			for (const f of a.descendantsOfType('field_expression')) {
				const arg = f?.childForFieldName('argument');
				const inst = arg && this.gpcPath(arg, w);
				if (inst && w.instances[inst]) {
					markDirty(this.instance(inst, w), args[0]);
					matched = true;
				}
			}
		}
		// mark_page_dirty(kvm, gfn) without a gpc argument: assume it covers the pending writes.
		if (!matched) for (const [inst, s] of Object.entries(w.instances)) if (s.dirty) markDirty(this.instance(inst, w), args[0]);
	}

	/** Why the current path cannot sleep, if it cannot. */
	atomicContext(w: World): AtomicContext | undefined {
		return atomic.atomicContext(w, this.scope.atomicParams);
	}

	/** `kvm_gpc_check(gpc, len);` as a statement: the result is thrown away. */
	protected noteIgnoredCheck(stmt: SyntaxNode, w: World): void {
		const call = stmt.type === 'expression_statement' ? stmt.namedChild(0) : undefined;
		if (call?.type !== 'call_expression') return;
		const api = this.apiOf(call);
		if (api?.role !== 'check') return;
		const arg = callArguments(call)[api.gpc];
		const inst = arg && this.gpcPath(arg, w, true);
		if (inst && this.instance(inst, w).held === 'yes') this.instance(inst, w).ignoredCheck = call;
	}

	protected checkOutcome(inst: string, site: SyntaxNode, w: World, ok: boolean): void {
		checkOutcome(this.instance(inst, w), site, ok);
	}

	/** The pointer a lock-returning helper gave is non-NULL: the lock is held and the cache checked; NULL: not held. */
	protected lockOutcome(inst: string, site: SyntaxNode, how: locks.HowLocked, w: World, taken: boolean): void {
		const s = this.instance(inst, w);
		if (taken) locks.acquire(s, how, site, w);
		else locks.drop(s);
		lockedOutcome(s, site, taken);
	}

	/** The local `name` is assigned: what the world knew of its old value goes. */
	protected forget(name: string, w: World): void {
		forgetLocal(name, w);
	}

	/**
	 * `vmx->nested.pi_desc = gpc->khva`: the field holds a pointer into the mapping, like a local
	 * would (escapes.ts explains the scope). Anything else stored there replaces it.
	 */
	protected store(left: SyntaxNode, value: SyntaxNode | null, w: World, plain: boolean): void {
		const path = canonicalPath(left, w.aliases);
		// The cache's own fields (pfncache.c sets gpc->khva) are the mapping, not a copy of it.
		if (!path || MAPPING_FIELD.test(path)) return;
		deleteEntry(w, 'derived', path);
		if (!plain || !value) return;
		const v = stripParens(value);
		const khva = this.khvaIn(v, w);
		const fromDerived = khva ? undefined : this.derivedBase(v, w);
		const inst = khva ?? (fromDerived ? w.derived[fromDerived].instance : undefined);
		if (!inst) return;
		const s = this.instance(inst, w);
		const stale = fromDerived ? w.derived[fromDerived].stale : s.held === 'yes' && s.valid === 'yes' ? 'no' : 'maybe';
		setEntry(w, 'derived', path, { instance: inst, stale, site: value });
		if (!this.analysis?.stores.some((st) => st.path === path && st.node.startIndex === value.startIndex)) this.analysis?.stores.push({ path, instance: inst, node: value });
	}

	/** `vi = xen_vcpu_info_lock(v, &flags)`: a helper that returns the khva with the lock held. */
	protected bindLockedReturn(name: string, call: SyntaxNode, w: World): boolean {
		const callee = calleeName(call);
		const summary = callee ? this.tree.lockedKhvaReturn?.(callee) : undefined;
		const arg = summary && callArguments(call)[summary.param];
		const owner = arg && canonicalPath(arg, w.aliases);
		if (!summary || !owner) return false;
		const instance = owner + summary.suffix;
		const how = { mode: summary.mode, variant: summary.variant };
		setEntry(w, 'derived', name, { instance, stale: 'no', site: call });
		setEntry(w, 'checkVars', name, { instance, site: call, locks: how });
		if (summary.always) this.lockOutcome(instance, call, how, w, true);
		return true;
	}

	/** An ERROR region that mentions a gpc lock or check makes that instance's state unknown. */
	protected havocFrom(region: SyntaxNode, w: World): void {
		const text = region.text;
		for (const inst of Object.keys(w.instances)) {
			const short = inst.split('.').pop()!;
			if (text.includes(short) || /read_(un)?lock|kvm_gpc_|gfn_to_pfn_cache/.test(text)) {
				const s = this.instance(inst, w);
				s.held = 'maybe';
				s.valid = 'maybe';
			}
		}
		for (const ident of region.descendantsOfType('identifier')) if (ident) this.forget(ident.text, w);
	}
}

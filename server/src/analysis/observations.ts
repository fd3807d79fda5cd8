// What the dataflow tells the rules: each observation is a fact about one
// program point on one world (path class). Rules judge; the engine observes.
import type { SyntaxNode } from '../parse/parser';
import type { NodeSpan } from '../parse/positions';
import type { GpcFunction, LockPrimitive } from './api';
import type { CallingContext } from './contexts';
import type { DerivedPointer, InstanceState, World } from './state';

export interface AtomicContext {
	why: string;
	/** In this function's tree, or (from a caller, learnt in an earlier round) detached from its tree. */
	site?: NodeSpan;
	/** The file of `site` when it is not the analysed function's (a caller's call site). */
	file?: string;
	/** The calling context the function was entered in, when that is why. */
	context?: CallingContext;
}

export type Observation =
	| { kind: 'use'; node: SyntaxNode; instance: string; access: 'read' | 'write'; derived?: { name: string; pointer: DerivedPointer }; state: InstanceState; world: World }
	| { kind: 'fieldRead'; node: SyntaxNode; instance: string; field: string; state: InstanceState; world: World }
	| { kind: 'gpcCall'; node: SyntaxNode; instance: string; api: GpcFunction; args: SyntaxNode[]; state: InstanceState; world: World; atomic?: AtomicContext }
	| { kind: 'lock'; node: SyntaxNode; instance: string; primitive: LockPrimitive; state: InstanceState; world: World }
	| { kind: 'unlock'; node: SyntaxNode; instance: string; primitive: LockPrimitive; flags?: string; state: InstanceState; world: World }
	| { kind: 'sleep'; node: SyntaxNode; callee: string; why: string; world: World }
	| { kind: 'exit'; node: SyntaxNode; world: World; returnValue?: SyntaxNode };

/** Judges observations for one rule; `held` lists instances held in a world. */
export function heldInstances(world: World): string[] {
	return Object.entries(world.instances)
		.filter(([, s]) => s.held === 'yes')
		.map(([k]) => k);
}

// Locks: whether each gpc's rwlock is held on a path, and how it was taken (the hold).
// The lock rules (imbalance, sleep under lock, refresh in atomic, the context rules) read it;
// validity, dirty tracking and derived pointers react to its acquire and release.
import type { SyntaxNode } from '../../parse/parser';
import type { LockVariant } from '../api';
import type { InstanceState, World } from '../state';
import { joinTri, type Model, type Tri } from './types';

export interface Hold {
	id: number;
	mode: 'read' | 'write';
	variant: LockVariant;
	flags?: string;
	/** Taken by read_trylock while local_irq_save(flags) had IRQs off: irqrestore releases both. */
	irqPairFlags?: string;
	trylock: boolean;
	site: SyntaxNode;
}

export interface LockState {
	held: Tri;
	/** Held because every caller holds it at the call; this function never took it. */
	byCaller?: boolean;
	hold?: Hold;
}

/** How a lock is taken: by a lock primitive, or by a helper that returns with it held. */
export interface HowLocked {
	mode: 'read' | 'write';
	variant: LockVariant;
}

let holdIds = 0;

/** Holds made so far: a transfer that made one is not a function of its input world alone. */
export function holdCount(): number {
	return holdIds;
}

/** The lock is taken here: a hold of its own (a trylock under local_irq_save pairs with the flags). */
export function acquire(s: InstanceState, how: HowLocked, site: SyntaxNode, w: World, options: { flags?: string; trylock?: boolean } = {}): void {
	s.held = 'yes';
	s.byCaller = undefined;
	s.hold = { id: ++holdIds, mode: how.mode, variant: how.variant, ...('flags' in options ? { flags: options.flags } : {}), trylock: !!options.trylock, site };
	if (options.trylock && w.irqOff === 'yes' && w.irqFlags) s.hold.irqPairFlags = w.irqFlags;
}

/** The lock is not held (released, or a lock-returning helper returned NULL). */
export function drop(s: InstanceState): void {
	s.held = 'no';
	s.byCaller = undefined;
	s.hold = undefined;
}

/** Holds taken at different sites (before a loop and inside it) join if they are the same kind. */
function joinHold(a: Hold | undefined, b: Hold | undefined): Hold | undefined {
	if (!a || !b) return undefined;
	if (a.id === b.id) return a;
	const same = a.mode === b.mode && a.variant === b.variant && a.flags === b.flags && a.irqPairFlags === b.irqPairFlags && a.trylock === b.trylock;
	return same ? a : undefined;
}

export const locks: Model<Partial<World>, LockState> = {
	name: 'locks',
	instance: {
		join: (x, y) => ({ held: joinTri(x.held, y.held), ...(x.byCaller && y.byCaller ? { byCaller: true } : {}), hold: joinHold(x.hold, y.hold) }),
		key: (s) => [s.held, s.byCaller ? 'c' : '', s.hold?.id ?? '', s.hold?.variant ?? '', s.hold?.flags ?? '', s.hold?.irqPairFlags ?? ''],
	},
};

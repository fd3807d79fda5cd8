// The models the dataflow's state is made of, in the order their slices join and key.
import { atomic } from './atomic';
import { dirty } from './dirty';
import { lifecycle } from './lifecycle';
import { locks } from './locks';
import { pointers } from './pointers';
import type { InstanceSlice, Model, ModelEvents, WorldSlice } from './types';
import { validity } from './validity';
import { variables } from './variables';

export const MODELS: readonly Model[] = [locks, validity, dirty, lifecycle, pointers, atomic, variables];

/** The models' slices of every instance state. */
export const INSTANCE_SLICES: readonly InstanceSlice<object>[] = MODELS.flatMap((m) => (m.instance ? [m.instance] : []));
/** The models' slices of every world. */
export const WORLD_SLICES: readonly WorldSlice<object>[] = MODELS.flatMap((m) => (m.world ? [m.world as WorldSlice<object>] : []));
/** Records keyed by a local's name: an assignment to the local forgets its entries. */
export const LOCAL_RECORDS = WORLD_SLICES.flatMap((s) => s.locals ?? []);

/** The models that react to an event, in MODELS order. */
export function reacting<E extends keyof ModelEvents>(event: E): NonNullable<ModelEvents[E]>[] {
	return MODELS.flatMap((m) => (m.events?.[event] ? [m.events[event]!] : []));
}

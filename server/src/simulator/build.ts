// Scenario + variant -> one closed model (globals, thread programs, end checks).
import type { Ctx } from './ctx';
import { ThreadBuilder, type Model } from './ir';
import { declareGlobals, leakChecks, type World } from './model';
import type { Scenario, ThreadSpec } from './scenarios';
import { variantFlags, type Variant, type VariantFlags } from './variants';

/** Loop back-edges allowed per thread after the last adversary finished (see docs/SIMULATOR.md). */
export const LIVENESS_BOUND = 3;

export interface BuiltModel extends Model {
	world: World;
	scenario: string;
	variant: string;
}

export function assemble(world: World, specs: ThreadSpec[], flags: VariantFlags, names: { scenario: string; variant: string }, bound = LIVENESS_BOUND): BuiltModel {
	const ctx: Ctx = { world, flags, bound };
	const threads = specs.map((s, i) => {
		const t = new ThreadBuilder(s.name, i + 1, s.adversary);
		s.emit(t, ctx, specs.length);
		return t.finish();
	});
	const globals = declareGlobals(world, specs.length).map((d) => (d.name === 'adv' ? { ...d, init: specs.filter((s) => s.adversary).length } : d));
	return { globals, threads, endChecks: leakChecks(world), world, ...names };
}

export function buildModel(scenario: Scenario, variant: Variant, bound = LIVENESS_BOUND): BuiltModel {
	const flags = variantFlags(variant);
	return assemble(scenario.world, scenario.build(flags), flags, { scenario: scenario.id, variant: variant.id }, bound);
}

// Scenario + variant -> one closed model (globals, thread programs, end checks).
import type { Ctx } from './ctx';
import { ThreadBuilder, and, eq, g, type Model } from './ir';
import { declareGlobals, leakChecks, type World } from './model';
import type { Scenario, ThreadSpec } from './scenarios';
import { variantFlags, type Variant, type VariantFlags } from './variants';

export interface BuiltModel extends Model {
	world: World;
	scenario: string;
	variant: string;
}

export function assemble(world: World, specs: ThreadSpec[], flags: VariantFlags, names: { scenario: string; variant: string }): BuiltModel {
	const ids = new Map(specs.map((s, i) => [s.name, i + 1]));
	const ctx: Ctx = { world, flags, nThreads: specs.length, threadId: (name) => ids.get(name) };
	const threads = specs.map((s, i) => {
		const t = new ThreadBuilder(s.name, i + 1, s.adversary);
		s.emit(t, ctx);
		return t.finish();
	});
	// A thread a hard IRQ interrupts cannot move until the handler returns (irq_exit() clears hirq).
	for (const s of specs) {
		if (!s.interrupts) continue;
		const v = ids.get(s.interrupts)!;
		const frozen = eq(g('hirq', v), 0);
		threads[v - 1].instrs = threads[v - 1].instrs.map((ins) => ({ ...ins, guard: ins.guard === undefined ? frozen : and(ins.guard, frozen) }));
	}
	return { globals: declareGlobals(world, specs.length), threads, endChecks: leakChecks(world), world, ...names };
}

export function buildModel(scenario: Scenario, variant: Pick<Variant, 'id' | 'flags'>): BuiltModel {
	const flags = variantFlags(variant);
	return assemble(scenario.world, scenario.build(flags), flags, { scenario: scenario.id, variant: variant.id });
}

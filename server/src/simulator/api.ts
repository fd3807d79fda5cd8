// The simulator's operations: list, run, run the matrix and the mutants, run a
// given reader, replay a schedule, emit Promela.
import { assemble, buildModel, type BuiltModel } from './build';
import { explore, replay, type ExploreOptions } from './explorer';
import { checkLiveness } from './liveness';
import { MUTANTS } from './mutants';
import { emitPromelaModel } from './promela';
import { readerThread, SCENARIOS, findScenario, type ThreadSpec } from './scenarios';
import { emitInvalidation, emitMemslotMove } from './notifier';
import type { ReaderProgram } from './reader';
import type { World } from './model';
import { VARIANTS, findVariant } from './variants';
import { choiceVariant } from './shape';
import type { MatrixCell, MutantResult, RunResult, ScenarioInfo, VariantInfo } from './types';

export type RunOptions = ExploreOptions;

export function listScenarios(): ScenarioInfo[] {
	return SCENARIOS.map(({ id, title, description, threads }) => ({ id, title, description, threads }));
}

export function listVariants(): VariantInfo[] {
	return VARIANTS.map(({ id, title, fix, release, description, hazard, expect }) => ({ id, title, fix, release, description, hazard, expect }));
}

function lookup(scenario: string, variant: string): BuiltModel {
	const s = findScenario(scenario);
	if (!s) throw new Error(`unknown scenario '${scenario}' (known: ${SCENARIOS.map((x) => x.id).join(', ')})`);
	const v = findVariant(variant);
	if (!v) throw new Error(`unknown variant '${variant}' (known: ${VARIANTS.map((x) => x.id).join(', ')})`);
	return buildModel(s, v);
}

/** Explores one scenario under one variant: the safety verdict with its shortest trace, and liveness with its lasso. */
export function runScenario(scenario: string, variant = 'upstream', opts?: RunOptions): RunResult {
	const r = explore(lookup(scenario, variant), opts);
	if (variant !== 'upstream' && (r.verdict === 'violation' || r.liveness === 'violated')) r.explanation = findVariant(variant)!.hazard;
	return r;
}

/**
 * Replays the thread order of `schedule` (e.g. another variant's
 * counterexample) on `variant`: each step runs the named thread when it can
 * move; steps it cannot take are skipped. Upstream's run of the same workload.
 */
export function replaySchedule(scenario: string, variant: string, schedule: string[]): RunResult {
	return replay(lookup(scenario, variant), schedule);
}

export function runMatrix(opts?: { scenarios?: string[]; variants?: string[] }): { cells: MatrixCell[] } {
	const cells: MatrixCell[] = [];
	for (const s of opts?.scenarios ?? SCENARIOS.map((x) => x.id)) {
		for (const v of opts?.variants ?? VARIANTS.map((x) => x.id)) {
			const r = runScenario(s, v, { trace: false });
			cells.push({ scenario: s, variant: v, verdict: r.verdict, property: r.property ?? null, states: r.states, ms: r.ms, liveness: r.liveness ?? 'holds' });
		}
	}
	return { cells };
}

/**
 * Runs every mutant of the 6.12 model in every scenario. A scenario kills a
 * mutant when the mutant breaks safety where upstream is safe, or liveness
 * where upstream's holds.
 */
export function runMutants(upstream?: MatrixCell[]): MutantResult[] {
	const base = new Map((upstream ?? runMatrix({ variants: ['upstream'] }).cells).filter((c) => c.variant === 'upstream').map((c) => [c.scenario, c]));
	return MUTANTS.map((m) => {
		const killedBy: string[] = [];
		for (const s of SCENARIOS) {
			const up = base.get(s.id);
			if (!up) continue;
			const model = buildModel(s, { id: `mutant:${m.id}`, flags: { mutant: m.flags } });
			const safety = explore(model, { trace: false, liveness: false });
			if (safety.verdict === 'violation' && up.verdict === 'safe') {
				killedBy.push(s.id);
				continue;
			}
			if (up.liveness === 'holds' && checkLiveness(model, { lasso: false }).liveness === 'violated') killedBy.push(s.id);
		}
		return { id: m.id, description: m.description, equivalent: m.equivalent !== undefined, reason: m.equivalent ?? '', killedBy };
	});
}

/** Killed non-equivalent mutants over all non-equivalent ones. */
export function mutationScore(mutants: MutantResult[]): { killed: number; total: number; equivalent: number } {
	const live = mutants.filter((m) => !m.equivalent);
	return { killed: live.filter((m) => m.killedBy.length > 0).length, total: live.length, equivalent: mutants.length - live.length };
}

export function emitPromela(scenario: string, variant = 'upstream', opts?: { liveness?: boolean }): string {
	return emitPromelaModel(lookup(scenario, variant), opts);
}

/** The adversaries a reader can be run against. */
export type AdversaryKind = 'invalidate' | 'invalidate-twice' | 'zap' | 'memslot' | 'deactivate' | 'refresher';

export interface Adversaries {
	/** take the non-reader threads and the world of a built-in scenario */
	scenario?: string;
	threads?: AdversaryKind[];
	/** caches the reader's ops refer to (default 1) */
	caches?: number;
}

function adversaryWorld(kinds: AdversaryKind[], caches: number): World {
	const names = ['vcpu_info_cache', 'runstate2_cache'];
	const memslot = kinds.includes('memslot');
	const hvas = caches === 2 ? ['A', 'C'] : ['A'];
	if (memslot) hvas.push('B');
	const extraPages = kinds.reduce((n, k) => n + (k === 'invalidate' ? caches : k === 'invalidate-twice' ? 2 * caches : k === 'zap' ? 2 * caches : 0), 0);
	return {
		caches: Array.from({ length: caches }, (_, i) => ({ name: names[i], gfn: `gfn${i}`, hva: i + 1, usage: 'host' as const })),
		hvas,
		extraPages,
		srcu: memslot,
		...(memslot ? { memslot: { cache: 0, to: hvas.length } } : {}),
	};
}

function adversaryThreads(kinds: AdversaryKind[], world: World): ThreadSpec[] {
	const out: ThreadSpec[] = [];
	kinds.forEach((k, i) => {
		const name = `${k}${kinds.indexOf(k) === i ? '' : `-${i}`}`;
		if (k === 'invalidate' || k === 'invalidate-twice' || k === 'zap')
			for (let h = 1; h <= world.caches.length; h++)
				out.push({
					name: world.caches.length > 1 ? `${name}-${world.hvas[h - 1]}` : name,
					adversary: true,
					emit: (t, ctx) => emitInvalidation(t, ctx, h, { kind: k === 'zap' ? 'zap' : 'migrate', rounds: k === 'invalidate-twice' ? 2 : 1 }),
				});
		else if (k === 'memslot') out.push({ name, adversary: true, emit: (t, ctx) => emitMemslotMove(t, ctx, 0, world.memslot!.to) });
		else if (k === 'deactivate')
			out.push(readerThread({ name, file: 'arch/x86/kvm/xen.c', function: 'kvm_xen_shared_info_init', adversary: true, ops: [{ op: 'deactivate' }, { op: 'activate' }] }));
		else out.push(readerThread({ name, file: 'virt/kvm/pfncache.c', function: 'kvm_gpc_refresh', adversary: false, ops: [{ op: 'refresh' }] }));
	});
	return out;
}

/**
 * Runs one reader (e.g. extracted from a kernel function) against adversary
 * threads under a variant of the pfncache algorithm.
 */
export function runReader(program: ReaderProgram, adversaries: Adversaries | string = { threads: ['invalidate'] }, variant = 'upstream', opts?: RunOptions): RunResult {
	const adv: Adversaries = typeof adversaries === 'string' ? { scenario: adversaries } : adversaries;
	const chosen = choiceVariant(variant);
	if (!chosen) throw new Error(`unknown variant '${variant}'`);
	const { variant: v, flags } = chosen;
	let world: World;
	let others: ThreadSpec[];
	if (adv.scenario) {
		const s = findScenario(adv.scenario);
		if (!s) throw new Error(`unknown scenario '${adv.scenario}'`);
		world = s.world;
		others = s.build(flags).filter((t) => t.adversary);
	} else {
		const kinds = adv.threads ?? ['invalidate'];
		world = adversaryWorld(kinds, adv.caches ?? 1);
		others = adversaryThreads(kinds, world);
	}
	if (others.some((t) => t.name === program.name)) program = { ...program, name: `${program.name}*` };
	const model = assemble(world, [readerThread(program), ...others], flags, { scenario: adv.scenario ?? `reader:${program.function}`, variant: v.id });
	return explore(model, opts);
}

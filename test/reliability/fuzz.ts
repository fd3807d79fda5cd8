// The engine fuzzer: fast-check properties over three families of inputs, each case checked
// against every invariant of harness.ts. A failure is shrunk by fast-check, saved as a
// regression fixture (when asked), and reported with its minimal input.
import fc from 'fast-check';
import { Engine } from '../../server/src/analysis/engine';
import {
	kernelSeeds, mutate, mutationArb, renderProgram, repoSeeds, saveRegression, sliceSeeds, stmtArb, violations,
	type FuzzCase, type Mutation, type Seed, type Stmt,
} from './harness';
import { progress } from './tier';

export interface FuzzPlan {
	seed: number;
	/** Mutations of function-sized slices of real files (kernel when cached, else the repo's own C). */
	slices: number;
	/** Mutations of whole files (the four kernel files of both trees, the demo tree, fixtures). */
	wholeFiles: number;
	/** Mutations of the single-file rule fixtures: small, and dense in every idiom the rules know. */
	fixtures?: number;
	/** Generated gpc readers, then mutated. */
	generated: number;
}

export interface FamilyReport {
	family: string;
	cases: number;
	edits: number;
	seconds: number;
	failures: string[];
	/** How many times each mutation kind was applied (byte flips, truncations, NUL bytes, …). */
	kinds?: Record<string, number>;
}

export interface Corpus {
	whole: Seed[];
	slices: Seed[];
	fixtures: Seed[];
	kernel: boolean;
}

export function corpus(engine: Engine): Corpus {
	const kernel = kernelSeeds();
	const repo = repoSeeds();
	const fixtures = repo.filter((s) => /^test\/fixtures\/gpc-[a-z-]+\/(bad|good)\/[^/]+\.c$/.test(s.name));
	return { whole: [...kernel, ...repo], slices: sliceSeeds(engine, kernel.length ? kernel : repo), fixtures, kernel: kernel.length > 0 };
}

let engines: [Engine, Engine] | undefined;
export async function fuzzEngines(): Promise<[Engine, Engine]> {
	engines ??= [await Engine.create(), await Engine.create()];
	return engines;
}

/** One fast-check property run; failures come back shrunk. */
function runFamily<T extends [unknown, Mutation[]]>(family: string, arb: fc.Arbitrary<T>, toCase: (t: T) => FuzzCase, numRuns: number, seed: number, pair: [Engine, Engine]): FamilyReport {
	const started = performance.now();
	let cases = 0;
	let edits = 0;
	const kinds: Record<string, number> = {};
	const result = fc.check(
		fc.property(arb, (t) => {
			const c = toCase(t);
			cases++;
			edits += c.edits?.length ?? 0;
			if (cases % 500 === 0) progress(`fuzz-seed${seed}`, `${family}: ${cases}/${numRuns} cases, ${edits} edits, ${Math.round((performance.now() - started) / 1000)} s`);
			if (cases <= numRuns) for (const m of t[1]) kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
			const problems = violations(pair, c);
			if (problems.length) throw new Error(problems.join('\n'));
		}),
		{ numRuns, seed, endOnFailure: false },
	);
	const failures: string[] = [];
	if (result.failed && result.counterexample) {
		const c = toCase(result.counterexample[0]);
		const message = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
		const saved = saveRegression(c, [message], `${family}, seed ${seed}, path ${result.counterexamplePath}`);
		failures.push(`${family} (seed ${seed}, path ${result.counterexamplePath}${saved ? `, saved ${saved}` : ''}): ${message}\n--- minimal input (${c.file}) ---\n${c.text.slice(0, 2000)}`);
	}
	// Shrinking re-runs cases; count only the planned runs (and all of them, on success).
	return { family, cases: result.failed ? cases : numRuns, edits, seconds: (performance.now() - started) / 1000, failures, kinds };
}

export async function runFuzz(plan: FuzzPlan, c?: Corpus): Promise<{ reports: FamilyReport[]; corpus: Corpus }> {
	const pair = await fuzzEngines();
	const cor = c ?? corpus(pair[0]);
	const reports: FamilyReport[] = [];
	const mutations = fc.array(mutationArb, { minLength: 1, maxLength: 6 });
	const seeded = (seeds: Seed[]) => ([i, ms]: [number, Mutation[]]): FuzzCase => {
		const seed = seeds[i % seeds.length];
		const { text, edits } = mutate(seed.text, ms);
		return { file: seed.name.replace(/#.*/, '').replace(/^linux-[\d.]+\//, ''), text, era: seed.era, base: seed.text, edits };
	};
	if (plan.slices && cor.slices.length) {
		reports.push(runFamily('slice mutations', fc.tuple(fc.nat(), mutations), seeded(cor.slices), plan.slices, plan.seed, pair));
	}
	if (plan.fixtures && cor.fixtures.length) {
		reports.push(runFamily('fixture mutations', fc.tuple(fc.nat(), mutations), seeded(cor.fixtures), plan.fixtures, plan.seed + 3, pair));
	}
	if (plan.wholeFiles) {
		reports.push(runFamily('whole-file mutations', fc.tuple(fc.nat(), mutations), seeded(cor.whole), plan.wholeFiles, plan.seed + 1, pair));
	}
	if (plan.generated) {
		const arb: fc.Arbitrary<[Stmt[][], Mutation[]]> = fc.tuple(fc.array(stmtArb, { minLength: 1, maxLength: 2 }), fc.array(mutationArb, { maxLength: 3 }));
		reports.push(
			runFamily('generated readers', arb, ([fns, ms]) => {
				const base = renderProgram(fns);
				const { text, edits } = mutate(base, ms);
				return { file: 'arch/x86/kvm/gen.c', text, era: '6.9+', base, edits };
			}, plan.generated, plan.seed + 2, pair),
		);
	}
	return { reports, corpus: cor };
}

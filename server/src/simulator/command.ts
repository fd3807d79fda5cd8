// `gpcscope simulate`: argument handling and output, free of any CLI library so
// cli.ts only forwards its parsed options.
import { formatMatrix, formatTrace } from './format';
import { emitPromela, listScenarios, listVariants, runMatrix, runMutants, runScenario } from './api';
import type { RunResult } from './types';

export interface SimulateArgs {
	variant?: string;
	scenario?: string;
	matrix?: boolean;
	format: 'text' | 'json';
	emitPromela?: boolean;
}

const EXIT_SAFE = 0;
const EXIT_VIOLATION = 1;
const EXIT_BAD_INPUT = 2;

/**
 * Runs `gpcscope simulate`. Exit codes: 0 safe, 1 violation found, 2 bad input
 * (safety decides; liveness is reported beside it). With --matrix a violation
 * of a historical variant is the expected outcome, so the exit code is 1 only
 * when a variant expected to be safe (upstream, reference designs) is refuted
 * somewhere or a variant expected to be refuted is not.
 */
export function runSimulateCommand(args: SimulateArgs, out: (s: string) => void): number {
	const scenarios = listScenarios().map((s) => s.id);
	const variants = listVariants().map((v) => v.id);
	const bad = (msg: string) => {
		out(`gpcscope simulate: ${msg}\n`);
		return EXIT_BAD_INPUT;
	};
	if (args.format !== 'text' && args.format !== 'json') return bad(`unknown format '${String(args.format)}' (text, json)`);
	if (args.variant !== undefined && !variants.includes(args.variant)) return bad(`unknown variant '${args.variant}'; known: ${variants.join(', ')}`);
	if (args.scenario !== undefined && !scenarios.includes(args.scenario)) return bad(`unknown scenario '${args.scenario}'; known: ${scenarios.join(', ')}`);
	if (args.matrix && (args.scenario || args.variant || args.emitPromela)) return bad('--matrix runs every scenario against every variant; drop --scenario/--variant/--emit-promela');

	if (args.emitPromela) {
		if (!args.scenario) return bad('--emit-promela needs --scenario');
		out(emitPromela(args.scenario, args.variant ?? 'upstream'));
		return EXIT_SAFE;
	}

	if (args.matrix) {
		const { cells } = runMatrix();
		const mutants = runMutants(cells);
		if (args.format === 'json') out(JSON.stringify({ cells, mutants }) + '\n');
		else out(formatMatrix(cells, mutants));
		// A reference design runs upstream's code where it does not differ, so it answers for itself only where upstream is safe.
		const upstreamBad = new Set(cells.filter((c) => c.variant === 'upstream' && c.verdict === 'violation').map((c) => c.scenario));
		const asExpected = listVariants().every((v) => {
			const bad = cells.filter((c) => c.variant === v.id && c.verdict === 'violation').map((c) => c.scenario);
			if (v.id === 'upstream') return bad.length === 0;
			return v.expect === 'safe' ? bad.every((s) => upstreamBad.has(s)) : bad.length > 0;
		});
		return asExpected ? EXIT_SAFE : EXIT_VIOLATION;
	}

	const variant = args.variant ?? 'upstream';
	const results: RunResult[] = (args.scenario ? [args.scenario] : scenarios).map((s) => runScenario(s, variant));
	if (args.format === 'json') out(JSON.stringify(results.length === 1 ? results[0] : { results }) + '\n');
	else out(results.map(formatTrace).join('\n'));
	return results.some((r) => r.verdict === 'violation') ? EXIT_VIOLATION : EXIT_SAFE;
}

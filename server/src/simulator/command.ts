// `gpcscope simulate`: argument handling and output, free of any CLI library so
// cli.ts only forwards its parsed options.
import { formatTrace } from './format';
import { emitPromela, listScenarios, listVariants, runMatrix, runScenario } from './api';
import type { MatrixCell, RunResult } from './types';

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

function matrixTable(cells: MatrixCell[]): string {
	const variants = [...new Set(cells.map((c) => c.variant))];
	const scenarios = [...new Set(cells.map((c) => c.scenario))];
	const w = Math.max(...scenarios.map((s) => s.length));
	const cellText = (c: MatrixCell) => `${c.verdict === 'safe' ? 'safe' : `VIOLATION ${c.property}`}, ${c.states} states`;
	const lines: string[] = [`Each scenario against each algorithm variant: the verdict, the states explored, the time.`];
	for (const v of variants) {
		lines.push(`${v}:`);
		for (const s of scenarios) {
			const c = cells.find((x) => x.scenario === s && x.variant === v)!;
			lines.push(`  ${s.padEnd(w)}  ${cellText(c).padEnd(38)} ${String(c.ms).padStart(6)} ms`);
		}
	}
	// The verdict a reader wants first: upstream holds, and every historical race is found again.
	const upstream = cells.filter((c) => c.variant === 'upstream');
	const broken = upstream.filter((c) => c.verdict !== 'safe').map((c) => c.scenario);
	const historical = variants.filter((v) => v !== 'upstream');
	const missed = historical.filter((v) => !cells.some((c) => c.variant === v && c.verdict === 'violation'));
	lines.push('');
	lines.push(broken.length ? `upstream: VIOLATION in ${broken.join(', ')}` : `upstream: safe in all ${upstream.length} scenarios`);
	lines.push(
		missed.length
			? `historical variants: ${historical.length - missed.length} of ${historical.length} refuted; not refuted: ${missed.join(', ')}`
			: `historical variants: all ${historical.length} refuted (each violates a property in at least one scenario)`,
	);
	return lines.join('\n') + '\n';
}

/**
 * Runs `gpcscope simulate`. Exit codes: 0 safe, 1 violation found, 2 bad input.
 * With --matrix a violation of a historical variant is the expected outcome, so
 * the exit code is 1 only when upstream is refuted or a variant is not.
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
		if (args.format === 'json') out(JSON.stringify({ cells }) + '\n');
		else out(matrixTable(cells));
		const upstreamSafe = cells.every((c) => c.variant !== 'upstream' || c.verdict === 'safe');
		const allRefuted = variants.filter((v) => v !== 'upstream').every((v) => cells.some((c) => c.variant === v && c.verdict === 'violation'));
		return upstreamSafe && allRefuted ? EXIT_SAFE : EXIT_VIOLATION;
	}

	const variant = args.variant ?? 'upstream';
	const results: RunResult[] = (args.scenario ? [args.scenario] : scenarios).map((s) => runScenario(s, variant));
	if (args.format === 'json') out(JSON.stringify(results.length === 1 ? results[0] : { results }) + '\n');
	else out(results.map(formatTrace).join('\n'));
	return results.some((r) => r.verdict === 'violation') ? EXIT_VIOLATION : EXIT_SAFE;
}

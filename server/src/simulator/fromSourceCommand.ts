// `gpcscope simulate --from FILE:LINE`: index the tree around FILE, take the
// function at LINE, and explore it in each of its calling contexts against
// the adversaries of that context, on the pfncache algorithm the tree has
// (or the one --variant names).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Engine } from '../analysis/engine';
import { openTrees } from '../index/open';
import { formatFunctionRuns } from './format';
import { emitPromelaModel } from './promela';
import { ExtractError, declineReason, functionAtRow } from './fromSource';
import { functionRuns, simulateFunction } from './fromFunction';
import { resolveLines } from './locations';
import { pfncacheFor, treeReader } from './shape';
import type { RunContext, RunResult } from './types';

export interface FromSourceArgs {
	from: string;
	variant?: string;
	/** only the calling contexts of this kind */
	context?: string;
	format: 'text' | 'json';
	emitPromela?: boolean;
}

const KINDS: RunContext['kind'][] = ['process', 'sched-out', 'atomic', 'hardirq'];

/** The kernel tree holding `file`: the nearest ancestor with include/linux/kvm_host.h. */
export function treeRootOf(file: string): string {
	for (let dir = dirname(resolve(file)); ; dir = dirname(dir)) {
		if (existsSync(join(dir, 'include', 'linux', 'kvm_host.h'))) return dir;
		if (dirname(dir) === dir) return dirname(resolve(file));
	}
}

/** The run a single answer stands for: the first violation, else the first run. */
export function primaryRun(runs: RunResult[]): RunResult | undefined {
	return runs.find((r) => r.verdict === 'violation') ?? runs[0];
}

export async function simulateFromSource(args: FromSourceArgs, out: (s: string) => void, err: (s: string) => void): Promise<number> {
	const m = /^(.*):(\d+)$/.exec(args.from);
	if (!m || !existsSync(m[1])) {
		err(`gpcscope simulate: --from expects FILE:LINE of an existing file, got '${args.from}'\n`);
		return 2;
	}
	if (args.context !== undefined && !KINDS.includes(args.context as RunContext['kind'])) {
		err(`gpcscope simulate: unknown context '${args.context}' (${KINDS.join(', ')})\n`);
		return 2;
	}
	const [file, row] = [resolve(m[1]), Number(m[2]) - 1];
	const root = treeRootOf(file);
	const rel = relative(root, file).split(sep).join('/');
	const read = treeReader(root);
	const pfncache = pfncacheFor(args.variant, read);
	if (typeof pfncache === 'string') {
		err(`gpcscope simulate: ${pfncache}\n`);
		return 2;
	}
	const engine = await Engine.create();
	try {
		const opened = await openTrees(engine.parser, [root]);
		let result;
		try {
			result = engine.analyze(opened.sources);
		} finally {
			opened.trees.dispose();
		}
		const tree = engine.parser.parse(readFileSync(file, 'utf8'))!;
		try {
			const fn = functionAtRow(tree.rootNode, row);
			const declined = fn && declineReason(fn);
			if (declined) {
				err(`gpcscope simulate: ${declined}\n`);
				return 2;
			}
			const kinds = args.context ? [args.context as RunContext['kind']] : undefined;
			const knowledge = result.knowledgeFor(rel);
			if (args.emitPromela) {
				const models = fn && functionRuns(fn, rel, knowledge, { pfncache, kinds });
				if (!models?.runs.length) {
					err(`gpcscope simulate: no function using a gpc${kinds ? ` in ${args.context} context` : ''} at ${args.from}\n`);
					return 2;
				}
				if (models.runs.length > 1) {
					err(`gpcscope simulate: --emit-promela prints one model; ${models.name}() has ${models.runs.length} runs (${models.runs.map((r) => r.model.scenario).join('; ')}): pick one with --context\n`);
					return 2;
				}
				out(emitPromelaModel(models.runs[0].model));
				return 0;
			}
			const sim = fn && simulateFunction(fn, rel, knowledge, { pfncache, kinds });
			if (!sim?.runs.length) {
				err(`gpcscope simulate: no function using a gpc${kinds ? ` in ${args.context} context` : ''} at ${args.from}\n`);
				return 2;
			}
			// The tree's own shape: its older steps are its own code, read from it.
			const runs = sim.runs.map((r) => resolveLines(r, read, pfncache.trees));
			if (args.format === 'json') out(JSON.stringify({ ...primaryRun(runs), reader: sim.function, file: rel, instances: sim.instances, runs }) + '\n');
			else out(formatFunctionRuns(sim.function, runs));
			return runs.some((r) => r.verdict === 'violation') ? 1 : 0;
		} catch (e) {
			if (e instanceof ExtractError) {
				err(`gpcscope simulate: ${e.message}\n`);
				return 2;
			}
			throw e;
		} finally {
			tree.delete();
		}
	} finally {
		engine.dispose();
	}
}

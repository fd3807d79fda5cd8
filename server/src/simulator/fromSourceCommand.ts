// `gpcscope simulate --from FILE:LINE`: index the tree around FILE, extract the
// function at LINE as the reader, and explore it against the adversaries.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Engine } from '../analysis/engine';
import { openTrees } from '../index/open';
import { runReader, type Adversaries } from './api';
import { formatTrace } from './format';
import { declineReason, extractReader, functionAtRow } from './fromSource';
import { resolveLines } from './locations';
import type { RunResult } from './types';

export interface FromSourceArgs {
	from: string;
	variant?: string;
	scenario?: string;
	format: 'text' | 'json';
}

/** The kernel tree holding `file`: the nearest ancestor with include/linux/kvm_host.h. */
export function treeRootOf(file: string): string {
	for (let dir = dirname(resolve(file)); ; dir = dirname(dir)) {
		if (existsSync(join(dir, 'include', 'linux', 'kvm_host.h'))) return dir;
		if (dirname(dir) === dir) return dirname(resolve(file));
	}
}

export async function simulateFromSource(args: FromSourceArgs, out: (s: string) => void, err: (s: string) => void): Promise<number> {
	const m = /^(.*):(\d+)$/.exec(args.from);
	if (!m || !existsSync(m[1])) {
		err(`gpcscope simulate: --from expects FILE:LINE of an existing file, got '${args.from}'\n`);
		return 2;
	}
	const [file, row] = [resolve(m[1]), Number(m[2]) - 1];
	const root = treeRootOf(file);
	const rel = relative(root, file).split(sep).join('/');
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
			const reader = fn && extractReader(fn, rel, result.knowledgeFor(rel));
			if (!reader) {
				err(`gpcscope simulate: no function using a gpc at ${args.from}\n`);
				return 2;
			}
			const adversaries: Adversaries | string = args.scenario ?? { threads: ['invalidate'], caches: reader.instances.length };
			const run: RunResult = resolveLines(runReader(reader.program, adversaries, args.variant ?? 'upstream'), (f) => {
				try {
					return readFileSync(join(root, f), 'utf8');
				} catch {
					return undefined;
				}
			});
			out(args.format === 'json' ? JSON.stringify({ ...run, reader: reader.program.function, instances: reader.instances }) + '\n' : formatTrace(run));
			return run.verdict === 'violation' ? 1 : 0;
		} finally {
			tree.delete();
		}
	} finally {
		engine.dispose();
	}
}

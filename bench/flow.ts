// Pass 2 of each function on its own, as the engine runs it after an edit: the scope, the
// dataflow and the rules observing it, on memoised nodes, with the knowledge a fresh engine
// run of the tree builds. CPU time per function (best and median of the runs), slowest first.
// With a digest file, also one line per function hashing every observation, report and call
// summary, to check that a change to the dataflow leaves its results byte-identical.
//   node --import tsx bench/flow.ts <tree> [runs] [digest file]
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, type EngineResult } from '../server/src/analysis/engine';
import { dirtyExemptions } from '../server/src/analysis/exemptions';
import { analyzeFunction } from '../server/src/analysis/flow';
import { functionName, variableTypes } from '../server/src/parse/declarations';
import { FUNCTION_RULES } from '../server/src/analysis/rules';
import { checkTrees } from '../server/src/index/check';
import { NodeCache } from '../server/src/parse/cachedNodes';
import type { Observation } from '../server/src/analysis/observations';

const [tree, runsArg, digestFile] = process.argv.slice(2);
const RUNS = Number(runsArg ?? 5);
const FILES = ['arch/x86/kvm/x86.c', 'arch/x86/kvm/xen.c', 'virt/kvm/pfncache.c', 'virt/kvm/kvm_main.c'];

/** Plain data for hashing: nodes as type and range; a world's own field order ignored. */
function plain(value: unknown, depth = 0): unknown {
	if (value === null || typeof value !== 'object') return value;
	if (depth > 6) return '…';
	const o = value as Record<string, unknown>;
	if (typeof o.startIndex === 'number' && typeof o.type === 'string') return `@${o.type}:${o.startIndex}-${o.endIndex}`;
	if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
	const keys = 'irqOff' in o && 'instances' in o ? Object.keys(o).sort() : Object.keys(o);
	return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, plain(o[k], depth + 1)]));
}

async function main(): Promise<void> {
	const engine = await Engine.create();
	const { result } = await checkTrees(engine, [tree], { cache: false, jobs: 1, engine: {} });
	const { knowledge, era } = result as EngineResult;
	const exemptions = dirtyExemptions();
	const hasMarkDirtyHelper = knowledge.api.has('kvm_gpc_mark_dirty_in_slot');
	const rules = (file: string, name: string, reports: string[]) => {
		const checkers = FUNCTION_RULES.map((rule) => rule.create({
			file, era: era.era, functionName: name, acquiresLock: false, hasMarkDirtyHelper,
			dirtyExemption: (field) => exemptions.get(field)?.reason,
			report: (node, message, related = []) => reports.push(JSON.stringify(plain({ rule: rule.id, node, message, related }))),
		}));
		return { observe: (o: Observation) => checkers.forEach((c) => c.observe(o)), finish: () => checkers.forEach((c) => c.finish?.()) };
	};
	const digest: string[] = [];
	const times: { fn: string; best: number; median: number }[] = [];
	for (const file of FILES) {
		const parsed = engine.parser.parse(readFileSync(join(tree, file), 'utf8'))!;
		for (const fn of parsed.rootNode.descendantsOfType('function_definition')) {
			if (!fn) continue;
			const name = functionName(fn) ?? '?';
			if (digestFile) {
				const lines: string[] = [];
				const checker = rules(file, name, lines);
				const analysis = analyzeFunction(fn, knowledge, (o) => {
					lines.push(JSON.stringify(plain(o)));
					checker.observe(o);
				});
				checker.finish();
				lines.push(JSON.stringify(plain({ calls: analysis.calls, params: analysis.params, states: [...analysis.statesAt].map(([id, ws]) => [id, ws.length]) })));
				digest.push(`${file} ${name} ${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16)}`);
			}
			const ms: number[] = [];
			for (let r = 0; r < RUNS; r++) {
				const checker = rules(file, name, []);
				const start = process.cpuUsage();
				const node = new NodeCache().of(fn);
				variableTypes(node);
				analyzeFunction(node, knowledge, checker.observe);
				checker.finish();
				const used = process.cpuUsage(start);
				ms.push((used.user + used.system) / 1000);
			}
			ms.sort((a, b) => a - b);
			times.push({ fn: `${file.split('/').pop()}:${name}`, best: ms[0], median: ms[ms.length >> 1] });
		}
		parsed.delete();
	}
	engine.dispose();
	if (digestFile) writeFileSync(digestFile, digest.join('\n') + '\n');
	times.sort((a, b) => b.best - a.best);
	for (const t of times.slice(0, 10)) console.log(`${t.best.toFixed(1).padStart(7)} ms best, ${t.median.toFixed(1).padStart(6)} ms median  ${t.fn}`);
	console.log(`${times.length} functions: ${times.reduce((s, t) => s + t.median, 0).toFixed(0)} ms (sum of medians)`);
}

void main();

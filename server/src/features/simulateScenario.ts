// "Open simulator counterexample": any scenario × variant of the matrix, its
// trace (or lasso) with lines resolved in the indexed tree, historical steps
// linked to the version they come from, and upstream's run of the same
// schedule beside it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulateScenarioParams, SimulateScenarioResponse, SimulatorCatalog, SimulatorCatalogParams } from '../protocol';
import { listScenarios, listVariants, replaySchedule, resolveLines, runScenario, type RunResult } from '../simulator';

/** The workspace folder that holds today's pfncache.c, if any: trace lines are resolved there. */
export function kernelRoot(folders: string[]): string | undefined {
	return folders.find((f) => existsSync(join(f, 'virt', 'kvm', 'pfncache.c')));
}

export function simulatorCatalog(params: SimulatorCatalogParams | undefined): SimulatorCatalog {
	const scenarios = listScenarios().map(({ id, title, description }) => ({ id, title, description }));
	if (params?.scenario && !scenarios.some((s) => s.id === params.scenario)) return { scenarios, variants: [], error: `unknown scenario '${params.scenario}'` };
	const variants = listVariants().map(({ id, title, release, hazard }) => {
		if (!params?.scenario) return { id, title, release, hazard };
		const r = runScenario(params.scenario, id, { trace: false });
		return { id, title, release, hazard, verdict: { safety: r.verdict, ...(r.property ? { property: r.property } : {}), liveness: r.liveness ?? 'holds' } };
	});
	return { scenarios, variants };
}

export function simulateScenario(params: SimulateScenarioParams, folders: string[]): SimulateScenarioResponse {
	const root = kernelRoot(folders);
	const read = (file: string) => {
		if (!root) return undefined;
		try {
			return readFileSync(join(root, file), 'utf8');
		} catch {
			return undefined;
		}
	};
	let run: RunResult;
	try {
		run = runScenario(params.scenario, params.variant);
	} catch (e) {
		return { error: (e as Error).message };
	}
	const response: SimulateScenarioResponse = { result: resolveLines(run, read), root };
	const schedule = (run.trace ?? [...(run.lasso?.stem ?? []), ...(run.lasso?.cycle ?? [])]).map((s) => s.thread);
	if (params.variant !== 'upstream' && schedule.length) response.compare = resolveLines(replaySchedule(params.scenario, 'upstream', schedule), read);
	return response;
}

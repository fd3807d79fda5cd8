// Shared by the test tiers: run the engine on a path exactly as the CLI does.
import { join } from 'node:path';
import { Engine, type EngineOptions, type EngineResult } from '../server/src/analysis/engine';
import { scanTree } from '../server/src/index/scan';

export const REPO = join(__dirname, '..');
export const DEMO = join(REPO, 'examples', 'demo-kernel');
export const FIXTURES = join(REPO, 'test', 'fixtures');

let shared: Promise<Engine> | undefined;
export const engine = (): Promise<Engine> => (shared ??= Engine.create());

export async function analyzePath(path: string, options: EngineOptions = {}, allFiles = false): Promise<EngineResult> {
	const scan = scanTree(path, { allFiles });
	return (await engine()).analyze(scan.sources, options);
}

/** `/* expect: rule-a, rule-b *\/` markers: "file:line:rule" (line 1-based). */
export function expectationMarkers(file: string, text: string): string[] {
	const out: string[] = [];
	text.split('\n').forEach((line, i) => {
		for (const m of line.matchAll(/\/\*\s*expect:\s*([\w\s,-]+?)\s*\*\//g)) {
			for (const rule of m[1].split(/\s*,\s*/)) if (rule) out.push(`${file}:${i + 1}:${rule}`);
		}
	});
	return out;
}

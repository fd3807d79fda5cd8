// One analysis of a whole tree, as `check <tree>` does it (scan with the prefilter,
// then the engine), for review's before/after and the kbuild index.
import type { ApiEra } from '../analysis/api';
import { Engine, type EngineResult } from '../analysis/engine';
import type { RuleId } from '../catalogue';
import { readText, scanTree } from '../index/scan';
import { cachedLineText, type LineText } from '../report/fingerprint';
import { join } from 'node:path';

export interface AnalyzeOptions {
	era?: ApiEra;
	rules?: ReadonlySet<RuleId>;
	allFiles?: boolean;
	/** Reuse one engine (parser) across analyses. */
	engine?: Engine;
}

export interface TreeAnalysis {
	root: string;
	result: EngineResult;
	scanned: number;
	parsed: number;
	ms: number;
	/** The files given to the engine (relative), and whether only for their call graph. */
	sources: { file: string; summariesOnly: boolean }[];
	/** Line texts of the tree as analysed (read lazily: call before the tree goes away). */
	lineText: LineText;
}

export async function analyzeTree(root: string, options: AnalyzeOptions = {}): Promise<TreeAnalysis> {
	const started = performance.now();
	const scan = scanTree(root, { allFiles: options.allFiles });
	const engine = options.engine ?? (await Engine.create());
	try {
		const result = engine.analyze(scan.sources, { era: options.era, rules: options.rules });
		return {
			root: scan.root,
			result,
			scanned: scan.scanned,
			parsed: scan.sources.length,
			sources: scan.sources.map((s) => ({ file: s.file, summariesOnly: !!s.summariesOnly })),
			ms: performance.now() - started,
			lineText: cachedLineText((file) => readText(join(scan.root, file))),
		};
	} finally {
		if (!options.engine) engine.dispose();
	}
}

// One analysis of a whole tree, as `check <tree>` does it (the same pipeline,
// without the persistent cache: review's trees are scratch copies), for review's
// before and after.
import type { ApiEra } from '../analysis/api';
import { Engine } from '../analysis/engine';
import type { RuleId } from '../catalogue';
import { checkTrees, type CheckResult } from '../index/check';
import { readText } from '../index/indexer';
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
	result: CheckResult;
	ms: number;
	/** Line texts of the tree as analysed (read lazily: call before the tree goes away). */
	lineText: LineText;
}

export async function analyzeTree(root: string, options: AnalyzeOptions = {}): Promise<TreeAnalysis> {
	const started = performance.now();
	const engine = options.engine ?? (await Engine.create());
	try {
		const checked = await checkTrees(engine, [root], { allFiles: options.allFiles, cache: false, engine: { era: options.era, rules: options.rules } });
		return {
			root: checked.root,
			result: checked.result,
			ms: performance.now() - started,
			lineText: cachedLineText((file) => readText(join(checked.root, file))),
		};
	} finally {
		if (!options.engine) engine.dispose();
	}
}

// Shared by the test tiers: open a tree and run the engine on it as the CLI does.
import { join } from 'node:path';
import { Engine, type EngineOptions, type EngineResult } from '../server/src/analysis/engine';
import { indexTree, type IndexOptions, type IndexResult } from '../server/src/index/indexer';
import { openTrees } from '../server/src/index/open';
import type { Tree } from '../server/src/parse/parser';

export const REPO = join(__dirname, '..');
export const DEMO = join(REPO, 'examples', 'demo-kernel');
export const FIXTURES = join(REPO, 'test', 'fixtures');

let shared: Promise<Engine> | undefined;
export const engine = (): Promise<Engine> => (shared ??= Engine.create());

export async function analyzePath(path: string, options: EngineOptions = {}, allFiles = false): Promise<EngineResult> {
	const e = await engine();
	const opened = await openTrees(e.parser, [path], { allFiles, jobs: 1 });
	try {
		return e.analyze(opened.sources, options);
	} finally {
		opened.trees.dispose();
	}
}

/** The tree's index as the pipeline makes it, in this thread and without a cache (its sources are what the engine analyses). */
export function indexed(path: string, options: IndexOptions = {}): Promise<IndexResult> {
	return indexTree(path, { jobs: 1, ...options });
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

/** Every node of a tree with its range: two trees are the same parse when these are equal (toString() leaves out the ranges). */
export function treeShape(tree: Tree): string {
	const out: string[] = [];
	const cursor = tree.walk();
	for (let more = true; more; ) {
		out.push(`${cursor.nodeType}@${cursor.startIndex}-${cursor.endIndex}`);
		if (cursor.gotoFirstChild()) continue;
		while (!cursor.gotoNextSibling()) {
			if (!cursor.gotoParent()) {
				more = false;
				break;
			}
		}
	}
	cursor.delete();
	return out.join(' ');
}

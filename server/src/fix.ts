// `gpcscope fix --rule gpc-dead-usage-flag <tree> [--dry-run]`: the whole-tree
// rewrite in place, or as a unified diff. All or nothing: any refusal, and
// nothing is written.
import { plural } from './report/plural';
import { statSync } from 'node:fs';
import { diffArrays } from 'diff';
import type { ApiEra } from './analysis/api';
import { detectEra } from './analysis/era';
import { extractFacts } from './analysis/facts';
import type { RuleId } from './catalogue';
import { createCParser } from './parse/parser';
import { applyChanges, RewriteError } from './usage/apply';
import { censusPhrase } from './usage/census';
import { unifiedDiff, type FileChange } from './usage/diff';
import { ParsedFiles } from './usage/files';
import { outcomeOf, type Outcome } from './usage/outcome';
import { planUsageRemovalSearching, type UsagePlan } from './usage/plan';
import { diskTree, gpcFilesOf } from './index/diskTree';
import { USAGE_TEXT } from './vocabulary';

export interface FixOptions {
	rule: RuleId;
	dryRun?: boolean;
	apiEra?: ApiEra;
}

export interface FixIo {
	stdout(text: string): void;
	stderr(text: string): void;
}

/** Exit statuses of both rewrites (this one and findingFix.ts): done or nothing to do, refused, bad input. */
export const EXIT_DONE = 0;
export const EXIT_REFUSED = 1;
export const EXIT_BAD_INPUT = 2;

const processIo: FixIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

export async function fixCommand(path: string, options: FixOptions, io: FixIo = processIo): Promise<number> {
	if (options.rule !== 'gpc-dead-usage-flag') {
		io.stderr(`gpcscope: ${options.rule} has no automatic fix; only gpc-dead-usage-flag and gpc-lock-in-sched-out do.\n`);
		return EXIT_BAD_INPUT;
	}
	try {
		if (!statSync(path).isDirectory()) throw new Error('not a directory');
	} catch {
		io.stderr(`gpcscope: ${path}: not a kernel tree (a directory)\n`);
		return EXIT_BAD_INPUT;
	}
	const { root, plan, outcome, encodingOf } = await planTree(path, options.apiEra);
	if (outcome.kind === 'nothing') {
		io.stderr(`gpcscope: ${outcome.message}\n`);
		return EXIT_DONE;
	}
	if (outcome.kind === 'refused') {
		io.stderr(`gpcscope: not rewriting ${root}, nothing was changed:\n`);
		for (const r of outcome.refusals) io.stderr(`${r.file}:${r.line + 1}: error: ${r.message} [gpc-dead-usage-flag]\n`);
		if (outcome.explanation) io.stderr(`${outcome.explanation}\n`);
		return EXIT_REFUSED;
	}
	const { changes } = outcome;
	if (options.dryRun) io.stdout(unifiedDiff(changes));
	else {
		try {
			applyChanges(root, changes, encodingOf);
		} catch (e) {
			if (!(e instanceof RewriteError)) throw e;
			io.stderr(`gpcscope: not rewriting ${root}, ${e.intact ? 'nothing was changed' : 'PARTLY REWRITTEN'}: ${e.message}\n`);
			return EXIT_REFUSED;
		}
	}
	io.stderr(`gpcscope: ${options.dryRun ? 'would rewrite' : 'rewrote'} ${plural(changes.length, 'file')} (${stat(changes)}); ${censusPhrase(plan.census)}\n`);
	return EXIT_DONE;
}

export interface TreePlan {
	root: string;
	plan: UsagePlan;
	outcome: Outcome;
	encodingOf(file: string): BufferEncoding;
}

/** The whole-tree plan of a tree on disk and what it amounts to; nothing is written. */
export async function planTree(path: string, apiEra?: ApiEra): Promise<TreePlan> {
	const { root, files: gpcFiles } = await gpcFilesOf(path);
	const tree = diskTree(root, { files: gpcFiles });
	const parser = await createCParser();
	const files = new ParsedFiles(parser);
	try {
		const usage = tree.sources.filter((s) => USAGE_TEXT.test(s.read()));
		const era = apiEra ?? detectEra(usage.map((s) => extractFacts(s.file, files.add(s).tree))).era;
		const plan = await planUsageRemovalSearching(files, tree.sources, { era, search: (names) => tree.search(names) });
		return { root: tree.root, plan, outcome: outcomeOf(plan), encodingOf: tree.encodingOf };
	} finally {
		files.dispose();
		parser.delete();
		await tree.dispose();
	}
}

function stat(changes: readonly FileChange[]): string {
	let added = 0;
	let removed = 0;
	for (const c of changes) {
		for (const part of diffArrays(c.before.split('\n'), c.after.split('\n'))) {
			if (part.added) added += part.value.length;
			if (part.removed) removed += part.value.length;
		}
	}
	return `${added} insertions(+), ${removed} deletions(-)`;
}

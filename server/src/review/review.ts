// `gpcscope review`: what a patch series (a patch, an mbox, or a git revision
// range) does to the tree's findings. The tree before is analysed, the series is
// applied to a hard-linked scratch copy (never to the tree itself), the copy is
// analysed, and the two sets of findings are paired (match.ts): the rest are the
// findings the series introduced and those it fixed, each named by the patch (and
// patch line) or commit that added or removed its line where there is one.
import { plural } from '../report/plural';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../analysis/engine';
import type { Finding } from '../analysis/findings';
import type { LineText } from '../report/fingerprint';
import { analyzeTree, type AnalyzeOptions, type TreeAnalysis } from './analyze';
import { diffHunks, matchFindings } from './match';
import { parseSeries, touchedPaths, whoAdded, whoRemoved, type Hunk, type HunkLine, type Patch } from './patch';
import {
	applyPatch, changedPaths, formatPatch, isFile, isGitWorkTree, resolveRange, ReviewError, scratchCopy, showAt, untrackedSources, writeScratch,
} from './tree';

export interface ReviewOptions extends AnalyzeOptions {
	/** The tree the series applies to (default: the current directory). */
	tree?: string;
	/** Progress for the command line's stderr. */
	log?: (message: string) => void;
}

export interface PatchRef {
	/** 1-based position in the series. */
	index: number;
	total: number;
	subject: string;
	commit?: string;
	/** 1-based line of the patch (mbox) file that added or removed the finding's line, or shows it as context. */
	line?: number;
	/** How the patch touched the finding's line: `near` = in the context of its hunk. */
	change: 'added' | 'removed' | 'near';
}

export interface ReviewedFinding {
	finding: Finding;
	fingerprint: string;
	/** The text of the finding's line (after the series for introduced, before it for fixed). */
	lineText: string;
	/** The patch of the series that added (introduced) or removed (fixed) that line. */
	patch?: PatchRef;
}

export interface ReviewResult {
	tree: string;
	kind: 'patch' | 'range';
	/** The argument: a patch file or a revision range. */
	input: string;
	series: { index: number; subject: string; commit?: string }[];
	apiEra: string;
	introduced: ReviewedFinding[];
	fixed: ReviewedFinding[];
	stats: {
		findingsBefore: number;
		findingsAfter: number;
		unchanged: number;
		filesChanged: number;
		msBefore: number;
		msAfter: number;
		ms: number;
	};
}

/** Reviews `input`: a patch or mbox file, else a git revision range of the tree. */
export async function review(input: string, options: ReviewOptions = {}): Promise<ReviewResult> {
	const tree = options.tree ?? process.cwd();
	if (!isDirectory(tree)) throw new ReviewError(`${tree}: no such directory`);
	const engine = options.engine ?? (await Engine.create());
	try {
		const opts = { ...options, engine };
		return isFile(input) ? await reviewPatch(input, tree, opts) : await reviewRange(input, tree, opts);
	} finally {
		if (!options.engine) engine.dispose();
	}
}

async function reviewPatch(file: string, tree: string, options: ReviewOptions): Promise<ReviewResult> {
	const started = performance.now();
	const log = options.log ?? (() => undefined);
	const series = parseSeries(readFileSync(file, 'utf8'));
	if (!series.length) throw new ReviewError(`${file}: no patch in it (expected a unified diff, a patch or an mbox of patches)`);
	const paths = touchedPaths(series);
	log(`analysing ${tree} before the series (${series.length} patch${series.length === 1 ? '' : 'es'}, ${plural(paths.size, 'file')})`);
	const before = await analyzeTree(tree, options);
	const scratch = scratchCopy(before.root);
	try {
		for (const p of series) applyPatch(scratch.dir, p.text, touchedPaths([p]), describe(p, series.length, file));
		log(`analysing the tree after the series`);
		const after = await analyzeTree(scratch.dir, options);
		const hunks = new Map<string, Hunk[]>();
		for (const rel of paths) hunks.set(rel, diffHunks(rel, readOrUndefined(join(before.root, rel)), readOrUndefined(join(scratch.dir, rel))));
		return compare('patch', file, before.root, series, before, before.lineText, after, hunks, started, true);
	} finally {
		scratch.dispose();
	}
}

async function reviewRange(spec: string, tree: string, options: ReviewOptions): Promise<ReviewResult> {
	const started = performance.now();
	const log = options.log ?? (() => undefined);
	if (!isGitWorkTree(tree)) throw new ReviewError(`${spec}: no such patch file, and ${tree} is not a git work tree for a revision range`);
	const range = resolveRange(tree, spec);
	const changed = changedPaths(tree, range.base, range.head);
	const series = parseSeries(formatPatch(tree, range));
	const scratch = scratchCopy(tree);
	try {
		// The scratch copy is the work tree; make it the base revision, then the head.
		for (const rel of changedPaths(tree, range.base)) writeScratch(scratch.dir, rel, showAt(tree, range.base, rel));
		for (const rel of untrackedSources(tree)) writeScratch(scratch.dir, rel, undefined);
		log(`analysing ${tree} at ${range.base.slice(0, 12)} (${plural(series.length, 'commit')}, ${plural(changed.length, 'file')} changed up to ${range.head.slice(0, 12)})`);
		const before = await analyzeTree(scratch.dir, options);
		const beforeFiles = new Map(changed.map((rel) => [rel, showAt(tree, range.base, rel)?.toString('utf8')]));
		// The scratch files change next: line texts of the base come from git for the changed files.
		const beforeText: LineText = (f, line) => (beforeFiles.has(f) ? (beforeFiles.get(f) ?? '').split('\n')[line] ?? '' : before.lineText(f, line));
		for (const rel of changed) writeScratch(scratch.dir, rel, showAt(tree, range.head, rel));
		log(`analysing ${tree} at ${range.head.slice(0, 12)}`);
		const after = await analyzeTree(scratch.dir, options);
		const hunks = new Map<string, Hunk[]>();
		for (const rel of changed) hunks.set(rel, diffHunks(rel, beforeFiles.get(rel), showAt(tree, range.head, rel)?.toString('utf8')));
		return compare('range', spec, tree, series, before, beforeText, after, hunks, started, false);
	} finally {
		scratch.dispose();
	}
}

function compare(
	kind: ReviewResult['kind'], input: string, tree: string, series: Patch[],
	before: TreeAnalysis, beforeText: LineText, after: TreeAnalysis, hunks: Map<string, Hunk[]>, started: number, patchLines: boolean,
): ReviewResult {
	const m = matchFindings(before.result.findings, beforeText, after.result.findings, after.lineText, { hunks });
	const ref = (p: Patch, line: HunkLine): PatchRef => ({
		index: p.index, total: series.length, subject: p.subject, commit: p.commit, line: patchLines ? line.patchLine : undefined,
		change: line.kind === '+' ? 'added' : line.kind === '-' ? 'removed' : 'near',
	});
	const introduced = m.introduced.map((f, i): ReviewedFinding => {
		const text = after.lineText(f.file, f.range.start.line);
		const who = whoAdded(series, f.file, f.range.start.line + 1, text);
		return { finding: f, fingerprint: m.introducedFingerprints[i], lineText: text, patch: who && ref(who.patch, who.line) };
	});
	const fixed = m.fixed.map((f, i): ReviewedFinding => {
		const text = beforeText(f.file, f.range.start.line);
		const who = whoRemoved(series, f.file, f.range.start.line + 1, text);
		return { finding: f, fingerprint: m.fixedFingerprints[i], lineText: text, patch: who && ref(who.patch, who.line) };
	});
	return {
		tree,
		kind,
		input,
		series: series.map((p) => ({ index: p.index, subject: p.subject, commit: p.commit })),
		apiEra: after.result.era.era,
		introduced,
		fixed,
		stats: {
			findingsBefore: before.result.findings.length,
			findingsAfter: after.result.findings.length,
			unchanged: m.unchanged.length,
			filesChanged: hunks.size,
			msBefore: Math.round(before.ms),
			msAfter: Math.round(after.ms),
			ms: Math.round(performance.now() - started),
		},
	};
}

function describe(p: Patch, total: number, file: string): string {
	return total > 1 ? `patch ${p.index}/${total} of ${file}${p.subject ? ` ("${p.subject}")` : ''}` : file;
}

function readOrUndefined(abs: string): string | undefined {
	try {
		return readFileSync(abs, 'utf8');
	} catch {
		return undefined;
	}
}

function isDirectory(p: string): boolean {
	try {
		return statSync(p).isDirectory();
	} catch {
		return false;
	}
}

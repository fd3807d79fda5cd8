// `check --baseline FILE` and `check --new-only`: report only findings that are not
// already known. A baseline is an earlier report of `check` (SARIF, whose results
// carry fingerprints, or JSON), or the tree at a git revision. Matching is by
// fingerprint (rule + file + line text, see report/fingerprint.ts), so lines
// inserted above a known finding do not make it new.
import { readFileSync } from 'node:fs';
import type { Finding } from '../analysis/findings';
import type { EngineResult } from '../analysis/engine';
import { FINGERPRINT_KEY, fingerprintFindings, type LineText } from '../report/fingerprint';
import { analyzeTree, type AnalyzeOptions } from './analyze';
import { normalizedMessage } from './match';
import { changedPaths, isGitWorkTree, ReviewError, scratchCopy, showAt, untrackedSources, writeScratch } from './tree';

export interface BaselineEntry {
	rule: string;
	file: string;
	/** From SARIF (or a JSON report that carries them). */
	fingerprint?: string;
	message?: string;
}

export interface Baseline {
	/** Where it came from, for the summary line. */
	source: string;
	entries: BaselineEntry[];
}

/** Parses a SARIF log or a `check --format json` report. */
export function parseBaseline(text: string, source = 'baseline'): Baseline {
	let doc: unknown;
	try {
		doc = JSON.parse(text);
	} catch (e) {
		throw new ReviewError(`${source}: not JSON (${(e as Error).message}); expected a report of \`gpcscope check --format sarif\` or \`--format json\``);
	}
	const d = doc as {
		runs?: { results?: { ruleId?: string; message?: { text?: string }; partialFingerprints?: Record<string, string>; locations?: { physicalLocation?: { artifactLocation?: { uri?: string } } }[] }[] }[];
		diagnostics?: { rule?: string; file?: string; message?: string; fingerprint?: string }[];
	};
	const entries: BaselineEntry[] = [];
	if (Array.isArray(d?.runs)) {
		for (const run of d.runs) {
			for (const r of run.results ?? []) {
				const uri = r.locations?.[0]?.physicalLocation?.artifactLocation?.uri;
				if (!r.ruleId || uri === undefined) continue;
				entries.push({
					rule: r.ruleId,
					file: uri.split('/').map(decodeURIComponent).join('/'),
					fingerprint: r.partialFingerprints?.[FINGERPRINT_KEY],
					message: r.message?.text,
				});
			}
		}
	} else if (Array.isArray(d?.diagnostics)) {
		for (const x of d.diagnostics) {
			if (!x.rule || x.file === undefined) continue;
			entries.push({ rule: x.rule, file: x.file, fingerprint: x.fingerprint, message: x.message });
		}
	} else {
		throw new ReviewError(`${source}: neither SARIF (runs[]) nor a gpcscope JSON report (diagnostics[])`);
	}
	return { source, entries };
}

export function readBaseline(path: string): Baseline {
	let text: string;
	try {
		text = readFileSync(path, 'utf8');
	} catch (e) {
		throw new ReviewError(`${path}: ${(e as Error).message}`);
	}
	return parseBaseline(text, path);
}

export interface NewOnly {
	/** Findings not in the baseline, in their original order. */
	fresh: Finding[];
	/** Findings the baseline already had. */
	known: Finding[];
}

/**
 * The findings not in `baseline` (pure: `lineText` gives the current text of a line).
 * Entries with a fingerprint match by fingerprint; entries without one (a JSON report
 * of an older gpcscope) by rule, file and message with its numbers blanked. Each
 * baseline entry excuses at most one finding.
 */
export function filterNew(findings: readonly Finding[], lineText: LineText, baseline: Baseline): NewOnly {
	const prints = fingerprintFindings(findings, lineText);
	const byPrint = new Map<string, number>();
	const byMessage = new Map<string, number>();
	const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
	for (const e of baseline.entries) {
		if (e.fingerprint) bump(byPrint, e.fingerprint);
		else bump(byMessage, `${e.rule}\0${e.file}\0${normalizedMessage(e.message ?? '')}`);
	}
	const fresh: Finding[] = [];
	const known: Finding[] = [];
	findings.forEach((f, i) => {
		const take = (m: Map<string, number>, k: string) => {
			const n = m.get(k) ?? 0;
			if (n > 0) m.set(k, n - 1);
			return n > 0;
		};
		if (take(byPrint, prints[i]) || take(byMessage, `${f.rule}\0${f.file}\0${normalizedMessage(f.message)}`)) known.push(f);
		else fresh.push(f);
	});
	return { fresh, known };
}

/** A baseline from findings (e.g. of the tree at another revision) and their line texts. */
export function baselineOf(findings: readonly Finding[], lineText: LineText, source: string): Baseline {
	const prints = fingerprintFindings(findings, lineText);
	return { source, entries: findings.map((f, i) => ({ rule: f.rule, file: f.file, fingerprint: prints[i], message: f.message })) };
}

/**
 * The baseline of the tree at git revision `rev` (default HEAD): what the tree had
 * before the uncommitted changes. Analysed in a hard-linked scratch copy.
 */
export async function gitBaseline(tree: string, rev = 'HEAD', options: AnalyzeOptions = {}): Promise<Baseline> {
	if (!isGitWorkTree(tree)) throw new ReviewError(`${tree}: --new-only without --baseline compares with git ${rev}, but this is not a git work tree`);
	const scratch = scratchCopy(tree);
	try {
		for (const rel of changedPaths(tree, rev)) writeScratch(scratch.dir, rel, showAt(tree, rev, rel));
		// New files not yet added are not part of the revision either.
		for (const rel of untrackedSources(tree)) writeScratch(scratch.dir, rel, undefined);
		const a = await analyzeTree(scratch.dir, options);
		return baselineOf(a.result.findings, a.lineText, `git ${rev}`);
	} finally {
		scratch.dispose();
	}
}

export interface BaselineOptions extends AnalyzeOptions {
	/** A SARIF or JSON report of an earlier `check`. */
	baseline?: string;
	/** Without `baseline`: compare with the tree at git HEAD. */
	newOnly?: boolean;
	/** Revision for `newOnly` (default HEAD). */
	rev?: string;
}

/**
 * The one call `check` needs: the findings of `result` (for the tree at `root`) that
 * are new against `--baseline FILE`, or with `--new-only` alone against git HEAD.
 */
export async function applyBaseline(result: Pick<EngineResult, 'findings'>, root: string, lineText: LineText, options: BaselineOptions): Promise<NewOnly & { source: string }> {
	const baseline = options.baseline ? readBaseline(options.baseline) : await gitBaseline(root, options.rev ?? 'HEAD', options);
	return { ...filterNew(result.findings, lineText, baseline), source: baseline.source };
}

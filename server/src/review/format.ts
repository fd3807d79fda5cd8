// Review reports. Text: gcc-style lines (the introduced findings as errors and
// warnings, the fixed ones as notes) so editors and CI logs link them; JSON:
// `{"introduced":[...],"fixed":[...]}` with `check --format json` diagnostics plus
// fingerprint and patch; SARIF: the introduced findings only, `baselineState: new`.
import { plural } from '../report/plural';
import { basename } from 'node:path';
import { toJsonDiagnostic, type JsonDiagnostic } from '../report/json';
import { formatSarif } from '../report/sarif';
import { formatText } from '../report/text';
import type { PatchRef, ReviewedFinding, ReviewResult } from './review';

export interface ReviewJsonDiagnostic extends JsonDiagnostic {
	fingerprint: string;
	patch?: PatchRef;
}

export interface ReviewJson {
	version: 1;
	tree: string;
	input: string;
	kind: ReviewResult['kind'];
	apiEra: string;
	series: ReviewResult['series'];
	introduced: ReviewJsonDiagnostic[];
	fixed: ReviewJsonDiagnostic[];
	stats: ReviewResult['stats'];
}

export function reviewJson(r: ReviewResult): ReviewJson {
	const diag = (x: ReviewedFinding): ReviewJsonDiagnostic => ({
		...toJsonDiagnostic(x.finding),
		fingerprint: x.fingerprint,
		...(x.patch ? { patch: x.patch } : {}),
	});
	return {
		version: 1,
		tree: r.tree,
		input: r.input,
		kind: r.kind,
		apiEra: r.apiEra,
		series: r.series,
		introduced: r.introduced.map(diag),
		fixed: r.fixed.map(diag),
		stats: r.stats,
	};
}

export function formatReviewJson(r: ReviewResult): string {
	return JSON.stringify(reviewJson(r), null, 2) + '\n';
}

/** Where a finding's line came from, for the text report. */
function origin(r: ReviewResult, p: PatchRef | undefined): string {
	if (!p) return '';
	const which = p.total > 1 ? `patch ${p.index}/${p.total}` : 'the patch';
	const verb = p.change === 'near' ? 'next to the change of' : `line ${p.change} by`;
	if (r.kind === 'patch') return ` (${verb} ${basename(r.input)}:${p.line}, ${which}${p.subject ? ` "${p.subject}"` : ''})`;
	return ` (${verb} ${p.commit ? p.commit.slice(0, 12) : which}${p.subject ? ` "${p.subject}"` : ''})`;
}

export function formatReviewText(r: ReviewResult): string {
	let out = '';
	for (const x of r.introduced) {
		// The first line of formatText is the finding; the rest are its related notes.
		const [first, ...rest] = formatText([x.finding]).split('\n');
		out += `${first}${origin(r, x.patch)}\n${rest.join('\n')}`;
	}
	for (const x of r.fixed) {
		const f = x.finding;
		out += `${f.file}:${f.range.start.line + 1}:${f.range.start.character + 1}: note: fixed: ${f.message} [${f.rule}]${origin(r, x.patch)}\n`;
	}
	return out;
}

export function reviewSummary(r: ReviewResult): string {
	const n = r.series.length;
	const what = r.kind === 'patch' ? `${n} patch${n === 1 ? '' : 'es'}` : `${n} commit${n === 1 ? '' : 's'}`;
	return (
		`gpcscope review: ${r.introduced.length} introduced, ${r.fixed.length} fixed; ` +
		`${plural(r.stats.findingsBefore, 'finding')} before, ${r.stats.findingsAfter} after ` +
		`(${what}, ${plural(r.stats.filesChanged, 'file')} changed), API era ${r.apiEra}, ${(r.stats.ms / 1000).toFixed(1)} s\n`
	);
}

export function formatReviewSarif(r: ReviewResult, version: string): string {
	const texts = new Map(r.introduced.map((x) => [`${x.finding.file}\0${x.finding.range.start.line}`, x.lineText]));
	return formatSarif(
		r.introduced.map((x) => x.finding),
		version,
		(file, line) => texts.get(`${file}\0${line}`) ?? '',
		{ baselineState: 'new', fingerprints: r.introduced.map((x) => x.fingerprint) },
	);
}

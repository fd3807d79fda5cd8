// Which findings a change introduced and which it fixed: the findings before and
// after are paired, and whatever is left over on either side is the answer.
// Pairing, most certain first:
//   1. same rule on the same line, followed through the diff (an untouched line);
//   2. same fingerprint (rule + file + line text): the line moved;
//   3. same rule and message on a line the change rewrote, in the same hunk: the
//      patch edited the line but the finding is still there.
import { createTwoFilesPatch } from 'diff';
import type { Finding } from '../analysis/findings';
import { fingerprintFindings, type LineText } from '../report/fingerprint';
import { mapNewToOld, parseSeries, type Hunk } from './patch';

export interface LineDiff {
	/** Hunks (no context) from the file before to the file after, per path; absent = unchanged. */
	hunks: Map<string, Hunk[]>;
}

/** The hunks of one file's change (`undefined` text = file absent on that side). */
export function diffHunks(file: string, before: string | undefined, after: string | undefined): Hunk[] {
	const patch = createTwoFilesPatch(file, file, before ?? '', after ?? '', '', '', { context: 0 });
	return parseSeries(patch)[0]?.files[0]?.hunks ?? [];
}

export interface MatchResult {
	introduced: Finding[];
	fixed: Finding[];
	/** Pairs (before, after) of findings that are the same finding. */
	unchanged: [Finding, Finding][];
	/** Fingerprints of `introduced` (in the after tree) and `fixed` (in the before tree), index for index. */
	introducedFingerprints: string[];
	fixedFingerprints: string[];
}

/** Message without numbers: "validated at line 612" stays the same message when lines move. */
export function normalizedMessage(message: string): string {
	return message.replace(/\d+/g, '#');
}

export function matchFindings(
	before: readonly Finding[],
	beforeText: LineText,
	after: readonly Finding[],
	afterText: LineText,
	diff: LineDiff,
): MatchResult {
	const bPrint = fingerprintFindings(before, beforeText);
	const aPrint = fingerprintFindings(after, afterText);
	const bFree = new Set(before.map((_, i) => i));
	const aFree = new Set(after.map((_, i) => i));
	const pairs: [number, number][] = [];
	const take = (b: number, a: number) => {
		bFree.delete(b);
		aFree.delete(a);
		pairs.push([b, a]);
	};

	// 1. The same line, followed through the diff.
	const byLine = new Map<string, number[]>();
	for (const i of bFree) {
		const f = before[i];
		const key = `${f.rule}\0${f.file}\0${f.range.start.line}`;
		byLine.set(key, [...(byLine.get(key) ?? []), i]);
	}
	for (const j of [...aFree]) {
		const f = after[j];
		const hunks = diff.hunks.get(f.file);
		const old = hunks ? mapNewToOld(hunks, f.range.start.line + 1) : f.range.start.line + 1;
		if (old === undefined) continue;
		const candidates = (byLine.get(`${f.rule}\0${f.file}\0${old - 1}`) ?? []).filter((i) => bFree.has(i));
		if (!candidates.length) continue;
		const best =
			candidates.find((i) => before[i].range.start.character === f.range.start.character && before[i].message === f.message) ??
			candidates.find((i) => normalizedMessage(before[i].message) === normalizedMessage(f.message)) ??
			candidates[0];
		take(best, j);
	}

	// 2. The same fingerprint (multiset: each before finding pairs once).
	const byPrint = new Map<string, number[]>();
	for (const i of bFree) byPrint.set(bPrint[i], [...(byPrint.get(bPrint[i]) ?? []), i]);
	for (const j of [...aFree]) {
		const i = byPrint.get(aPrint[j])?.find((k) => bFree.has(k));
		if (i !== undefined) take(i, j);
	}

	// 3. A rewritten line that still has the finding: same hunk, same rule and message.
	for (const j of [...aFree]) {
		const f = after[j];
		const hunks = diff.hunks.get(f.file);
		if (!hunks) continue;
		const h = hunkIndex(hunks, f.range.start.line + 1, 'new');
		if (h < 0) continue;
		const i = [...bFree].find((k) => {
			const b = before[k];
			return b.rule === f.rule && b.file === f.file && normalizedMessage(b.message) === normalizedMessage(f.message) && hunkIndex(hunks, b.range.start.line + 1, 'old') === h;
		});
		if (i !== undefined) take(i, j);
	}

	const introduced = [...aFree].sort((x, y) => x - y);
	const fixed = [...bFree].sort((x, y) => x - y);
	return {
		introduced: introduced.map((j) => after[j]),
		fixed: fixed.map((i) => before[i]),
		unchanged: pairs.map(([i, j]) => [before[i], after[j]]),
		introducedFingerprints: introduced.map((j) => aPrint[j]),
		fixedFingerprints: fixed.map((i) => bPrint[i]),
	};
}

/** The hunk whose changed lines on that side include `line` (1-based), or -1. */
function hunkIndex(hunks: readonly Hunk[], line: number, side: 'old' | 'new'): number {
	for (const [k, h] of hunks.entries()) {
		const start = side === 'old' ? h.oldStart : h.newStart;
		const count = side === 'old' ? h.oldLines : h.newLines;
		if (count > 0 && line >= start && line < start + count) return k;
	}
	return -1;
}

// A finding's identity across unrelated edits: rule + file + the trimmed text of
// its first line, never its line number (lines above it move) nor its message
// (messages cite other lines). Findings of one rule on identical lines of one file
// (`read_unlock(&gpc->lock);` twice) are told apart by their order among them,
// which lines inserted elsewhere do not change. Shared by SARIF, the baseline of
// `check --baseline` and the before/after matching of `review`.
import { createHash } from 'node:crypto';
import type { Finding } from '../analysis/findings';

/** SARIF `partialFingerprints` key; bump the version if the recipe changes. */
export const FINGERPRINT_KEY = 'gpcscopeLine/v1';

export type LineText = (file: string, line: number) => string;

/** The fingerprint of the `occurrence`-th (0-based) finding with this rule, file and line text. */
export function lineFingerprint(rule: string, file: string, text: string, occurrence = 0): string {
	const h = createHash('sha256').update(`${rule}\0${file}\0${text.trim()}`);
	// Occurrence 0 hashes exactly as v1 always did: existing baselines stay valid.
	if (occurrence > 0) h.update(`\0${occurrence}`);
	return h.digest('hex').slice(0, 32);
}

/** Fingerprints of `findings`, index for index (occurrences counted in document order). */
export function fingerprintFindings(findings: readonly Finding[], lineText: LineText): string[] {
	const order = findings.map((_, i) => i).sort((a, b) => {
		const x = findings[a], y = findings[b];
		return x.file.localeCompare(y.file) || x.range.start.line - y.range.start.line || x.range.start.character - y.range.start.character || a - b;
	});
	const seen = new Map<string, number>();
	const out: string[] = new Array(findings.length);
	for (const i of order) {
		const f = findings[i];
		const text = lineText(f.file, f.range.start.line).trim();
		const key = `${f.rule}\0${f.file}\0${text}`;
		const n = seen.get(key) ?? 0;
		seen.set(key, n + 1);
		out[i] = lineFingerprint(f.rule, f.file, text, n);
	}
	return out;
}

/** A `lineText` that reads each file once (from `read`, which may throw: then ''). */
export function cachedLineText(read: (file: string) => string): LineText {
	const lines = new Map<string, string[]>();
	return (file, line) => {
		let l = lines.get(file);
		if (!l) {
			try {
				l = read(file).split('\n');
			} catch {
				l = [];
			}
			lines.set(file, l);
		}
		return l[line] ?? '';
	};
}

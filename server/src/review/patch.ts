// Unified diffs as kernel developers send them: one patch, a `git format-patch`
// series concatenated into an mbox, or `git diff` output. Parsed only as far as
// review needs: which files each patch touches, and its hunks with their lines'
// positions in the patch text (to say "introduced by patch 2/3, line 41").
// Applying is left to `git apply`, which knows every corner of the format.

export interface HunkLine {
	kind: ' ' | '+' | '-';
	text: string;
	/** 1-based line in the patch (mbox) text. */
	patchLine: number;
}

export interface Hunk {
	oldStart: number;
	oldLines: number;
	newStart: number;
	newLines: number;
	lines: HunkLine[];
}

export interface FilePatch {
	/** Path before (undefined for a new file), relative to the tree (the `a/` prefix removed). */
	oldPath?: string;
	/** Path after (undefined for a deleted file). */
	newPath?: string;
	hunks: Hunk[];
	binary: boolean;
}

export interface Patch {
	/** 1-based position in the series. */
	index: number;
	subject: string;
	/** The commit a `git format-patch` mbox names in its `From <sha>` line. */
	commit?: string;
	/** 1-based first line of this patch in the series text, and its text. */
	startLine: number;
	text: string;
	files: FilePatch[];
}

const MBOX_FROM = /^From \S+ +\S.*$/;
const GIT_FROM = /^From ([0-9a-f]{40}) /;
const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Splits a patch, an mbox or a `git diff` into the patches that change files, in order. */
export function parseSeries(text: string): Patch[] {
	const lines = text.split('\n');
	if (lines.length && lines[lines.length - 1] === '') lines.pop();
	// Message boundaries: mbox `From ` lines at the start or after a blank line.
	const starts = [0];
	for (let i = 1; i < lines.length; i++) {
		if (MBOX_FROM.test(lines[i]) && lines[i - 1] === '' && !lines[i].startsWith('From: ')) starts.push(i);
	}
	const patches: Patch[] = [];
	for (let m = 0; m < starts.length; m++) {
		const from = starts[m];
		const to = m + 1 < starts.length ? starts[m + 1] : lines.length;
		const msg = lines.slice(from, to);
		const files = parseFiles(msg, from);
		if (!files.length) continue; // a cover letter, or prose
		patches.push({
			index: patches.length + 1,
			subject: subjectOf(msg),
			commit: GIT_FROM.exec(msg[0] ?? '')?.[1],
			startLine: from + 1,
			text: msg.join('\n') + '\n',
			files,
		});
	}
	return patches;
}

function subjectOf(msg: string[]): string {
	for (let i = 0; i < msg.length && msg[i] !== ''; i++) {
		if (!/^subject:/i.test(msg[i])) continue;
		let s = msg[i].replace(/^subject:\s*/i, '');
		for (let j = i + 1; j < msg.length && /^[ \t]/.test(msg[j]); j++) s += ' ' + msg[j].trim();
		return s.trim();
	}
	return '';
}

function stripPrefix(p: string): string | undefined {
	const path = p.split('\t')[0].trim().replace(/^"(.*)"$/, '$1');
	if (path === '/dev/null') return undefined;
	return path.replace(/^[ab]\//, '');
}

/** The file patches of one message; `offset` is the 0-based line of msg[0] in the series. */
function parseFiles(msg: string[], offset: number): FilePatch[] {
	const files: FilePatch[] = [];
	let current: FilePatch | undefined;
	let i = 0;
	while (i < msg.length) {
		const line = msg[i];
		if (line.startsWith('diff --git ')) {
			const m = /^diff --git a\/(.+) b\/(.+)$/.exec(line);
			current = { oldPath: m?.[1], newPath: m?.[2], hunks: [], binary: false };
			files.push(current);
			i++;
			continue;
		}
		if (current && line.startsWith('new file mode')) current.oldPath = undefined;
		else if (current && line.startsWith('deleted file mode')) current.newPath = undefined;
		else if (current && line.startsWith('rename from ')) current.oldPath = line.slice('rename from '.length);
		else if (current && line.startsWith('rename to ')) current.newPath = line.slice('rename to '.length);
		else if (current && (line.startsWith('Binary files ') || line === 'GIT binary patch')) current.binary = true;
		if (line.startsWith('--- ') && i + 1 < msg.length && msg[i + 1].startsWith('+++ ')) {
			const oldPath = stripPrefix(line.slice(4));
			const newPath = stripPrefix(msg[i + 1].slice(4));
			// A plain `diff -u` has no `diff --git` line: the ---/+++ pair starts the file.
			if (!current || current.hunks.length) {
				current = { oldPath, newPath, hunks: [], binary: false };
				files.push(current);
			} else {
				current.oldPath = oldPath;
				current.newPath = newPath;
			}
			i += 2;
			continue;
		}
		const h = HUNK.exec(line);
		if (h && current) {
			const hunk: Hunk = {
				oldStart: Number(h[1]),
				oldLines: h[2] === undefined ? 1 : Number(h[2]),
				newStart: Number(h[3]),
				newLines: h[4] === undefined ? 1 : Number(h[4]),
				lines: [],
			};
			i++;
			// The header's counts delimit the hunk, as git reads it.
			let oldLeft = hunk.oldLines, newLeft = hunk.newLines;
			while (i < msg.length && (oldLeft > 0 || newLeft > 0)) {
				const l = msg[i];
				if (l.startsWith('\\')) {
					i++;
					continue; // "\ No newline at end of file"
				}
				const kind = (l[0] ?? ' ') as HunkLine['kind'];
				if (kind !== ' ' && kind !== '+' && kind !== '-') break;
				hunk.lines.push({ kind, text: l.slice(1), patchLine: offset + i + 1 });
				if (kind !== '+') oldLeft--;
				if (kind !== '-') newLeft--;
				i++;
			}
			current.hunks.push(hunk);
			continue;
		}
		i++;
	}
	return files.filter((f) => f.hunks.length || f.binary || f.oldPath !== f.newPath);
}

/** Every path a series reads or writes (to copy them before applying). */
export function touchedPaths(series: readonly Patch[]): Set<string> {
	const out = new Set<string>();
	for (const p of series) {
		for (const f of p.files) {
			if (f.oldPath) out.add(f.oldPath);
			if (f.newPath) out.add(f.newPath);
		}
	}
	return out;
}

/**
 * Where 1-based line `line` of the old file is in the new file, given the hunks of
 * one file patch; undefined when the patch removed it.
 */
export function mapOldToNew(hunks: readonly Hunk[], line: number): number | undefined {
	let delta = 0;
	for (const h of hunks) {
		const oldFirst = h.oldLines === 0 ? h.oldStart + 1 : h.oldStart;
		if (line < oldFirst) break;
		if (line < oldFirst + h.oldLines) {
			let o = oldFirst, n = h.newLines === 0 ? h.newStart + 1 : h.newStart;
			for (const l of h.lines) {
				if (l.kind === '+') n++;
				else if (l.kind === '-') {
					if (o === line) return undefined;
					o++;
				} else {
					if (o === line) return n;
					o++;
					n++;
				}
			}
			return undefined;
		}
		delta += h.newLines - h.oldLines;
	}
	return line + delta;
}

/** The inverse of mapOldToNew: where a new line was before, undefined for an added line. */
export function mapNewToOld(hunks: readonly Hunk[], line: number): number | undefined {
	const flipped = hunks.map((h) => ({
		oldStart: h.newStart,
		oldLines: h.newLines,
		newStart: h.oldStart,
		newLines: h.oldLines,
		lines: h.lines.map((l) => ({ ...l, kind: l.kind === '+' ? '-' : l.kind === '-' ? '+' : ' ' }) as HunkLine),
	}));
	return mapOldToNew(flipped, line);
}

export interface Attribution {
	patch: Patch;
	/** The patch line that added (`+`) or removed (`-`) the line, or shows it as context (` `). */
	line: HunkLine;
}

/**
 * Which patch of the series added line `line` (1-based) of `file` as it is after the
 * whole series, following the line back through the later patches. When no patch
 * added it (a finding on an old line: a deleted mark-dirty reported at the unlock),
 * the latest patch whose hunk shows it as context, the change next to it. Undefined
 * when no patch came near the line. `actual` (the line's text after the series)
 * guards against a patch that applied at an offset.
 */
export function whoAdded(series: readonly Patch[], file: string, line: number, actual?: string): Attribution | undefined {
	let path: string | undefined = file;
	let l: number | undefined = line;
	let near: Attribution | undefined;
	for (let k = series.length - 1; k >= 0 && path !== undefined && l !== undefined; k--) {
		const fp = series[k].files.find((f) => f.newPath === path);
		if (!fp) continue;
		const hit = findLine(fp.hunks, l, '+');
		if (hit && (actual === undefined || hit.text === actual)) {
			if (hit.kind === '+') return { patch: series[k], line: hit };
			near ??= { patch: series[k], line: hit };
		}
		l = mapNewToOld(fp.hunks, l);
		path = fp.oldPath;
	}
	return near;
}

/** Which patch removed line `line` of `file` as it was before the series, else the first whose hunk shows it (the mirror of whoAdded). */
export function whoRemoved(series: readonly Patch[], file: string, line: number, actual?: string): Attribution | undefined {
	let path: string | undefined = file;
	let l: number | undefined = line;
	let near: Attribution | undefined;
	for (let k = 0; k < series.length && path !== undefined && l !== undefined; k++) {
		const fp = series[k].files.find((f) => f.oldPath === path);
		if (!fp) continue;
		const hit = findLine(fp.hunks, l, '-');
		if (hit && (actual === undefined || hit.text === actual)) {
			if (hit.kind === '-') return { patch: series[k], line: hit };
			near ??= { patch: series[k], line: hit };
		}
		l = mapOldToNew(fp.hunks, l);
		path = fp.newPath;
	}
	return near;
}

/** The hunk line (`+` or context) at new line `line`, or (`-` or context) at old line `line`, of a file patch. */
function findLine(hunks: readonly Hunk[], line: number, kind: '+' | '-'): HunkLine | undefined {
	for (const h of hunks) {
		let n = kind === '+' ? h.newStart : h.oldStart;
		for (const l of h.lines) {
			if (l.kind === ' ' || l.kind === kind) {
				if (n === line) return l;
				n++;
			}
		}
	}
	return undefined;
}

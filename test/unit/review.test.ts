// Patch review and baselines, the pure parts: parsing patches and mboxes, following
// lines through hunks, naming the patch that added a line, pairing findings before
// and after a change, fingerprints that survive unrelated edits, baselines.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../server/src/analysis/findings';
import type { RuleId } from '../../server/src/catalogue';
import { fingerprintFindings, lineFingerprint } from '../../server/src/report/fingerprint';
import { baselineOf, filterNew, parseBaseline } from '../../server/src/review/baseline';
import { diffHunks, matchFindings } from '../../server/src/review/match';
import { mapNewToOld, mapOldToNew, parseSeries, touchedPaths, whoAdded, whoRemoved } from '../../server/src/review/patch';
import { ReviewError } from '../../server/src/review/tree';
import { formatSarif } from '../../server/src/report/sarif';

const finding = (file: string, line: number, rule = 'gpc-use-after-unlock', message = `read after unlock (validated at line ${line - 3})`): Finding => ({
	rule: rule as RuleId,
	severity: 'error',
	file,
	range: { start: { line: line - 1, character: 1 }, end: { line: line - 1, character: 9 } },
	message,
	related: [],
});
const textOf = (files: Record<string, string>) => (file: string, line: number) => files[file]?.split('\n')[line] ?? '';

const MBOX = `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: A Developer <dev@example.invalid>
Date: Mon, 1 Jan 2024 00:00:00 +0000
Subject: [PATCH 1/2] KVM: x86/xen: move the unlock
 up a little

The read below the unlock is fine, honest.
---
 arch/x86/kvm/xen.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/arch/x86/kvm/xen.c b/arch/x86/kvm/xen.c
index 1111111..2222222 100644
--- a/arch/x86/kvm/xen.c
+++ b/arch/x86/kvm/xen.c
@@ -10,3 +10,3 @@ int f(void)
 	a();
-	rc = gpc->khva;
 	read_unlock(&gpc->lock);
+	rc = gpc->khva;
-- 
2.39.2


From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001
From: A Developer <dev@example.invalid>
Subject: [PATCH 2/2] KVM: x86: comment

---
diff --git a/arch/x86/kvm/xen.c b/arch/x86/kvm/xen.c
--- a/arch/x86/kvm/xen.c
+++ b/arch/x86/kvm/xen.c
@@ -1,0 +2,2 @@
+/* one */
+/* two */
diff --git a/arch/x86/kvm/new.c b/arch/x86/kvm/new.c
new file mode 100644
--- /dev/null
+++ b/arch/x86/kvm/new.c
@@ -0,0 +1 @@
+int x;
-- 
2.39.2
`;

describe('parseSeries', () => {
	it('splits an mbox into patches with subjects, commits, files and hunk lines at their patch lines', () => {
		const series = parseSeries(MBOX);
		expect(series.map((p) => [p.index, p.subject, p.commit?.slice(0, 4)])).toEqual([
			[1, '[PATCH 1/2] KVM: x86/xen: move the unlock up a little', '1111'],
			[2, '[PATCH 2/2] KVM: x86: comment', '2222'],
		]);
		expect(series[0].files).toHaveLength(1);
		const [h] = series[0].files[0].hunks;
		expect([h.oldStart, h.oldLines, h.newStart, h.newLines]).toEqual([10, 3, 10, 3]);
		const lines = MBOX.split('\n');
		const plus = h.lines.find((l) => l.kind === '+')!;
		expect(lines[plus.patchLine - 1]).toBe('+\trc = gpc->khva;');
		expect(series[1].files.map((f) => [f.oldPath, f.newPath])).toEqual([
			['arch/x86/kvm/xen.c', 'arch/x86/kvm/xen.c'],
			[undefined, 'arch/x86/kvm/new.c'],
		]);
		expect([...touchedPaths(series)].sort()).toEqual(['arch/x86/kvm/new.c', 'arch/x86/kvm/xen.c']);
		// The "-- " signature after the last hunk is not a removed line.
		expect(series[0].files[0].hunks[0].lines).toHaveLength(4);
	});

	it('reads a plain diff -u and ignores prose without a diff', () => {
		const diff = '--- a/f.c\t2024-01-01\n+++ b/f.c\t2024-01-01\n@@ -1 +1 @@\n-x\n+y\n';
		expect(parseSeries(diff).map((p) => p.files.map((f) => f.newPath))).toEqual([['f.c']]);
		expect(parseSeries('Subject: [PATCH 0/3] cover letter\n\nno diff here\n')).toEqual([]);
	});
});

describe('line maps', () => {
	// old:  1 2 3 4 5      new: 1 2 X 3 5
	const hunks = parseSeries('--- a/f\n+++ b/f\n@@ -2,0 +3 @@\n+X\n@@ -4 +4,0 @@\n-4\n')[0].files[0].hunks;
	it('follows unchanged lines and drops removed ones', () => {
		expect([1, 2, 3, 4, 5].map((l) => mapOldToNew(hunks, l))).toEqual([1, 2, 4, undefined, 5]);
		expect([1, 2, 3, 4, 5].map((l) => mapNewToOld(hunks, l))).toEqual([1, 2, undefined, 3, 5]);
	});

	it('agrees with the hunks of an actual diff', () => {
		const before = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
		const after = [...before.slice(0, 5), 'new a', 'new b', ...before.slice(5, 20), ...before.slice(21)];
		const h = diffHunks('f.c', before.join('\n') + '\n', after.join('\n') + '\n');
		for (let l = 1; l <= before.length; l++) {
			const n = mapOldToNew(h, l);
			if (n === undefined) expect(l).toBe(21);
			else expect(after[n - 1]).toBe(before[l - 1]);
		}
	});

	it('names the patch of a series that added or removed a line', () => {
		const series = parseSeries(MBOX);
		// After the series: patch 2 put two comment lines at 2-3, so patch 1's line 12 is now 14.
		const added = whoAdded(series, 'arch/x86/kvm/xen.c', 14, '\trc = gpc->khva;');
		expect(added?.patch.index).toBe(1);
		expect(MBOX.split('\n')[added!.line.patchLine - 1]).toBe('+\trc = gpc->khva;');
		expect(whoAdded(series, 'arch/x86/kvm/xen.c', 2)?.patch.index).toBe(2);
		// `a();` was there before: patch 1 only shows it as context, next to its change.
		expect(whoAdded(series, 'arch/x86/kvm/xen.c', 12)?.line.kind).toBe(' ');
		expect(whoAdded(series, 'arch/x86/kvm/xen.c', 30)).toBeUndefined();
		// A patch that applied elsewhere (offset) is not blamed for a line it did not write.
		expect(whoAdded(series, 'arch/x86/kvm/xen.c', 14, 'something else')).toBeUndefined();
		expect(whoRemoved(series, 'arch/x86/kvm/xen.c', 11)?.patch.index).toBe(1);
		expect(whoAdded(series, 'arch/x86/kvm/new.c', 1)?.patch.index).toBe(2);
	});
});

describe('fingerprints', () => {
	const file = 'arch/x86/kvm/xen.c';
	const text = ['int f(void)', '{', '\tread_unlock(&gpc->lock);', '\trc = gpc->khva;', '\tread_unlock(&gpc->lock);', '}'].join('\n');
	it('are rule + file + trimmed line text: lines inserted above keep them', () => {
		const before = fingerprintFindings([finding(file, 4)], textOf({ [file]: text }));
		const shifted = '/* a */\n/* b */\n' + text.replace('\trc', '        rc');
		const after = fingerprintFindings([finding(file, 6)], textOf({ [file]: shifted }));
		expect(after).toEqual(before);
		// The recipe of SARIF v1, unchanged for the first finding on a line text.
		expect(before[0]).toBe(createHash('sha256').update(`gpc-use-after-unlock\0${file}\0rc = gpc->khva;`).digest('hex').slice(0, 32));
		expect(lineFingerprint('gpc-lock-imbalance', file, 'x')).not.toBe(lineFingerprint('gpc-use-after-unlock', file, 'x'));
	});

	it('tell findings on identical lines apart, by their order', () => {
		const prints = fingerprintFindings([finding(file, 5, 'gpc-lock-imbalance'), finding(file, 3, 'gpc-lock-imbalance')], textOf({ [file]: text }));
		expect(new Set(prints).size).toBe(2);
		expect(prints[1]).toBe(lineFingerprint('gpc-lock-imbalance', file, 'read_unlock(&gpc->lock);', 0));
		expect(prints[0]).toBe(lineFingerprint('gpc-lock-imbalance', file, 'read_unlock(&gpc->lock);', 1));
	});

	it('are what SARIF carries', () => {
		const log = JSON.parse(formatSarif([finding(file, 4)], '0', textOf({ [file]: text })));
		expect(log.runs[0].results[0].partialFingerprints['gpcscopeLine/v1']).toBe(fingerprintFindings([finding(file, 4)], textOf({ [file]: text }))[0]);
	});
});

describe('matchFindings', () => {
	const file = 'a.c';
	const before = Array.from({ length: 30 }, (_, i) => `stmt_${i + 1}();`);
	it('pairs findings that only moved, and reports the rest as introduced and fixed', () => {
		// Three lines inserted at the top; stmt_20 rewritten; stmt_25 deleted.
		const after = ['/* 1 */', '/* 2 */', '/* 3 */', ...before.slice(0, 19), 'stmt_20(x);', ...before.slice(20, 24), ...before.slice(25)];
		const diff = { hunks: new Map([[file, diffHunks(file, before.join('\n'), after.join('\n'))]]) };
		const old = [finding(file, 10), finding(file, 20, 'gpc-use-unchecked', 'used unchecked'), finding(file, 25, 'gpc-lock-imbalance', 'leaks')];
		const now = [finding(file, 13), finding(file, 23, 'gpc-use-unchecked', 'used unchecked'), finding(file, 28, 'gpc-check-unlocked', 'unlocked')];
		const m = matchFindings(old, textOf({ [file]: before.join('\n') }), now, textOf({ [file]: after.join('\n') }), diff);
		expect(m.unchanged.map(([b, a]) => [b.range.start.line + 1, a.range.start.line + 1])).toEqual([[10, 13], [20, 23]]);
		expect(m.introduced.map((f) => [f.rule, f.range.start.line + 1])).toEqual([['gpc-check-unlocked', 28]]);
		expect(m.fixed.map((f) => [f.rule, f.range.start.line + 1])).toEqual([['gpc-lock-imbalance', 25]]);
		expect(m.introducedFingerprints).toHaveLength(1);
	});

	it('pairs a finding that moved to another place with the same line text (a function moved)', () => {
		const after = [...before.slice(0, 5), ...before.slice(15, 30), ...before.slice(5, 15)];
		const diff = { hunks: new Map([[file, diffHunks(file, before.join('\n'), after.join('\n'))]]) };
		const m = matchFindings([finding(file, 8)], textOf({ [file]: before.join('\n') }), [finding(file, 23)], textOf({ [file]: after.join('\n') }), diff);
		expect(after[22]).toBe(before[7]);
		expect([m.introduced.length, m.fixed.length, m.unchanged.length]).toEqual([0, 0, 1]);
	});
});

describe('baselines', () => {
	const file = 'arch/x86/kvm/xen.c';
	const text = ['a();', 'rc = gpc->khva;', 'b();', 'read_unlock(&gpc->lock);'].join('\n');
	const known = [finding(file, 2)];
	it('filter out what a SARIF baseline knows, even after lines were inserted above', () => {
		const sarif = formatSarif(known, '0', textOf({ [file]: text }));
		const baseline = parseBaseline(sarif, 'base.sarif');
		const now = '/* new */\n/* lines */\n' + text;
		const r = filterNew([finding(file, 4), finding(file, 6, 'gpc-lock-imbalance', 'leaks')], textOf({ [file]: now }), baseline);
		expect(r.known.map((f) => f.rule)).toEqual(['gpc-use-after-unlock']);
		expect(r.fresh.map((f) => f.rule)).toEqual(['gpc-lock-imbalance']);
	});

	it('accept a JSON report (no fingerprints: rule, file and message without numbers)', () => {
		const json = JSON.stringify({ version: 1, diagnostics: [{ file, line: 2, rule: 'gpc-use-after-unlock', message: 'read after unlock (validated at line 3)' }] });
		const r = filterNew([finding(file, 9)], textOf({}), parseBaseline(json));
		expect([r.known.length, r.fresh.length]).toEqual([1, 0]);
	});

	it('let each known finding excuse one finding only', () => {
		const baseline = baselineOf(known, textOf({ [file]: text }), 'test');
		const twice = 'rc = gpc->khva;\n' + text;
		const r = filterNew([finding(file, 1), finding(file, 3)], textOf({ [file]: twice }), baseline);
		expect([r.known.length, r.fresh.length]).toEqual([1, 1]);
	});

	it('reject what is neither SARIF nor a gpcscope report', () => {
		expect(() => parseBaseline('not json')).toThrow(ReviewError);
		expect(() => parseBaseline('{"foo":1}')).toThrow(/neither SARIF/);
	});
});

// `gpcscope review` on the real Debian 6.12 tree: patches that introduce bugs (the
// measured injections of injections.json), a series that fixes one while moving
// the code around it, and git revision ranges in a repository made from the tree.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/src/analysis/engine';
import { review, type ReviewResult } from '../../server/src/review';
import { reviewJson } from '../../server/src/review/format';
import { fileDiff, mbox, replaceOnce } from '../unit/review-helpers';
import { kernelTree } from './trees';

interface Injection { id: string; tree: string; file: string; expect: string[]; original: string; replacement: string }
const INJECTIONS: Injection[] = JSON.parse(readFileSync(join(__dirname, 'injections.json'), 'utf8'));
const inj = (id: string) => INJECTIONS.find((i) => i.id === id)!;

let engine: Engine;
let tree: string;
const work = mkdtempSync(join(tmpdir(), 'gpcscope-kernel-review-'));
const read = (rel: string) => readFileSync(join(tree, rel), 'utf8');
const summary = (r: ReviewResult) => {
	const j = reviewJson(r);
	const row = (d: (typeof j.introduced)[number]) => `${d.rule} ${d.file}:${d.line}${d.patch ? ` #${d.patch.index}` : ''}`;
	return { introduced: j.introduced.map(row), fixed: j.fixed.map(row) };
};
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

beforeAll(async () => {
	tree = kernelTree('6.12');
	engine = await Engine.create();
}, 900_000);
afterAll(() => {
	engine?.dispose();
	rmSync(work, { recursive: true, force: true });
});

describe('review of patches against linux-6.12', () => {
	it('names the two bugs a two-patch series introduces, each with its patch and patch line', async () => {
		const i01 = inj('I01'), i21 = inj('I21');
		const xen = read(i01.file), x86 = read(i21.file);
		const series = mbox([
			{ subject: 'KVM: x86/xen: shorten the vcpu_info critical section', diffs: [fileDiff(i01.file, xen, replaceOnce(xen, i01.original, i01.replacement))] },
			{ subject: 'KVM: x86: shorten the pvclock critical section', diffs: [fileDiff(i21.file, x86, replaceOnce(x86, i21.original, i21.replacement))] },
		]);
		const file = join(work, 'series.mbox');
		writeFileSync(file, series);
		const r = await review(file, { tree, engine });
		expect(r.stats.findingsBefore).toBe(0); // pristine 6.12 is silent
		expect(r.fixed).toEqual([]);
		expect(r.introduced.map((x) => [x.finding.rule, x.finding.file, x.patch?.index])).toEqual([
			['gpc-use-after-unlock', 'arch/x86/kvm/x86.c', 2],
			['gpc-use-after-unlock', 'arch/x86/kvm/xen.c', 1],
		]);
		for (const x of r.introduced) {
			// The patch line is the `+` line that reads the mapping after the unlock.
			expect(series.split('\n')[x.patch!.line! - 1]).toBe('+' + x.lineText);
		}
		const after = replaceOnce(xen, i01.original, i01.replacement);
		expect(r.introduced[1].finding.range.start.line + 1).toBe(lineOf(after, 'rc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;'));
		// The cached tree is never written.
		expect(read(i01.file)).toBe(xen);
	}, 300_000);

	it('reports the fix of a series that also moves the code: fixed once, nothing introduced', async () => {
		// A tree that has bug I02, in a hard-linked copy (the patched file is a new file).
		const buggy = join(work, 'buggy');
		execFileSync('cp', ['-al', tree, buggy]);
		const i02 = inj('I02');
		const pristine = read(i02.file);
		const bug = replaceOnce(pristine, i02.original, i02.replacement);
		unlinkSync(join(buggy, i02.file));
		writeFileSync(join(buggy, i02.file), bug);
		const comment = '/*\n * An unrelated comment: every line below moves.\n */\n';
		const moved = replaceOnce(bug, '#include "x86.h"\n', comment + '#include "x86.h"\n');
		const series = mbox([
			{ subject: 'KVM: x86/xen: a comment', diffs: [fileDiff(i02.file, bug, moved)] },
			{ subject: 'KVM: x86/xen: write the wallclock version under the lock', diffs: [fileDiff(i02.file, moved, replaceOnce(moved, i02.replacement, i02.original))] },
		]);
		writeFileSync(join(work, 'fix.mbox'), series);
		const r = await review(join(work, 'fix.mbox'), { tree: buggy, engine });
		const s = summary(r);
		expect(s.introduced).toEqual([]);
		expect(s.fixed).toEqual([`gpc-use-after-unlock arch/x86/kvm/xen.c:${lineOf(bug, 'wc->version = wc_version + 1;')} #2`]);
		// The fix moved the unlock, not the write: patch 2 shows the write's line as context.
		expect(r.fixed[0].patch?.change).toBe('near');
		expect(r.stats.findingsBefore).toBe(1);
		expect(r.stats.findingsAfter).toBe(0);
		rmSync(buggy, { recursive: true, force: true });
		expect(read(i02.file)).toBe(pristine);
	}, 300_000);
});

describe('review of git revision ranges in a repository of linux-6.12', () => {
	let repo: string;
	const git = (...args: string[]) =>
		execFileSync('git', args, { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' } });
	const commit = (message: string, id: string, undo?: string) => {
		const i = inj(id);
		let text = readFileSync(join(repo, i.file), 'utf8');
		if (undo) text = replaceOnce(text, inj(undo).replacement, inj(undo).original);
		writeFileSync(join(repo, i.file), replaceOnce(text, i.original, i.replacement));
		git('commit', '-q', '-am', message);
		return git('rev-parse', 'HEAD').trim();
	};
	let c1: string, c2: string;

	beforeAll(() => {
		// The parts of the tree the analysis reads (API headers, users, implementation), as a repository.
		repo = join(work, 'repo');
		for (const d of ['include', 'arch/x86/include', 'arch/x86/kvm', 'virt/kvm']) {
			mkdirSync(dirname(join(repo, d)), { recursive: true });
			cpSync(join(tree, d), join(repo, d), { recursive: true });
		}
		git('init', '-q', '-b', 'main');
		git('add', '-A');
		git('commit', '-q', '-m', 'Linux 6.12 (Debian linux-source-6.12)');
		c1 = commit('KVM: x86/xen: shorten the vcpu_info critical section', 'I01');
		c2 = commit('KVM: x86/xen: fix the vcpu_info read, drop a mark-dirty', 'I09', 'I01');
	}, 300_000);

	it('base..head: only what the range adds up to (a bug added and removed inside it is not reported)', async () => {
		const r = await review('HEAD~2..HEAD', { tree: repo, engine });
		expect(r.kind).toBe('range');
		expect(summary(r).introduced).toEqual([expect.stringMatching(/^gpc-missing-mark-dirty arch\/x86\/kvm\/xen\.c:\d+/)]);
		expect(r.fixed).toEqual([]);
		expect(r.series.map((s) => s.commit)).toEqual([c1, c2]);
	}, 300_000);

	it('c1..c2 and a single commit: introduced and fixed, each with its commit', async () => {
		const r = await review(`${c1}..${c2}`, { tree: repo, engine });
		expect(r.introduced.map((x) => x.finding.rule)).toEqual(['gpc-missing-mark-dirty']);
		expect(r.fixed.map((x) => [x.finding.rule, x.patch?.commit])).toEqual([['gpc-use-after-unlock', c2]]);
		const one = await review(c1, { tree: repo, engine });
		expect(one.introduced.map((x) => [x.finding.rule, x.patch?.commit, x.patch?.subject])).toEqual([
			['gpc-use-after-unlock', c1, '[PATCH] KVM: x86/xen: shorten the vcpu_info critical section'],
		]);
		expect(one.fixed).toEqual([]);
	}, 300_000);
});

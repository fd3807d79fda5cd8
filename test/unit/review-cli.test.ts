// `gpcscope review` and `--new-only` baselines as a user runs them, on copies of
// the demo tree: a series that introduces a bug (and moves other findings), one that
// fixes one, a patch that does not apply, a git revision range; and SARIF whose
// fingerprints survive unrelated edits.
import Ajv from 'ajv-draft-04';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeTree } from '../../server/src/review/analyze';
import { applyBaseline } from '../../server/src/review/baseline';
import { DEMO, REPO } from '../helpers';
import { fileDiff, mbox } from './review-helpers';

const CLI = join(REPO, 'dist', 'cli.js');
/** Everything this file writes: trees, repositories, patches, the CLI's cache. */
const WORK = mkdtempSync(join(tmpdir(), 'gpcscope-review-'));
const scratch = (name: string) => mkdtempSync(join(WORK, `${name}-`));
const CACHE = scratch('cache');
afterAll(() => rmSync(WORK, { recursive: true, force: true }));
/** The built CLI, with its index cache in a scratch folder (temporary trees would litter the user's). */
const gpcscope = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, env: { ...process.env, XDG_CACHE_HOME: CACHE } });

const XEN = 'arch/x86/kvm/xen.c';
const BUGS = 'arch/x86/kvm/demo_bugs.c';
const READ = '\trc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;\n';
const UNLOCK = '\tread_unlock_irqrestore(&gpc->lock, flags);\n';
const FIXED_BUG = [
	'\tpending = vi->evtchn_upcall_pending;\n\tread_unlock_irqrestore(&gpc->lock, flags);\n\n\treturn pending && !vi->evtchn_upcall_mask;\t/* expect: gpc-use-after-unlock */\n',
	'\tpending = vi->evtchn_upcall_pending && !vi->evtchn_upcall_mask;\n\tread_unlock_irqrestore(&gpc->lock, flags);\n\n\treturn pending;\n',
];

let tree: string;
let xen: string;
let bugs: string;
beforeAll(() => {
	tree = join(scratch('patch'), 'linux');
	cpSync(DEMO, tree, { recursive: true });
	xen = readFileSync(join(tree, XEN), 'utf8');
	bugs = readFileSync(join(tree, BUGS), 'utf8');
	expect(xen.split(READ + UNLOCK)).toHaveLength(2);
});

const introduceSeries = () =>
	mbox([
		{ subject: 'KVM: x86/xen: drop the lock earlier', diffs: [fileDiff(XEN, xen, xen.replace(READ + UNLOCK, UNLOCK + READ))] },
		{ subject: 'KVM: x86: comments', diffs: [fileDiff(BUGS, bugs, '/*\n * A comment that moves every finding below.\n */\n' + bugs)] },
	]);

describe('gpcscope review <patch|mbox>', () => {
	it('reports what a series introduces, with the patch and its line, and not what merely moved', () => {
		const series = introduceSeries();
		const file = join(tree, '..', 'series.mbox');
		writeFileSync(file, series);
		const r = gpcscope(tree, 'review', file, '--format', 'json');
		expect(r.status, r.stderr).toBe(1);
		const report = JSON.parse(r.stdout);
		expect(report.fixed).toEqual([]);
		expect(report.introduced).toHaveLength(1);
		const [d] = report.introduced;
		const after = xen.replace(READ + UNLOCK, UNLOCK + READ).split('\n');
		expect(d).toMatchObject({ file: XEN, rule: 'gpc-use-after-unlock', severity: 'error', line: after.indexOf(READ.slice(0, -1)) + 1 });
		expect(d.patch).toMatchObject({ index: 1, total: 2, subject: '[PATCH 1/2] KVM: x86/xen: drop the lock earlier' });
		expect(series.split('\n')[d.patch.line - 1]).toBe('+' + READ.slice(0, -1));
		expect(d.fingerprint).toMatch(/^[0-9a-f]{32}$/);
		expect(report.stats.findingsAfter).toBe(report.stats.findingsBefore + 1);
		expect(report.series.map((s: { index: number }) => s.index)).toEqual([1, 2]);
		// The tree itself is untouched.
		expect(readFileSync(join(tree, XEN), 'utf8')).toBe(xen);
	}, 60_000);

	it('prints gcc-style text and SARIF that validates, with new results only', () => {
		const file = join(tree, '..', 'series.mbox');
		writeFileSync(file, introduceSeries());
		const text = gpcscope(tree, 'review', file);
		expect(text.stdout).toMatch(/^arch\/x86\/kvm\/xen\.c:\d+:\d+: error: .* \[gpc-use-after-unlock\] \(line added by series\.mbox:\d+, patch 1\/2 ".*drop the lock earlier"\)$/m);
		expect(text.stderr).toMatch(/gpcscope review: 1 introduced, 0 fixed; \d+ findings before, \d+ after \(2 patches, 2 files changed\)/);
		const sarif = JSON.parse(gpcscope(tree, 'review', file, '--format', 'sarif', '-q').stdout);
		const schema = JSON.parse(readFileSync(join(REPO, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
		const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(schema);
		expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
		expect(sarif.runs[0].results.map((x: { ruleId: string; baselineState: string }) => [x.ruleId, x.baselineState])).toEqual([['gpc-use-after-unlock', 'new']]);
	}, 60_000);

	it('reports what a patch fixes, at the line before the patch, and exits 0', () => {
		const file = join(tree, '..', 'fix.patch');
		writeFileSync(file, fileDiff(BUGS, bugs, bugs.replace(FIXED_BUG[0], FIXED_BUG[1])));
		const r = gpcscope(tree, 'review', file, '--format', 'json', '-q');
		expect(r.status, r.stderr).toBe(0);
		const report = JSON.parse(r.stdout);
		expect(report.introduced).toEqual([]);
		expect(report.fixed.map((d: { rule: string; file: string; line: number }) => [d.rule, d.file, d.line])).toEqual([['gpc-use-after-unlock', BUGS, 51]]);
		expect(report.fixed[0].patch.line).toBeGreaterThan(0);
	}, 60_000);

	it('exits 2 when the patch does not apply, or the input is neither a patch nor a revision', () => {
		const file = join(tree, '..', 'stale.patch');
		writeFileSync(file, fileDiff(XEN, xen.replace(READ, '\trc = 0;\n'), xen.replace(READ, '\trc = 1;\n')));
		const r = gpcscope(tree, 'review', file);
		expect(r.status).toBe(2);
		expect(r.stderr).toMatch(/does not apply/);
		const none = gpcscope(tree, 'review', 'no-such-thing');
		expect(none.status).toBe(2);
		expect(none.stderr).toMatch(/not a git work tree/);
	}, 60_000);
});

describe('gpcscope review <git revision range>', () => {
	let repo: string;
	const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' } });
	beforeAll(() => {
		repo = join(scratch('git'), 'linux');
		cpSync(DEMO, repo, { recursive: true });
		git('init', '-q', '-b', 'main');
		git('add', '-A');
		git('commit', '-q', '-m', 'base');
		writeFileSync(join(repo, XEN), xen.replace(READ + UNLOCK, UNLOCK + READ));
		git('commit', '-q', '-am', 'KVM: x86/xen: drop the lock earlier');
		writeFileSync(join(repo, BUGS), bugs.replace(FIXED_BUG[0], FIXED_BUG[1]));
		git('commit', '-q', '-am', 'KVM: demo: read the mask under the lock');
	});

	it('reports each finding with the commit that introduced or fixed it', () => {
		const r = gpcscope(repo, 'review', 'HEAD~2..HEAD', '--format', 'json', '-q');
		expect(r.status, r.stderr).toBe(1);
		const report = JSON.parse(r.stdout);
		expect(report.kind).toBe('range');
		expect(report.introduced.map((d: { rule: string; file: string }) => [d.rule, d.file])).toEqual([['gpc-use-after-unlock', XEN]]);
		expect(report.introduced[0].patch).toMatchObject({ index: 1, commit: git('rev-parse', 'HEAD~1').trim(), subject: '[PATCH 1/2] KVM: x86/xen: drop the lock earlier' });
		expect(report.fixed.map((d: { rule: string; file: string; line: number }) => [d.rule, d.file, d.line])).toEqual([['gpc-use-after-unlock', BUGS, 51]]);
		expect(report.fixed[0].patch.commit).toBe(git('rev-parse', 'HEAD').trim());
	}, 60_000);

	it('takes one commit as that commit alone, and ignores uncommitted changes', () => {
		writeFileSync(join(repo, BUGS), '/* uncommitted */\n' + readFileSync(join(repo, BUGS), 'utf8'));
		const r = gpcscope(repo, 'review', 'HEAD', '--format', 'json', '-q');
		const report = JSON.parse(r.stdout);
		expect([report.introduced.length, report.fixed.length]).toEqual([0, 1]);
		expect(report.fixed[0].line).toBe(51);
		git('checkout', '-q', '--', BUGS);
	}, 60_000);

	it('--new-only: findings not in git HEAD (uncommitted changes), or not in a SARIF baseline', async () => {
		const head = readFileSync(join(repo, XEN), 'utf8');
		// A new bug, uncommitted, and lines inserted above the old ones.
		writeFileSync(join(repo, BUGS), '/* moved */\n' + readFileSync(join(repo, BUGS), 'utf8').replace(FIXED_BUG[1], FIXED_BUG[0]));
		const now = await analyzeTree(repo);
		const vsHead = await applyBaseline(now.result, now.root, now.lineText, { newOnly: true });
		expect(vsHead.source).toBe('git HEAD');
		expect(vsHead.fresh.map((f) => [f.rule, f.file, f.range.start.line + 1])).toEqual([['gpc-use-after-unlock', BUGS, 52]]);
		expect(vsHead.known.length).toBe(now.result.findings.length - 1);
		// A SARIF baseline written before the change knows everything but the new one.
		git('stash', '-q');
		const base = join(repo, '..', 'base.sarif');
		writeFileSync(base, gpcscope(repo, 'check', '.', '--format', 'sarif', '-q').stdout);
		git('stash', 'pop', '-q');
		const vsFile = await applyBaseline(now.result, now.root, now.lineText, { baseline: base });
		expect(vsFile.fresh.map((f) => f.rule)).toEqual(['gpc-use-after-unlock']);
		expect(readFileSync(join(repo, XEN), 'utf8')).toBe(head);
	}, 60_000);
});

describe('SARIF fingerprints for code scanning', () => {
	it('stay the same when lines are inserted above the findings', () => {
		const copy = join(scratch('sarif'), 'linux');
		cpSync(DEMO, copy, { recursive: true });
		const prints = () => {
			const log = JSON.parse(gpcscope(copy, 'check', '.', '--format', 'sarif', '-q').stdout);
			return new Map<string, string>(
				log.runs[0].results.map((r: { partialFingerprints: Record<string, string>; ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }) => [
					r.partialFingerprints['gpcscopeLine/v1'],
					`${r.ruleId}@${r.locations[0].physicalLocation.artifactLocation.uri}:${r.locations[0].physicalLocation.region.startLine}`,
				]),
			);
		};
		const before = prints();
		expect(before.size).toBeGreaterThan(10);
		for (const f of [BUGS, XEN]) writeFileSync(join(copy, f), '/*\n * Unrelated: a new comment block\n * at the top of the file.\n */\n\n' + readFileSync(join(copy, f), 'utf8'));
		const after = prints();
		expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
		// Same identities, new places: every finding of those files moved down five lines.
		for (const [print, where] of before) {
			const [, file, line] = /@(.*):(\d+)$/.exec(where)!;
			const moved = file === BUGS || file === XEN ? Number(line) + 5 : Number(line);
			expect(after.get(print)).toBe(where.replace(/:\d+$/, `:${moved}`));
		}
	}, 60_000);
});

// The whole-tree rewrite of gpc-dead-usage-flag on fixture trees: each
// fix/<case>/before becomes exactly fix/<case>/after, a second run changes
// nothing, the result has no finding and no usage identifier left, the
// --dry-run patch applies with `git apply`, and refusals name file:line.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planTree } from '../../server/src/fix';
import { renderPlan } from '../../server/src/usage/diff';
import { analyzePath, FIXTURES, REPO } from '../helpers';

const CASES = join(FIXTURES, 'gpc-dead-usage-flag', 'fix');
const CLI = join(REPO, 'dist', 'cli.js');
const USAGE = /\b(pfn_cache_usage|KVM_GUEST_USES_PFN|KVM_HOST_USES_PFN|KVM_GUEST_AND_HOST_USE_PFN)\b|gpc->(usage|vcpu)\b|evict_vcpus/;
const scratch = mkdtempSync(join(tmpdir(), 'gpcscope-fix-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const fix = (...args: string[]) => spawnSync(process.execPath, [CLI, 'fix', '--rule', 'gpc-dead-usage-flag', ...args], { encoding: 'utf8' });

function files(root: string): Map<string, string> {
	const out = new Map<string, string>();
	const walk = (dir: string) => {
		for (const e of readdirSync(dir, { withFileTypes: true })) {
			const abs = join(dir, e.name);
			if (e.isDirectory()) walk(abs);
			else out.set(relative(root, abs), readFileSync(abs, 'utf8'));
		}
	};
	walk(root);
	return out;
}

/** `cp -al`: a hardlinked copy, as the build tier makes of a kernel tree. */
function linkCopy(from: string, to: string): void {
	for (const [file] of files(from)) {
		mkdirSync(dirname(join(to, file)), { recursive: true });
		linkSync(join(from, file), join(to, file));
	}
}

function codeOnly(text: string): string {
	return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
}

let n = 0;
const fresh = (name: string) => join(scratch, `${n++}-${name}`);

const cases = readdirSync(CASES).filter((c) => existsSync(join(CASES, c, 'after'))).sort();

describe.each(cases)('fix/%s', (name) => {
	const before = join(CASES, name, 'before');
	const after = join(CASES, name, 'after');

	it('rewrites before/ into exactly after/', async () => {
		const { outcome } = await planTree(before);
		expect(outcome.kind, JSON.stringify(outcome)).toBe('changes');
		if (outcome.kind !== 'changes') return;
		const expected = files(after);
		const actual = files(before);
		for (const c of outcome.changes) actual.set(c.file, c.after);
		expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
		for (const [file, text] of expected) expect(actual.get(file), file).toBe(text);
	});

	it('leaves kernel style: no trailing blanks, no blank line after { or before }, no double blank lines', () => {
		for (const [file, text] of files(after)) {
			const lines = text.split('\n');
			lines.forEach((l, i) => {
				expect(l, `${file}:${i + 1} trailing whitespace`).not.toMatch(/[ \t]$/);
				if (i > 0 && l.trim() === '') {
					expect(lines[i - 1], `${file}:${i + 1} blank after {`).not.toMatch(/\{\s*$/);
					expect(lines[i - 1].trim(), `${file}:${i + 1} double blank`).not.toBe('');
				}
				if (i > 0 && /^\s*\}/.test(l)) expect(lines[i - 1].trim(), `${file}:${i + 1} blank before }`).not.toBe('');
			});
		}
	});

	it('is done after one run: nothing left to change, no finding, no usage identifier in code', async () => {
		const { outcome } = await planTree(after);
		expect(outcome.kind).toBe('nothing');
		const result = await analyzePath(after);
		expect(result.findings.filter((f) => f.rule === 'gpc-dead-usage-flag')).toEqual([]);
		for (const [file, text] of files(after)) expect(codeOnly(text), file).not.toMatch(USAGE);
	});

	it('--dry-run touches nothing and prints a patch that git apply takes', () => {
		const tree = fresh(name);
		cpSync(before, tree, { recursive: true, preserveTimestamps: true });
		const mtimes = [...files(tree).keys()].map((f) => statSync(join(tree, f)).mtimeMs);
		const r = fix(tree, '--dry-run');
		expect(r.status, r.stderr).toBe(0);
		expect(files(tree)).toEqual(files(before));
		expect([...files(tree).keys()].map((f) => statSync(join(tree, f)).mtimeMs)).toEqual(mtimes);
		const git = spawnSync('git', ['apply', '--check', '-v', '-'], { cwd: tree, input: r.stdout, encoding: 'utf8' });
		expect(git.status, git.stderr).toBe(0);
		expect(spawnSync('git', ['apply', '-'], { cwd: tree, input: r.stdout }).status).toBe(0);
		expect(files(tree)).toEqual(files(after));
	});

	it('rewrites a hardlinked copy in place through rename, leaving the original links alone; a second run is a no-op', () => {
		const tree = fresh(name);
		linkCopy(before, tree);
		const r = fix(tree);
		expect(r.status, r.stderr).toBe(0);
		expect(r.stderr).toMatch(/rewrote \d+ files/);
		expect(files(tree)).toEqual(files(after));
		// The pristine files still have their text: the rewrite replaced links, it did not write through them.
		for (const [file, text] of files(before)) expect(readFileSync(join(before, file), 'utf8')).toBe(text);
		expect(readdirSync(join(tree, 'include/linux')).filter((f) => f.includes('.tmp'))).toEqual([]);
		const again = fix(tree);
		expect(again.status).toBe(0);
		expect(again.stderr).toMatch(/no enum pfn_cache_usage/);
		expect(files(tree)).toEqual(files(after));
	});
});

describe('fix refusals', () => {
	it('refuses a tree where a usage test sits in a region tree-sitter could not parse, naming file:line', () => {
		const tree = fresh('unparsed');
		cpSync(join(CASES, 'refuse-unparsed-6.2', 'before'), tree, { recursive: true });
		const r = fix(tree);
		expect(r.status).toBe(1);
		expect(r.stderr).toMatch(/nothing was changed/);
		expect(r.stderr).toMatch(/^virt\/kvm\/pfncache\.c:19: error: .*tree-sitter could not parse .*virt\/kvm\/pfncache\.c:20/m);
		expect(files(tree)).toEqual(files(join(CASES, 'refuse-unparsed-6.2', 'before')));
		expect(fix(tree, '--dry-run').stdout).toBe('');
	});

	it('rewrites the same tree when the region is a kernel macro the normalisation reads (sizeof_field of a struct)', () => {
		// xen.c's BUILD_BUG_ON(sizeof_field(struct …, …) != …) shape: tree-sitter alone cannot
		// parse it (this test refused before parse/normalise.ts); normalised, the branch goes whole.
		const tree = fresh('normalised');
		cpSync(join(CASES, 'refuse-unparsed-6.2', 'before'), tree, { recursive: true });
		const file = join(tree, 'virt', 'kvm', 'pfncache.c');
		const text = readFileSync(file, 'utf8').replace('typeof_member(struct gfn_to_pfn_cache, usage) != 4', 'sizeof_field(struct gfn_to_pfn_cache, usage) != 4');
		writeFileSync(file, text);
		const r = fix(tree);
		expect(r.status, r.stderr).toBe(0);
		const after = readFileSync(file, 'utf8');
		expect(codeOnly(after)).not.toMatch(/KVM_GUEST_USES_PFN|sizeof_field/);
		expect(after).toMatch(/gpc->valid = false;\n\t\t}\n\t\twrite_unlock_irq\(&gpc->lock\);/);
	});

	it('refuses a tree where a caller passes the guest bit, naming it', () => {
		const tree = fresh('live');
		cpSync(join(FIXTURES, 'gpc-dead-usage-flag', 'good', 'nested-guest-user-6.1'), tree, { recursive: true });
		const r = fix(tree);
		expect(r.status).toBe(1);
		expect(r.stderr).toMatch(/^arch\/x86\/kvm\/vmx\/nested\.c:23: error: passes KVM_GUEST_USES_PFN/m);
		expect(r.stderr).toMatch(/usage flags are live/);
	});

	it('exits 2 on a rule without a fix and on a path that is not a tree', () => {
		expect(spawnSync(process.execPath, [CLI, 'fix', '--rule', 'gpc-len-mismatch', CASES], { encoding: 'utf8' }).status).toBe(2);
		expect(fix(join(scratch, 'nope')).status).toBe(2);
	});
});

describe('fix on the rule fixtures and the demo tree', () => {
	const bad = join(FIXTURES, 'gpc-dead-usage-flag', 'bad');
	const trees = [...readdirSync(bad).map((d) => join(bad, d)), join(REPO, 'examples', 'demo-kernel')];
	it.each(trees.map((t) => [relative(REPO, t), t]))('%s: the rewrite leaves no finding and nothing to redo', async (_label, path) => {
		const { plan, outcome } = await planTree(path);
		expect(outcome.kind, JSON.stringify(plan.refusals)).toBe('changes');
		const tree = fresh('smoke');
		cpSync(path, tree, { recursive: true });
		expect(fix(tree).status).toBe(0);
		expect((await planTree(tree)).outcome.kind).toBe('nothing');
		const result = await analyzePath(tree);
		expect(result.findings.filter((f) => f.rule === 'gpc-dead-usage-flag')).toEqual([]);
		// Every group of the plan, applied alone, is a consistent edit.
		for (const g of plan.groups.keys()) expect(renderPlan(plan, (x) => x === g).conflicts).toEqual([]);
	});
});

// The build tier for gpc-lock-in-sched-out's rewrite: on a hardlinked copy of
// Debian's 6.1 tree, `gpcscope fix --rule gpc-lock-in-sched-out` rewrites the
// runstate lock into upstream 6.2's shape (bbe17c625d68), gpcscope is then
// silent about it and finds nothing new, and arch/x86/kvm/xen.o still builds
// (defconfig + KVM, KVM_INTEL, KVM_AMD, KVM_XEN) with no warning the pristine
// build does not have.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers';
import { kernelCacheDir, kernelTree } from '../kernel/trees';
import { buildKvm, ensureBuildTools, pristineWarnings, treeVersion } from './kbuild';

const CLI = join(REPO, 'dist', 'cli.js');
const XEN = 'arch/x86/kvm/xen.c';
const RULE = 'gpc-lock-in-sched-out';
const keep = process.env.GPCSCOPE_BUILD_KEEP === '1';
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

interface Diagnostic {
	file: string;
	line: number;
	rule: string;
	message: string;
}

const check = (tree: string, ...args: string[]) => {
	const r = spawnSync(process.execPath, [CLI, 'check', '--no-cache', '--format', 'json', ...args, tree], { encoding: 'utf8', maxBuffer: 64 << 20 });
	expect(r.stderr).not.toMatch(/internal error/);
	return JSON.parse(r.stdout).diagnostics as Diagnostic[];
};

describe(`linux-6.1 after \`gpcscope fix --rule ${RULE}\``, () => {
	let pristine: string;
	let work: string;
	let fixed: string;
	let before: Diagnostic[];

	beforeAll(() => {
		pristine = kernelTree('6.1');
		ensureBuildTools();
		// Same file system as the cached tree, so `cp -al` can hardlink it; the fix writes through renames.
		work = join(kernelCacheDir(), `sched-out-work-${process.pid}`);
		rmSync(work, { recursive: true, force: true });
		mkdirSync(work, { recursive: true });
		fixed = join(work, 'linux-6.1');
		execFileSync('cp', ['-al', pristine, fixed]);
		before = check(fixed);
	});

	afterAll(() => {
		if (!keep && work) rmSync(work, { recursive: true, force: true });
	});

	it('finds the one sched-out lock, prints a patch that applies, and rewrites the copy only', () => {
		expect(before.filter((d) => d.rule === RULE).map((d) => `${d.file}:${d.line}`)).toEqual([`${XEN}:220`]);
		const original = sha(join(pristine, XEN));
		const dry = spawnSync(process.execPath, [CLI, 'fix', '--rule', RULE, '--dry-run', fixed], { encoding: 'utf8' });
		expect(dry.status, dry.stderr).toBe(0);
		expect(dry.stdout).toContain('+\tif (state == RUNSTATE_runnable) {\n+\t\tlocal_irq_save(flags);\n+\t\tif (!read_trylock(&gpc->lock)) {');
		expect(spawnSync('git', ['apply', '--check', '-'], { input: dry.stdout, cwd: fixed }).status).toBe(0);
		expect(sha(join(fixed, XEN))).toBe(original);

		const r = spawnSync(process.execPath, [CLI, 'fix', '--rule', RULE, fixed], { encoding: 'utf8' });
		expect(r.status, r.stderr).toBe(0);
		expect(r.stderr).toMatch(/rewrote 1 gpc-lock-in-sched-out finding in 1 file/);
		expect(sha(join(fixed, XEN))).not.toBe(original);
		expect(sha(join(pristine, XEN))).toBe(original);
	});

	it('is then silent about it, and finds nothing the pristine tree does not have', () => {
		const after = check(fixed);
		expect(after.filter((d) => d.rule === RULE)).toEqual([]);
		const key = (d: Diagnostic) => `${d.file}:${d.rule}:${d.message}`;
		expect(after.map(key).sort()).toEqual(before.filter((d) => d.rule !== RULE).map(key).sort());
	});

	it('builds arch/x86/kvm/xen.o with no warning the pristine build does not have', () => {
		const cache = join(kernelCacheDir(), `build-warnings-linux-${treeVersion(pristine)}.json`);
		const base = pristineWarnings(pristine, cache, work);
		const build = buildKvm(fixed, join(work, 'obj'), join(work, 'xen.log'), 'arch/x86/kvm/xen.o');
		console.log(`xen.o after the ${RULE} rewrite: built in ${build.seconds.toFixed(0)} s, ${build.warnings.length} warnings (pristine arch/x86/kvm/: ${base.warnings.length})`);
		expect(build.ok, `build failed, see ${build.log} (GPCSCOPE_BUILD_KEEP=1 keeps it)`).toBe(true);
		expect(existsSync(join(work, 'obj', 'arch/x86/kvm/xen.o'))).toBe(true);
		expect(build.warnings.filter((w) => !base.warnings.includes(w))).toEqual([]);
	});
});

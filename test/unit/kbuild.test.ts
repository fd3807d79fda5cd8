// `gpcscope kbuild` as kbuild runs it (`$(CHECK) $(CHECKFLAGS) $(c_flags) file.c`),
// on a copy of the demo tree: gcc-style findings of that file only, exit 0, one
// index of the tree cached across calls and invalidated by the files it read.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTree, parseKbuildArgs, runKbuild } from '../../server/src/kbuild';
import { DEMO, REPO } from '../helpers';

/** What kbuild passes before the file (x86_64, trimmed). */
const FLAGS = [
	'-D__linux__', '-Dlinux', '-D__STDC__', '-Dunix', '-D__unix__', '-Wbitwise', '-Wno-return-void', '-Wno-unknown-attribute', '-D__x86_64__',
	'--arch=x86', '-mlittle-endian', '-m64', '-Wp,-MMD,arch/x86/kvm/.xen.o.d', '-nostdinc', '-I./arch/x86/include', '-I', './include',
	'-include', './include/linux/compiler-version.h', '-include', './include/linux/kconfig.h', '-D__KERNEL__', '-std=gnu11', '-O2',
	'-DKBUILD_MODFILE="arch/x86/kvm/kvm"', '-DKBUILD_BASENAME="xen"', '-DKBUILD_MODNAME="kvm"', '-D__KBUILD_MODNAME=kvm_xen', '-o', 'x.c',
];

let tree: string;
let cache: string;
const call = async (args: string[], cwd = tree) => {
	let err = '';
	const code = await runKbuild([...FLAGS, '--cache-dir', cache, ...args], { stderr: (s) => (err += s), cwd });
	return { code, err };
};

let base: string;
afterAll(() => rmSync(base, { recursive: true, force: true }));
beforeAll(() => {
	base = mkdtempSync(join(tmpdir(), 'gpcscope-kbuild-'));
	tree = join(base, 'linux');
	cache = join(base, 'cache');
	cpSync(DEMO, tree, { recursive: true });
	writeFileSync(join(tree, 'arch/x86/kvm/plain.c'), '// no gpc code here\nint plain(void)\n{\n\treturn 0;\n}\n');
	mkdirSync(join(tree, 'lib'));
	writeFileSync(join(tree, 'lib/other.c'), '// nor here, and not next to a gpc file\nint other(void)\n{\n\treturn 1;\n}\n');
	writeFileSync(join(tree, 'MAINTAINERS'), '');
});

describe('gpcscope kbuild', () => {
	it('finds the source file among compiler flags', () => {
		expect(parseKbuildArgs([...FLAGS, 'arch/x86/kvm/xen.c']).files).toEqual(['arch/x86/kvm/xen.c']);
		expect(parseKbuildArgs(['--tree', '/t', '--api-era=6.1', '--werror', 'a.c']).tree).toBe('/t');
		expect(() => parseKbuildArgs(['--api-era', '7.0', 'a.c'])).toThrow(/api-era/);
	});

	it('says nothing about a file without gpc code, without indexing the tree', async () => {
		const r = await call(['arch/x86/kvm/plain.c']);
		expect(r).toEqual({ code: 0, err: '' });
		expect(existsSync(cache) && readdirSync(cache).length).toBeFalsy();
	}, 30_000);

	it('prints that file\'s findings gcc-style, with the path as given, and exits 0', async () => {
		const r = await call(['--verbose', 'arch/x86/kvm/demo_bugs.c']);
		expect(r.code).toBe(0);
		const lines = r.err.split('\n').filter((l) => !l.startsWith('gpcscope kbuild:') && l);
		expect(lines.length).toBeGreaterThan(5);
		for (const l of lines) expect(l).toMatch(/^arch\/x86\/kvm\/[\w.]+:\d+:\d+: (error|warning|info|note): /);
		expect(lines.filter((l) => !l.includes(': note: ')).every((l) => l.startsWith('arch/x86/kvm/demo_bugs.c:'))).toBe(true);
		expect(r.err).toMatch(/demo_bugs\.c:51:21: error: .* \[gpc-use-after-unlock\]/);
		expect(r.err).toMatch(/index of .*: cold/);
		// Another file of the same tree: the index is read, not rebuilt.
		const again = await call(['--verbose', 'arch/x86/kvm/xen.c']);
		expect(again.err).toMatch(/index of .*: warm/);
		expect(again.err).not.toContain('demo_bugs.c:');
	}, 60_000);

	it('keeps the index across unrelated edits and rebuilds it when a gpc file changes', async () => {
		appendFileSync(join(tree, 'lib/other.c'), '/* an unrelated edit */\n');
		writeFileSync(join(tree, 'include/linux/unrelated.h'), '#define UNRELATED 1\n');
		expect((await call(['--verbose', 'arch/x86/kvm/xen.c'])).err).toMatch(/: warm/);
		appendFileSync(join(tree, 'arch/x86/kvm/demo_bugs.c'), '/* touched */\n');
		expect((await call(['--verbose', 'arch/x86/kvm/xen.c'])).err).toMatch(/stale \(gpc files changed\)/);
		// A neighbour of a gpc file feeds the may-sleep summaries: it counts too.
		appendFileSync(join(tree, 'arch/x86/kvm/plain.c'), '/* touched */\n');
		expect((await call(['--verbose', 'arch/x86/kvm/xen.c'])).err).toMatch(/stale/);
		// A plain .c elsewhere that starts using the API joins the analysis.
		expect((await call(['--verbose', 'arch/x86/kvm/xen.c'])).err).toMatch(/: warm/);
		appendFileSync(join(tree, 'lib/other.c'), 'int uses(struct gfn_to_pfn_cache *gpc);\n');
		expect((await call(['--verbose', 'arch/x86/kvm/xen.c'])).err).toMatch(/stale/);
	}, 60_000);

	it('works from an object tree (O=): the path as kbuild gives it, the tree found above the file', async () => {
		const obj = mkdtempSync(join(base, 'obj-'));
		expect(findTree(join(tree, 'arch/x86/kvm/demo_bugs.c'))).toBe(tree);
		const r = await call([`${tree}/arch/x86/kvm/demo_bugs.c`], obj);
		expect(r.code).toBe(0);
		expect(r.err.split('\n')[0]).toMatch(new RegExp(`^${tree.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/arch/x86/kvm/demo_bugs\\.c:\\d+:\\d+: `));
	}, 60_000);

	it('--werror exits 1 when the file has errors or warnings', async () => {
		expect((await call(['--werror', 'arch/x86/kvm/demo_bugs.c'])).code).toBe(1);
		expect((await call(['--werror', 'arch/x86/kvm/plain.c'])).code).toBe(0);
	}, 60_000);

	it('runs as `gpcscope kbuild` with all of kbuild\'s flags (the built CLI)', () => {
		const r = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'kbuild', ...FLAGS, '--cache-dir', cache, 'arch/x86/kvm/demo_bugs.c'], { cwd: tree, encoding: 'utf8' });
		expect(r.status).toBe(0);
		expect(r.stdout).toBe('');
		expect(r.stderr).toMatch(/^arch\/x86\/kvm\/demo_bugs\.c:\d+:\d+: error: /);
	}, 60_000);
});

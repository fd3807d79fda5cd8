// `make C=2 CHECK="gpcscope kbuild" arch/x86/kvm/xen.o` on the Debian 6.12 tree,
// the way a kernel developer runs sparse: in a hard-linked copy of the cached tree
// (kbuild only adds files; the injected xen.c is a file of its own), with KVM and
// Xen enabled and a bug injected. The build must go on, and the checker's output
// must be exactly that file's finding, gcc style. The make output is kept in
// test-results/kbuild/ for the record.
import { installAsReadmeSays } from '../editors/readme';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers';
import { kernelTree } from './trees';

const I01 = {
	file: 'arch/x86/kvm/xen.c',
	original: '\trc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;\n\tread_unlock_irqrestore(&gpc->lock, flags);\n',
	replacement: '\tread_unlock_irqrestore(&gpc->lock, flags);\n\trc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;\n',
};
const TOOLS = ['make', 'gcc', 'flex', 'bison', 'bc', 'perl'];
const HEADERS = ['/usr/include/libelf.h', '/usr/include/openssl/ssl.h'];
const PACKAGES = ['make', 'gcc', 'flex', 'bison', 'bc', 'perl', 'libelf-dev', 'libssl-dev'];
const work = mkdtempSync(join(tmpdir(), 'gpcscope-kbuild-'));
const src = join(work, 'linux');
const OUT = join(REPO, 'test-results', 'kbuild');

/** The kernel's build dependencies (objtool needs libelf, certs/ needs OpenSSL); installed when missing and root. */
function ensureBuildTools(): void {
	const missing = () => [
		...TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0),
		...HEADERS.filter((h) => !existsSync(h)),
	];
	if (!missing().length) return;
	if (process.getuid?.() === 0) {
		execFileSync('apt-get', ['update'], { stdio: 'ignore' });
		execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...PACKAGES], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
	}
	if (missing().length) throw new Error(`the kbuild test needs ${missing().join(', ')}: apt-get install ${PACKAGES.join(' ')}`);
}

beforeAll(() => {
	ensureBuildTools();
	execFileSync('cp', ['-al', kernelTree('6.12'), src]);
	const xen = join(src, I01.file);
	const text = readFileSync(xen, 'utf8');
	expect(text.split(I01.original)).toHaveLength(2);
	unlinkSync(xen); // never write through the hard link into the cached tree
	writeFileSync(xen, text.replace(I01.original, I01.replacement));
	writeFileSync(join(work, 'marker'), '');
	installed = installAsReadmeSays();
}, 900_000);
afterAll(() => {
	rmSync(work, { recursive: true, force: true });
	if (installed) rmSync(installed, { recursive: true, force: true });
});

/** The README's install step, into a temporary prefix: make runs the `gpcscope` on PATH, as the README's command does. */
let installed = '';
const make = (...args: string[]) =>
	spawnSync('make', ['-C', src, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, PATH: `${join(installed, 'bin')}:${process.env.PATH}` } });

describe('make C=2 CHECK="gpcscope kbuild"', () => {
	it('checks arch/x86/kvm/xen.c like sparse: its finding on stderr, the build goes on', () => {
		const started = Date.now();
		for (const step of [['defconfig'], ['olddefconfig']]) {
			if (step[0] === 'olddefconfig') {
				execFileSync(join(src, 'scripts', 'config'), ['--file', join(src, '.config'), '-e', 'VIRTUALIZATION', '-e', 'KVM', '-e', 'KVM_INTEL', '-e', 'KVM_AMD', '-e', 'KVM_XEN']);
			}
			const r = make(...step);
			expect(r.status, r.stderr).toBe(0);
		}
		const check = `gpcscope kbuild --cache-dir ${join(work, 'cache')}`;
		const jobs = String(Math.max(1, Math.min(4, cpus().length)));
		const r = make(`-j${jobs}`, 'C=2', `CHECK=${check}`, 'arch/x86/kvm/xen.o');
		const ms = Date.now() - started;
		mkdirSync(OUT, { recursive: true });
		writeFileSync(join(OUT, 'xen.o.log'), `$ make -j${jobs} C=2 CHECK="gpcscope kbuild" arch/x86/kvm/xen.o   (${(ms / 1000).toFixed(0)} s with defconfig)\n${r.stdout}${r.stderr}`);
		// stderr alone is what the checker said (stdout is kbuild's CC/CHECK lines).
		writeFileSync(join(OUT, 'xen.o.stderr'), r.stderr);
		expect(r.status, r.stderr.slice(-3000)).toBe(0);
		expect(existsSync(join(src, 'arch/x86/kvm/xen.o'))).toBe(true);

		// kbuild ran the checker on every file it compiled; only xen.c has something to say.
		expect(r.stdout).toMatch(/^ {2}CHECK {3}arch\/x86\/kvm\/xen\.c$/m);
		const rc = readFileSync(join(src, I01.file), 'utf8').split('\n').findIndex((l) => l === I01.replacement.split('\n')[1]) + 1;
		expect(r.stderr.split('\n').filter((l) => /^\S+:\d+:\d+: /.test(l))).toEqual([
			`arch/x86/kvm/xen.c:${rc}:7: error: ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending read after v->arch.xen.vcpu_info_cache.lock was dropped: the mapping may already be invalid [gpc-use-after-unlock]`,
			`arch/x86/kvm/xen.c:${rc - 1}:2: note: lock dropped here`,
			expect.stringMatching(/^arch\/x86\/kvm\/xen\.c:\d+:10: note: validated by this check$/),
		]);
		expect(r.stderr).not.toMatch(/gpcscope kbuild: .*(internal error|no kernel tree)/);

		// Nothing the build wrote went through a hard link into the cached tree.
		const written = execFileSync('find', [src, '-type', 'f', '-links', '+1', '-newer', join(work, 'marker')], { encoding: 'utf8' });
		expect(written).toBe('');
	}, 1_800_000);
});

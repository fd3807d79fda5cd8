// Building arch/x86/kvm/ of a kernel tree the way issue 6 asks, and the
// warnings of that build in a form two trees can be compared by.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = join(__dirname, 'build-kvm.sh');
const TOOLS = ['make', 'gcc', 'flex', 'bison', 'bc', 'pahole', 'perl'];
const HEADERS = ['/usr/include/gelf.h', '/usr/include/openssl/ssl.h'];

/** Installs the build dependencies when they are missing (and we may). */
export function ensureBuildTools(): void {
	const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
	const headers = HEADERS.filter((h) => !existsSync(h));
	if (!missing.length && !headers.length) return;
	if (process.getuid?.() !== 0) throw new Error(`missing build tools ${[...missing, ...headers].join(', ')}; install flex bison bc libelf-dev libssl-dev dwarves`);
	const install = () => execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'make', 'gcc', 'flex', 'bison', 'bc', 'libelf-dev', 'libssl-dev', 'dwarves', 'perl'], { stdio: 'inherit' });
	try {
		install();
	} catch {
		execFileSync('apt-get', ['update'], { stdio: 'inherit' });
		install();
	}
}

/** "6.1.192" from the tree's Makefile. */
export function treeVersion(tree: string): string {
	const mk = readFileSync(join(tree, 'Makefile'), 'utf8');
	const v = (name: string) => new RegExp(`^${name}\\s*=\\s*(\\S*)`, 'm').exec(mk)?.[1] ?? '';
	return [v('VERSION'), v('PATCHLEVEL'), v('SUBLEVEL')].filter(Boolean).join('.');
}

export function compilerVersion(): string {
	return execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
}

export interface Build {
	ok: boolean;
	seconds: number;
	/** Normalised: path relative to the tree, no line or column. */
	warnings: string[];
	log: string;
}

/** defconfig + KVM (Intel, AMD, Xen), olddefconfig, `make -j$(nproc) arch/x86/kvm/` (or `target`), out of tree in `obj`. */
export function buildKvm(tree: string, obj: string, log: string, target?: string): Build {
	const started = Date.now();
	const r = spawnSync('sh', [SCRIPT, tree, obj, log, ...(target ? [target] : [])], { stdio: 'inherit' });
	const seconds = (Date.now() - started) / 1000;
	const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
	return { ok: r.status === 0, seconds, warnings: warningsOf(text, tree), log };
}

export function warningsOf(log: string, tree: string): string[] {
	const roots = [tree.replace(/\/$/, '') + '/', '../'];
	const out = new Set<string>();
	for (const line of log.split('\n')) {
		if (!/\b(warning|error):/.test(line)) continue;
		let l = line;
		for (const r of roots) while (l.includes(r)) l = l.replace(r, '');
		out.add(l.replace(/:\d+:\d+:/, ':').replace(/:\d+:/, ':').trim());
	}
	return [...out].sort();
}

export interface CachedBuild {
	version: string;
	compiler: string;
	seconds: number;
	warnings: string[];
}

/** The pristine tree's build warnings, built once per tree version and compiler and cached in `file`. */
export function pristineWarnings(tree: string, file: string, work: string): CachedBuild & { cached: boolean } {
	const version = treeVersion(tree);
	const compiler = compilerVersion();
	if (existsSync(file)) {
		const cached = JSON.parse(readFileSync(file, 'utf8')) as CachedBuild;
		if (cached.version === version && cached.compiler === compiler) return { ...cached, cached: true };
	}
	const build = buildKvm(tree, join(work, 'obj-pristine'), join(work, 'pristine.log'));
	if (!build.ok) throw new Error(`the pristine ${version} tree does not build; see ${build.log}`);
	const result: CachedBuild = { version, compiler, seconds: build.seconds, warnings: build.warnings };
	writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
	return { ...result, cached: false };
}

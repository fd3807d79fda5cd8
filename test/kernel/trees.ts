// Real kernel trees for the kernel tier: Debian's linux-source packages,
// downloaded with apt into a cache outside the repository (DESIGN.md §7).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type KernelVersion = '6.1' | '6.12';

export function kernelCacheDir(): string {
	return process.env.GPCSCOPE_KERNEL_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gpcscope', 'kernels');
}

/** The extracted tree of Debian's linux-source-<version>, downloading it on first use. */
export function kernelTree(version: KernelVersion): string {
	const cache = kernelCacheDir();
	const tree = join(cache, `linux-${version}`);
	if (existsSync(join(tree, 'virt', 'kvm', 'pfncache.c'))) return tree;
	mkdirSync(cache, { recursive: true });
	const work = join(cache, `.download-${version}-${process.pid}`);
	rmSync(work, { recursive: true, force: true });
	mkdirSync(work);
	try {
		execFileSync('apt-get', ['download', `linux-source-${version}`], { cwd: work, stdio: 'inherit' });
		const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
		if (!deb) throw new Error(`apt-get download linux-source-${version} produced no .deb`);
		execFileSync('dpkg', ['-x', deb, 'x'], { cwd: work, stdio: 'inherit' });
		const tarball = join(work, 'x', 'usr', 'src', `linux-source-${version}.tar.xz`);
		mkdirSync(join(work, 'tree'));
		execFileSync('tar', ['xJf', tarball, '-C', join(work, 'tree'), '--strip-components=1'], { stdio: 'inherit' });
		rmSync(tree, { recursive: true, force: true });
		renameSync(join(work, 'tree'), tree);
	} finally {
		rmSync(work, { recursive: true, force: true });
	}
	return tree;
}

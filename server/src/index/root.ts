// Where a kernel tree starts, for every front end: the language server (an
// editor may open arch/x86/kvm as its project, or a file with no folder at
// all), `check FILE` and kbuild. The root is the nearest ancestor with
// include/linux/kvm_host.h (the gpc API's header), else with MAINTAINERS; the
// tree-wide rules (callers, teardown, the usage census) need all of it.
// Also says what makes a root look clean when it is not: no kernel markers,
// or a .gitignore that hides every C file (Debian's linux-source ships one
// whose last line is `/*`, so a `git init` there ignores the whole tree).
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { hasSource } from './walk';

/** The kernel tree holding `path` (a file or a directory, itself included), or undefined. */
export function findKernelRoot(path: string): string | undefined {
	let start = resolve(path);
	try {
		if (!statSync(start).isDirectory()) start = dirname(start);
	} catch {
		start = dirname(start);
	}
	let fallback: string | undefined;
	for (let dir = start; ; dir = dirname(dir)) {
		if (existsSync(join(dir, 'include', 'linux', 'kvm_host.h'))) return dir;
		if (!fallback && existsSync(join(dir, 'MAINTAINERS'))) fallback = dir;
		if (dirname(dir) === dir) return fallback;
	}
}

/** True when `dir` has the markers of a kernel tree's top. */
export function isKernelRoot(dir: string): boolean {
	return existsSync(join(dir, 'include', 'linux', 'kvm_host.h')) || existsSync(join(dir, 'MAINTAINERS'));
}

export interface RootCheck {
	/** The folder to index: the kernel root above `path` when there is one, else `path`. */
	root: string;
	/** False when no kernel root was found: only the folder's own files are seen. */
	kernel: boolean;
	/** Index without .gitignore: it hides every C file of the root. */
	ignoreGitignore: boolean;
	/** Plain sentences for the user (editor message, stderr). */
	warnings: string[];
}

/**
 * The root to index for `path` (a folder an editor opened, or a file), with what the user
 * should be told. A .gitignore that hides every C file is ignored, and said so: an index of
 * nothing would report a clean tree.
 */
export function checkRoot(path: string, options: { include?: readonly string[]; exclude?: readonly string[]; stay?: boolean } = {}): RootCheck {
	const found = findKernelRoot(path);
	const given = resolve(path);
	const own = safeIsDirectory(given) ? given : dirname(given);
	// `stay`: the folder itself is indexed (`check DIR` checks what it is given).
	const root = (!options.stay && found) || own;
	const warnings: string[] = [];
	if (!found) {
		warnings.push(
			`${root} is not inside a kernel tree (no include/linux/kvm_host.h or MAINTAINERS in it or above it): ` +
				'only its own files are checked, so callers, teardown and the usage census elsewhere in the tree are not seen',
		);
	}
	const walk = { include: options.include, exclude: options.exclude };
	let ignoreGitignore = false;
	if (!hasSource(root, { ...walk }) && hasSource(root, { ...walk, gitignore: false })) {
		ignoreGitignore = true;
		warnings.push(
			`.gitignore hides every C file of ${root} (Debian's linux-source tree ships one ending in "/*"): ` +
				'indexing without .gitignore; use gpcscope.index.include/exclude to choose files',
		);
	}
	return { root, kernel: !!found, ignoreGitignore, warnings };
}


function safeIsDirectory(path: string): boolean {
	try {
		return statSync(path).isDirectory();
	} catch {
		return false;
	}
}

// `gpcscope kbuild`: a checker for kbuild's `make C=1|2 CHECK="gpcscope kbuild"`,
// used like sparse. kbuild runs `$(CHECK) $(CHECKFLAGS) $(c_flags) file.c` once per
// compiled file; the gpc rules are cross-file (instances, may-sleep summaries), so
// the whole tree is analysed once, as `gpcscope check` does it, and the result
// cached. Each call then prints only its own file's findings, gcc style, on
// stderr, and exits 0 so that the build goes on.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { API_ERAS, type ApiEra } from './analysis/api';
import { Engine } from './analysis/engine';
import type { Finding } from './analysis/findings';
import { defaultCacheDir, withTreeLock } from './index/cache';
import { checkTrees } from './index/check';
import { mentionsGpc } from './index/prefilter';
import { findKernelRoot } from './index/root';
import { formatText } from './report/text';

/** Compiler options whose next argument is not a source file. */
const TAKES_VALUE = new Set(['-o', '-include', '-imacros', '-I', '-isystem', '-idirafter', '-iquote', '-MF', '-MT', '-MQ', '-x', '-D', '-U', '--param', '-Xassembler', '-Xlinker']);

export interface KbuildArgs {
	files: string[];
	tree?: string;
	era?: ApiEra;
	/** Exit 1 when the file has errors or warnings (stops the build, unlike sparse). */
	werror: boolean;
	/** Say what the cache did, on stderr. */
	verbose: boolean;
	cacheDir?: string;
}

/** kbuild's arguments: compiler flags (ignored), the source file, and gpcscope's own `--gpcscope-*`/`--tree`. */
export function parseKbuildArgs(argv: readonly string[]): KbuildArgs {
	const out: KbuildArgs = { files: [], werror: false, verbose: false };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const value = (name: string) => (a === name ? argv[++i] : a.startsWith(`${name}=`) ? a.slice(name.length + 1) : undefined);
		let v: string | undefined;
		if ((v = value('--tree')) !== undefined) out.tree = v;
		else if ((v = value('--api-era')) !== undefined) {
			if (!(API_ERAS as readonly string[]).includes(v)) throw new Error(`--api-era: expected one of ${API_ERAS.join(', ')}`);
			out.era = v as ApiEra;
		} else if ((v = value('--cache-dir')) !== undefined) out.cacheDir = v;
		else if (a === '--werror') out.werror = true;
		else if (a === '--verbose') out.verbose = true;
		else if (TAKES_VALUE.has(a)) i++;
		else if (!a.startsWith('-') && /\.c$/.test(a)) out.files.push(a);
	}
	return out;
}

/** The kernel tree a file belongs to (index/root.ts: the same search as the server's and `check FILE`'s). */
export function findTree(file: string): string | undefined {
	return findKernelRoot(dirname(resolve(file)));
}

export interface TreeIndex {
	root: string;
	era: string;
	findings: Finding[];
	/** 'warm' (the cached result held), 'cold', or why the tree was analysed again. */
	cache: string;
	ms: number;
}

/**
 * The tree's findings: `gpcscope check`'s pipeline and cache (the result is reused while
 * no file it read changed). make -j runs several checkers at once: they take turns on a
 * lock next to the tree's cache, so the first analyses and the others reuse its result.
 */
export async function treeIndex(root: string, options: { era?: ApiEra; cacheDir?: string } = {}): Promise<TreeIndex> {
	const started = performance.now();
	const cacheDir = options.cacheDir ?? defaultCacheDir();
	return withTreeLock(cacheDir, root, async () => {
		const engine = await Engine.create();
		try {
			const { result, stats } = await checkTrees(engine, [root], { cacheDir, engine: { era: options.era } });
			const cache = stats.resultFromCache ? 'warm' : stats.cache === 'warm' ? 'stale (gpc files changed)' : stats.cache;
			return { root, era: result.era.era, findings: result.findings, cache, ms: performance.now() - started };
		} finally {
			engine.dispose();
		}
	});
}

export interface KbuildIo {
	stderr(s: string): void;
	cwd?: string;
}

/** Runs the checker on kbuild's argv; returns the exit code. */
export async function runKbuild(argv: readonly string[], io: KbuildIo): Promise<number> {
	const cwd = io.cwd ?? process.cwd();
	let args: KbuildArgs;
	try {
		args = parseKbuildArgs(argv);
	} catch (e) {
		io.stderr(`gpcscope kbuild: ${(e as Error).message}\n`);
		return 2;
	}
	if (!args.files.length) {
		io.stderr('gpcscope kbuild: no .c file in the arguments (kbuild runs `$(CHECK) $(CHECKFLAGS) $(c_flags) file.c`)\n');
		return 2;
	}
	let serious = false;
	for (const file of args.files) {
		const abs = resolve(cwd, file);
		let bytes: Buffer;
		try {
			bytes = readFileSync(abs);
		} catch (e) {
			io.stderr(`gpcscope kbuild: ${file}: ${(e as Error).message}\n`);
			continue;
		}
		// The common case: a file the prefilter rejects has no findings (thousands of them cost a read and a search).
		if (!mentionsGpc(bytes)) continue;
		const root = args.tree ? resolve(cwd, args.tree) : findTree(abs);
		if (!root) {
			io.stderr(`gpcscope kbuild: ${file}: no kernel tree above it (no include/linux/kvm_host.h); use --tree DIR\n`);
			continue;
		}
		try {
			const index = await treeIndex(root, { era: args.era, cacheDir: args.cacheDir });
			const rel = relative(root, abs).split(sep).join('/');
			const display = (f: string) => (f === rel ? file : relativeToCwd(cwd, join(root, f)));
			const mine = index.findings
				.filter((f) => f.file === rel)
				.map((f) => ({ ...f, file: display(f.file), related: f.related.map((r) => ({ ...r, file: display(r.file) })) }));
			io.stderr(formatText(mine));
			if (args.verbose) io.stderr(`gpcscope kbuild: ${file}: ${mine.length} finding${mine.length === 1 ? '' : 's'}; index of ${root}: ${index.cache}, era ${index.era}, ${(index.ms / 1000).toFixed(2)} s\n`);
			serious ||= mine.some((f) => f.severity === 'error' || f.severity === 'warning');
		} catch (e) {
			// A checker must never break the build it rides on.
			io.stderr(`gpcscope kbuild: ${file}: internal error, not checked: ${(e as Error).stack ?? e}\n`);
		}
	}
	return args.werror && serious ? 1 : 0;
}

function relativeToCwd(cwd: string, abs: string): string {
	const r = relative(cwd, abs);
	return r && !isAbsolute(r) ? r.split(sep).join('/') : abs;
}

// `gpcscope kbuild`: a checker for kbuild's `make C=1|2 CHECK="gpcscope kbuild"`,
// used like sparse. kbuild runs `$(CHECK) $(CHECKFLAGS) $(c_flags) file.c` once per
// compiled file; the gpc rules are cross-file (instances, may-sleep summaries), so
// the whole tree is analysed once and the result cached, keyed by the size, mtime
// and inode of every .c/.h of the tree. Each call then prints only its own file's
// findings, gcc style, on stderr, and exits 0 so that the build goes on.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { API_ERAS, type ApiEra } from './analysis/api';
import type { Finding } from './analysis/findings';
import { analyzeTree } from './review/analyze';
import { mentionsGpc } from './index/prefilter';
import { walkSources } from './index/walk';
import { formatText } from './report/text';
import { VERSION } from './version';

/** Compiler options whose next argument is not a source file. */
const TAKES_VALUE = new Set(['-o', '-include', '-imacros', '-I', '-isystem', '-idirafter', '-iquote', '-MF', '-MT', '-MQ', '-x', '-D', '-U', '--param', '-Xassembler', '-Xlinker']);
const FORMAT = 1;
/** A lock older than this is a crashed checker's. */
const STALE_LOCK_MS = 10 * 60 * 1000;

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

/** The kernel tree a file belongs to: the nearest ancestor with include/linux/kvm_host.h, else with MAINTAINERS. */
export function findTree(file: string): string | undefined {
	let fallback: string | undefined;
	for (let dir = dirname(resolve(file)); ; dir = dirname(dir)) {
		if (existsSync(join(dir, 'include', 'linux', 'kvm_host.h'))) return dir;
		if (!fallback && existsSync(join(dir, 'MAINTAINERS'))) fallback = dir;
		if (dirname(dir) === dir) return fallback;
	}
}

interface CacheBody {
	format: number;
	code: string;
	root: string;
	era: string;
	/** Every .c/.h: [size, mtimeMs, ino]. */
	files: Record<string, [number, number, number]>;
	/** What the engine read (gpc files and their neighbours). */
	sources: string[];
	findings: Finding[];
	ms: number;
}

type Signatures = Record<string, [number, number, number]>;

/** Size, mtime and inode of every .c/.h, found by the index's own walker (no gitignore: kbuild sees every file). */
function signatures(root: string): Signatures {
	const out: Signatures = {};
	for (const batch of walkSources(root, { gitignore: false }, () => undefined)) {
		for (const { rel, abs } of batch) {
			try {
				const st = statSync(abs);
				out[rel] = [st.size, st.mtimeMs, st.ino];
			} catch {
				// vanished while walking: as if never there
			}
		}
	}
	return out;
}

/** The running code (bundle) and options: a cache from other code is never trusted. */
function codeKey(era: ApiEra | undefined): string {
	const h = createHash('sha1').update(VERSION).update(String(era));
	if (__filename.endsWith('.js')) h.update(readFileSync(__filename));
	return h.digest('hex').slice(0, 16);
}

export function defaultKbuildCacheDir(): string {
	return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'gpcscope', 'kbuild');
}

/**
 * Whether a cache computed for `cached` still holds for the tree now: every changed,
 * new or deleted file must be one the analysis did not read and would not read now
 * (no gpc identifier, not a .c next to a gpc file).
 */
function stillValid(body: CacheBody, now: Signatures, root: string): boolean {
	const read = new Set(body.sources);
	const gpcDirs = new Set(body.sources.map((s) => posix.dirname(s)));
	const changed: string[] = [];
	for (const [rel, sig] of Object.entries(now)) {
		const old = body.files[rel];
		if (!old || old[0] !== sig[0] || old[1] !== sig[1] || old[2] !== sig[2]) changed.push(rel);
	}
	for (const rel of Object.keys(body.files)) if (!now[rel]) changed.push(rel);
	for (const rel of changed) {
		if (read.has(rel)) return false;
		if (rel.endsWith('.c') && gpcDirs.has(posix.dirname(rel))) return false;
		if (now[rel]) {
			try {
				if (mentionsGpc(readFileSync(join(root, rel)))) return false;
			} catch {
				return false;
			}
		}
	}
	return true;
}

function load(path: string): CacheBody | undefined {
	try {
		const body = JSON.parse(readFileSync(path, 'utf8')) as CacheBody;
		return body && body.format === FORMAT ? body : undefined;
	} catch {
		return undefined;
	}
}

function save(path: string, body: CacheBody): void {
	const tmp = `${path}.${process.pid}.tmp`;
	writeFileSync(tmp, JSON.stringify(body));
	renameSync(tmp, path);
}

/** Holds `lock` (make -j runs several checkers at once: one analyses, the others wait for it). */
async function withLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
	for (;;) {
		try {
			closeSync(openSync(lock, 'wx'));
			break;
		} catch {
			try {
				if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { force: true });
			} catch {
				// released meanwhile
			}
			await new Promise((r) => setTimeout(r, 200));
		}
	}
	try {
		return await fn();
	} finally {
		rmSync(lock, { force: true });
	}
}

export interface TreeIndex {
	root: string;
	era: string;
	findings: Finding[];
	/** 'warm', 'cold' or why the cache was recomputed. */
	cache: string;
	ms: number;
}

/** The tree's findings, from the cache when it still holds, else analysed (and cached). */
export async function treeIndex(root: string, options: { era?: ApiEra; cacheDir?: string } = {}): Promise<TreeIndex> {
	const started = performance.now();
	const dir = options.cacheDir ?? defaultKbuildCacheDir();
	mkdirSync(dir, { recursive: true });
	const code = codeKey(options.era);
	const path = join(dir, `${createHash('sha1').update(root).update('\0').update(String(options.era)).digest('hex').slice(0, 16)}.json`);
	const fresh = (why: string): Promise<TreeIndex> =>
		withLock(`${path}.lock`, async () => {
			// Another checker may have done it while this one waited.
			const again = load(path);
			const sigs = signatures(root);
			if (again && again.code === code && again.root === root && stillValid(again, sigs, root)) {
				return { root, era: again.era, findings: again.findings, cache: 'warm (computed by a concurrent checker)', ms: performance.now() - started };
			}
			const a = await analyzeTree(root, { era: options.era });
			const body: CacheBody = {
				format: FORMAT, code, root, era: a.result.era.era, files: sigs,
				sources: a.sources.map((s) => s.file), findings: a.result.findings, ms: Math.round(a.ms),
			};
			save(path, body);
			return { root, era: body.era, findings: body.findings, cache: why, ms: performance.now() - started };
		});
	const body = load(path);
	if (!body) return fresh('cold');
	if (body.code !== code || body.root !== root) return fresh('stale (other gpcscope build)');
	const sigs = signatures(root);
	if (!stillValid(body, sigs, root)) return fresh('stale (gpc files changed)');
	if (Object.keys(sigs).length !== Object.keys(body.files).length || Object.entries(sigs).some(([k, v]) => body.files[k]?.[1] !== v[1])) {
		// Unrelated files changed: remember their new signatures so the next check is quick.
		try {
			save(path, { ...body, files: sigs });
		} catch {
			// read-only cache: harmless
		}
	}
	return { root, era: body.era, findings: body.findings, cache: 'warm', ms: performance.now() - started };
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

// `npm run bench`: gpcscope on whole kernel trees (6.12, then 6.1) next to
// ripgrep (the I/O floor) and Coccinelle, in one run on one machine:
//   CLI cold (no cache), cold writing the cache, warm, warm with pass 2 re-run;
//   peak RSS; the language server's index time, edit→diagnostics latency
//   over 200 one-line edits and hover latency during edits (bench/lsp.ts); native tree-sitter against
//   web-tree-sitter on the parsed set (bench/parsers.ts); lines under a parse error
//   with and without the kernel normalisation (bench/errors.ts).
// Downloads the Debian trees if missing (test/kernel/trees.ts). Prints a
// markdown table and writes the raw numbers as JSON.
//   GPCSCOPE_BENCH_RUNS=5 GPCSCOPE_BENCH_EDITS=200 npm run bench [-- 6.12]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { kernelCacheDir, kernelTree, type KernelVersion } from '../test/kernel/trees';

const REPO = join(__dirname, '..');
const CLI = join(REPO, 'dist', 'cli.js');
const RUNS = Number(process.env.GPCSCOPE_BENCH_RUNS ?? 3);
const EDITS = Number(process.env.GPCSCOPE_BENCH_EDITS ?? 200);
const CORES = availableParallelism();
const VERSIONS = (process.argv.slice(2).filter((a) => /^6\.\d+$/.test(a)) as KernelVersion[]).length
	? (process.argv.slice(2) as KernelVersion[])
	: (['6.12', '6.1'] as KernelVersion[]);
/** The gpc API words, as ripgrep searches them (the same identifiers as gpcscope's prefilter). */
const RG_PATTERNS = ['gfn_to_pfn_cache', 'kvm_gpc_[a-z_]+', 'kvm_gfn_to_pfn_cache_[a-z_]+', 'khva', 'pfn_cache_usage', 'KVM_(GUEST|HOST)_USES_PFN'];
const NATIVE = { 'tree-sitter': '0.25.0', 'tree-sitter-c': '0.24.1' };

interface Run {
	wall: number;
	user: number;
	sys: number;
	rssMB: number;
	stdout: string;
}

function has(cmd: string): boolean {
	return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** One timed run under /usr/bin/time (peak RSS covers every thread of the process). */
function timed(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
	const r = spawnSync('/usr/bin/time', ['-f', '@@time %e %U %S %M', cmd, ...args], {
		cwd: options.cwd, env: { ...process.env, ...options.env }, encoding: 'utf8', maxBuffer: 256 << 20,
	});
	const m = /@@time (\S+) (\S+) (\S+) (\S+)/.exec(r.stderr);
	if (!m) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.slice(-2000)}`);
	return { wall: +m[1], user: +m[2], sys: +m[3], rssMB: Math.round(+m[4] / 1024), stdout: r.stdout };
}

/** The median run by wall time of `n` runs (`before` runs first, untimed, each time). */
function median(n: number, run: () => Run, before?: () => void): Run & { runs: number[] } {
	const runs: Run[] = [];
	for (let i = 0; i < n; i++) {
		before?.();
		runs.push(run());
	}
	const sorted = [...runs].sort((a, b) => a.wall - b.wall);
	return { ...sorted[Math.floor((sorted.length - 1) / 2)], runs: runs.map((r) => r.wall) };
}

function gpcscope(tree: string, home: string | undefined, extra: string[] = []): Run {
	const args = ['check', tree, '--format', 'json', '--jobs', String(CORES), ...extra];
	if (!home) args.push('--no-cache');
	// Run as the installed `gpcscope` runs: through its #! line, with its Node flags.
	return timed(CLI, args, { env: home ? { XDG_CACHE_HOME: home } : {} });
}

function nativeModules(): string {
	const dir = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache'), 'gpcscope', 'bench-native');
	if (!existsSync(join(dir, 'node_modules', 'tree-sitter', 'package.json'))) {
		mkdirSync(dir, { recursive: true });
		writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'gpcscope-bench-native', private: true }));
		// Only for this comparison: the native binding is no dependency of gpcscope.
		const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--legacy-peer-deps', ...Object.entries(NATIVE).map(([k, v]) => `${k}@${v}`)], { cwd: dir, encoding: 'utf8' });
		if (r.status !== 0) process.stderr.write(`bench: could not install the native binding: ${r.stderr.slice(-500)}\n`);
	}
	return join(dir, 'node_modules');
}

/** The Node flags the language server runs with: `gpcscope lsp` (cli.ts's #! line) and the VS Code client's execArgv. */
const SERVER_FLAGS = ['--max-semi-space-size=4'];

function child(script: string, args: string[]): unknown {
	const r = spawnSync(process.execPath, [...SERVER_FLAGS, '--expose-gc', '--import', 'tsx', join(REPO, 'bench', script), ...args], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 });
	if (r.status !== 0) throw new Error(`bench/${script} failed: ${r.stderr.slice(-3000)}`);
	return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const s = (x: number) => `${x.toFixed(2)} s`;

function benchTree(version: KernelVersion): Record<string, unknown> {
	const tree = kernelTree(version);
	process.stderr.write(`bench: linux-${version} at ${tree}\n`);
	const rgArgs = ['-l', '-j', String(CORES), '-g', '*.[ch]', '-w', ...RG_PATTERNS.flatMap((p) => ['-e', p]), '.'];
	const out: Record<string, unknown> = { version, tree, loadBefore: loadavg().map((l) => +l.toFixed(2)) };

	// Every tool reads the tree from the page cache: one untimed pass first.
	if (has('rg')) timed('rg', rgArgs, { cwd: tree });
	else execFileSync('sh', ['-c', `find . -name '*.[ch]' -print0 | xargs -0 cat > /dev/null`], { cwd: tree });

	const cold = median(RUNS, () => gpcscope(tree, undefined));
	const report = JSON.parse(cold.stdout);
	out.report = { apiEra: report.apiEra, findings: report.diagnostics.length, stats: report.stats };
	out.cold = cold;
	const homes: string[] = [];
	out.coldWritingCache = median(RUNS, () => gpcscope(tree, homes[homes.length - 1]), () => homes.push(mkdtempSync(join(tmpdir(), 'gpcscope-bench-'))));
	const home = homes[homes.length - 1];
	out.warm = median(RUNS, () => gpcscope(tree, home));
	// An explicit era changes the result's key, not the facts: pass 2 runs on cached facts.
	// Each run starts from the warm cache as it is now (else runs 2 and 3 reuse run 1's result).
	const snapshot = `${home}.snapshot`;
	cpSync(home, snapshot, { recursive: true });
	out.warmPass2 = median(RUNS, () => gpcscope(tree, home, ['--api-era', report.apiEra]), () => {
		rmSync(home, { recursive: true, force: true });
		cpSync(snapshot, home, { recursive: true });
	});
	rmSync(snapshot, { recursive: true, force: true });
	for (const h of homes) rmSync(h, { recursive: true, force: true });

	if (has('rg')) {
		const rg = median(RUNS, () => timed('rg', rgArgs, { cwd: tree }));
		out.rg = { ...rg, files: rg.stdout.split('\n').filter(Boolean).length, stdout: undefined };
	}
	if (has('spatch')) {
		const spatch = median(Math.min(RUNS, 2), () => timed('spatch', ['--sp-file', join(REPO, 'bench', 'gpc-check.cocci'), '--dir', '.', '--jobs', String(CORES), '--very-quiet', '--no-includes'], { cwd: tree }));
		out.spatch = { ...spatch, matches: spatch.stdout.split('\n').filter((l) => /^-.*_check\s*\(/.test(l)).length, stdout: undefined };
	}
	out.parsers = child('parsers.ts', [tree, nativeModules()]);
	// Lines under a parse error in the files with the most gpc call sites, with and without the normalisation.
	out.errors = child('errors.ts', [tree, '10', '--json']);
	out.errorsRaw = child('errors.ts', [tree, '10', '--raw', '--json']);
	const lspCache = mkdtempSync(join(tmpdir(), 'gpcscope-bench-lsp-'));
	out.lsp = child('lsp.ts', [tree, String(EDITS), lspCache]);
	out.lspWarm = child('lsp.ts', [tree, '0', lspCache]);
	rmSync(lspCache, { recursive: true, force: true });
	out.loadAfter = loadavg().map((l) => +l.toFixed(2));
	for (const k of ['cold', 'coldWritingCache', 'warm', 'warmPass2']) (out[k] as Partial<Run>).stdout = undefined;
	return out;
}

function table(results: Record<string, any>[]): string {
	const rows: string[][] = [];
	const row = (what: string, target: string, ...cells: string[]) => rows.push([what, ...cells, target]);
	const col = (f: (r: Record<string, any>) => string) => results.map(f);
	row('gpcscope cold, no cache (wall; user+sys CPU)', '≤ 3 s', ...col((r) => `${s(r.cold.wall)}; ${s(r.cold.user + r.cold.sys)}`));
	row('gpcscope cold, writing the cache', '', ...col((r) => s(r.coldWritingCache.wall)));
	row('gpcscope warm (result reused)', '≤ 1 s', ...col((r) => s(r.warm.wall)));
	row('gpcscope warm, pass 2 re-run on cached facts', '', ...col((r) => s(r.warmPass2.wall)));
	row('ripgrep `rg -l` (files found)', '', ...col((r) => (r.rg ? `${s(r.rg.wall)} (${r.rg.files})` : 'not installed')));
	row('Coccinelle `spatch` (matches)', '', ...col((r) => (r.spatch ? `${s(r.spatch.wall)} (${r.spatch.matches})` : 'not installed')));
	row('cold ÷ spatch', '≤ 0.6', ...col((r) => (r.spatch ? (r.cold.wall / r.spatch.wall).toFixed(2) : '–')));
	row('cold ÷ ripgrep', '≤ 8', ...col((r) => (r.rg ? (r.cold.wall / r.rg.wall).toFixed(1) : '–')));
	// As a new user meets it: the first run in a fresh cache directory, then the next run.
	row('first run, writing the cache ÷ spatch', '≤ 0.6', ...col((r) => (r.spatch ? (r.coldWritingCache.wall / r.spatch.wall).toFixed(2) : '–')));
	row('warm ÷ ripgrep', '≤ 1', ...col((r) => (r.rg ? (r.warm.wall / r.rg.wall).toFixed(2) : '–')));
	row('peak RSS, cold check (all threads)', '≤ 300 MB', ...col((r) => `${r.cold.rssMB} MB`));
	row('peak RSS, first run writing the cache / warm', '≤ 300 MB', ...col((r) => `${r.coldWritingCache.rssMB} / ${r.warm.rssMB} MB`));
	row('language server: index cold / warm', '', ...col((r) => `${s(r.lsp.indexMs / 1000)} / ${s(r.lspWarm.indexMs / 1000)}`));
	row(`edit → diagnostics p50 / p95 (${results[0]?.lsp.edits} edits, xen.c + x86.c)`, 'p50 ≤ 20, p95 ≤ 50 ms', ...col((r) => `${Math.round(r.lsp.p50)} / ${Math.round(r.lsp.p95)} ms`));
	row('  xen.c p50 / p95', 'p50 ≤ 20, p95 ≤ 50 ms', ...col((r) => `${Math.round(r.lsp.byFile['arch/x86/kvm/xen.c'].p50)} / ${Math.round(r.lsp.byFile['arch/x86/kvm/xen.c'].p95)} ms`));
	row('  x86.c p50 / p95', 'p50 ≤ 20, p95 ≤ 50 ms', ...col((r) => `${Math.round(r.lsp.byFile['arch/x86/kvm/x86.c'].p50)} / ${Math.round(r.lsp.byFile['arch/x86/kvm/x86.c'].p95)} ms`));
	row('  edits answered within 50 ms', '', ...col((r) => `${r.lsp.under50}/${r.lsp.edits}`));
	row(`hover p50 / p95 during edits (${results[0]?.lsp.hover?.requests ?? 0} hovers, 0–30 ms after a didChange)`, 'p95 ≤ 30 ms', ...col((r) => (r.lsp.hover ? `${Math.round(r.lsp.hover.p50)} / ${Math.round(r.lsp.hover.p95)} ms` : '–')));
	row('language server peak RSS; RSS before → after edits', '≤ 300 MB; no growth', ...col((r) => `${r.lsp.peakRssMB} MB; ${r.lsp.rssBeforeEditsMB} → ${r.lsp.rssAfterEditsMB} MB`));
	row('diagnostics after the edits = before', '', ...col((r) => (r.lsp.consistent ? 'yes' : '**no**')));
	row('parse + facts of the parsed set: web-tree-sitter', '', ...col((r) => `${r.parsers.wasm.parseMs} + ${r.parsers.wasm.factsMs} ms CPU (${r.parsers.files} files)`));
	row('  native `tree-sitter` binding', '≥ 1.3× faster cold to adopt', ...col((r) => (r.parsers.native ? `${r.parsers.native.parseMs} + ${r.parsers.native.factsMs} ms CPU${r.parsers.sameFacts ? '' : ' (facts differ!)'}` : `unavailable: ${r.parsers.nativeError}`)));
	row('  cold check with native (projected)', '', ...col((r) => {
		if (!r.parsers.native) return '–';
		const saved = (r.parsers.wasm.parseMs + r.parsers.wasm.factsMs - r.parsers.native.parseMs - r.parsers.native.factsMs) / 1000;
		const cpu = r.cold.user + r.cold.sys;
		return `${(cpu / (cpu - saved)).toFixed(2)}× (CPU)`;
	}));
	const share = (r: Record<string, any>, key: 'errors' | 'errorsRaw', file: string) => {
		const m = (r[key] as { file: string; lines: number; errorLines: number }[]).find((x) => x.file === file);
		return m ? `${((100 * m.errorLines) / m.lines).toFixed(1)}%` : '–';
	};
	for (const file of ['arch/x86/kvm/x86.c', 'arch/x86/kvm/xen.c']) {
		row(`lines under a parse error, ${file.split('/').pop()}: tree-sitter alone → normalised`, '≤ 5 %', ...col((r) => `${share(r, 'errorsRaw', file)} → ${share(r, 'errors', file)}`));
	}
	row('  the 10 files with the most gpc call sites', '', ...col((r) => {
		const total = (key: string) => {
			const ms = r[key] as { lines: number; errorLines: number }[];
			return `${((100 * ms.reduce((n, m) => n + m.errorLines, 0)) / ms.reduce((n, m) => n + m.lines, 0)).toFixed(1)}%`;
		};
		return `${total('errorsRaw')} → ${total('errors')}`;
	}));
	row('load average before → after', '', ...col((r) => `${r.loadBefore[0]} → ${r.loadAfter[0]}`));
	const header = ['', ...results.map((r) => `linux-${r.version}`), 'target'];
	return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function machine(): Record<string, unknown> {
	const os = (() => {
		try {
			return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
		} catch {
			return undefined;
		}
	})();
	const version = (cmd: string, args: string[]) => {
		const r = spawnSync(cmd, args, { encoding: 'utf8' });
		return r.status === 0 ? r.stdout.split('\n')[0].trim() : 'not installed';
	};
	return {
		date: new Date().toISOString(),
		cpu: cpus()[0]?.model,
		cores: CORES,
		memoryGB: Math.round(totalmem() / 2 ** 30),
		os,
		node: process.version,
		ripgrep: version('rg', ['--version']),
		spatch: version('spatch', ['--version']),
		kernels: kernelCacheDir(),
		runs: RUNS,
	};
}

function main(): void {
	if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: npm run build');
	const info = machine();
	process.stderr.write(`bench: ${JSON.stringify(info)}\n`);
	const results = VERSIONS.map(benchTree);
	const out = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache'), 'gpcscope', 'bench', `${info.date}.json`.replace(/:/g, '-'));
	mkdirSync(join(out, '..'), { recursive: true });
	writeFileSync(out, JSON.stringify({ machine: info, results }, null, 1));
	process.stdout.write(`\n${table(results)}\n\nmachine: ${JSON.stringify(info)}\nraw numbers: ${out}\n`);
}

main();

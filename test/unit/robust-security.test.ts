// Security: no dynamic code in our sources, programs run only by fixed name, nothing a
// workspace configures can run a program, the CLI and the server never read through a
// symlink out of the tree they were given (checked with strace where available), SARIF
// and JSON paths are relative, and the simulator webview has a strict, nonce-based CSP.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { URI } from 'vscode-uri';
import { describe, expect, it } from 'vitest';
import { DEMO, REPO } from '../helpers';
import { RawServer } from '../reliability/raw-lsp';

const CLI = join(REPO, 'dist', 'cli.js');
const SOURCE_DIRS = ['server/src', 'client/src', 'client/webview'].map((d) => join(REPO, d));

function sources(dir: string): string[] {
	if (!existsSync(dir)) return [];
	return readdirSync(dir).flatMap((n) => {
		const p = join(dir, n);
		return statSync(p).isDirectory() ? sources(p) : /\.(ts|js|mjs|html)$/.test(n) ? [p] : [];
	});
}

/** Source text without comments and string contents, so that prose cannot trip the checks. */
function code(text: string): string {
	return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1').replace(/<!--[\s\S]*?-->/g, '');
}

// Present and allowed to trace (a container without ptrace has strace that cannot).
const STRACE = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', process.execPath, '-e', '0'], { encoding: 'utf8' }).status === 0;

/** A tree whose symlinks point at a gpc-buggy file and directory outside it. */
function symlinkTree() {
	const base = mkdtempSync(join(tmpdir(), 'gpcscope-symlinks-'));
	const root = join(base, 'root');
	const outside = join(base, 'outside');
	mkdirSync(join(root, 'arch', 'x86', 'kvm'), { recursive: true });
	mkdirSync(join(outside, 'dir'), { recursive: true });
	const bugs = readFileSync(join(DEMO, 'arch/x86/kvm/demo_bugs.c'), 'utf8');
	writeFileSync(join(outside, 'secret.c'), bugs);
	writeFileSync(join(outside, 'dir', 'inner.c'), bugs);
	writeFileSync(join(outside, 'secret.h'), 'struct gfn_to_pfn_cache { int x; };\n');
	writeFileSync(join(root, 'arch', 'x86', 'kvm', 'plain.c'), 'static int plain(void)\n{\n\treturn 0;\n}\n');
	symlinkSync(join(outside, 'secret.c'), join(root, 'arch', 'x86', 'kvm', 'xen.c'));
	symlinkSync(join(outside, 'dir'), join(root, 'virt'));
	symlinkSync('../../../../outside/secret.h', join(root, 'arch', 'x86', 'kvm', 'rel.h'));
	symlinkSync('.', join(root, 'loop'));
	symlinkSync(join(base, 'nowhere.c'), join(root, 'dangling.c'));
	return { base, root, outside };
}

/** Paths in syscalls of a traced run that leave `root` or open a symlink inside it (following it). */
function escapes(trace: string, root: string, outside: string): string[] {
	const links = new Set<string>();
	const walk = (d: string) => {
		for (const e of readdirSync(d, { withFileTypes: true })) {
			const p = join(d, e.name);
			if (e.isSymbolicLink()) links.add(p);
			else if (e.isDirectory()) walk(p);
		}
	};
	walk(root);
	return trace.split('\n').filter((line) => {
		if (line.includes(outside)) return true;
		const m = /^\d+\s+(\w+)\((?:AT_FDCWD|\d+), "([^"]+)"(.*)$/.exec(line);
		if (!m) return false;
		const [, call, path, rest] = m;
		const follows = call === 'openat' || call === 'open' || ((call === 'statx' || call === 'newfstatat') && !/SYMLINK_NOFOLLOW/.test(rest));
		return follows && links.has(path);
	});
}

function traced(args: string[], cwd: string): { status: number | null; stdout: string; trace: string } {
	const traceFile = join(mkdtempSync(join(tmpdir(), 'gpcscope-trace-')), 'trace');
	const r = STRACE
		? spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat,open,stat,lstat,newfstatat,statx,readlink,execve', '-o', traceFile, process.execPath, CLI, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 })
		: spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
	return { status: r.status, stdout: r.stdout, trace: STRACE ? readFileSync(traceFile, 'utf8') : '' };
}

describe('security', () => {
	it('has no eval, new Function or string timers in server/src, client/src, client/webview', () => {
		const files = SOURCE_DIRS.flatMap(sources);
		expect(files.length).toBeGreaterThan(20);
		const bad: string[] = [];
		for (const f of files) {
			const c = code(readFileSync(f, 'utf8'));
			for (const [what, re] of [
				['eval', /(?<![\w.$])eval\s*\(/], ['new Function', /\bnew\s+Function\b/], ['Function()', /(?<![\w.$])Function\s*\(/],
				['vm.run*', /\bvm\.run|runInNewContext|runInThisContext|compileFunction/], ['string timer', /\bset(Timeout|Interval|Immediate)\s*\(\s*['"`]/],
				['document.write', /document\.write/],
			] as const) {
				if (re.test(c)) bad.push(`${relative(REPO, f)}: ${what}`);
			}
		}
		console.log(`robust-security: ${files.length} source files checked for dynamic code`);
		expect(bad).toEqual([]);
	});

	it('runs other programs only by fixed name, never one a setting or the workspace names', () => {
		const calls: string[] = [];
		for (const f of SOURCE_DIRS.flatMap(sources)) {
			const c = code(readFileSync(f, 'utf8'));
			if (!/child_process/.test(c)) continue;
			for (const m of c.matchAll(/(?<![\w.$])(spawnSync|spawn|execFileSync|execFile|execSync|exec|fork)\s*\(\s*([^,)]*)/g)) {
				calls.push(`${relative(REPO, f)}: ${m[1]}(${m[2].trim()})`);
			}
		}
		// review/tree.ts run(cmd, ...) is a helper for tests and tools; nothing in the server or CLI calls it.
		const allowed = /: (spawnSync|spawn|execFileSync)\('(git|cp|rm|grep)'\)$|: (spawnSync|spawn)\(process\.execPath\)$|review\/tree\.ts: execFileSync\(cmd\)$/;
		expect(calls.filter((c) => !allowed.test(c))).toEqual([]);
		// No setting holds a command, a path to an executable or arguments.
		const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
		const settings = Object.keys(pkg.contributes.configuration.properties);
		expect(settings.filter((s) => /path|command|exec|server\.(args|path)|program|shell/i.test(s))).toEqual([]);
		// Not declared for untrusted workspaces: VS Code keeps the extension off in Restricted Mode.
		const untrusted = pkg.capabilities?.untrustedWorkspaces;
		expect(untrusted === undefined || untrusted.supported === false || untrusted.supported === 'limited').toBe(true);
	});

	it('the CLI never follows a symlink out of the tree it was given (strace-checked)', () => {
		const { base, root, outside } = symlinkTree();
		for (const extra of [['--format', 'json'], ['--all-files', '--format', 'json'], ['--format', 'sarif'], ['--all-files', '--jobs', '1', '--format', 'text']]) {
			const r = traced(['check', root, '--no-cache', ...extra], base);
			expect(r.status, `check ${extra.join(' ')}`).toBe(0);
			expect(r.stdout).not.toContain('secret');
			expect(r.stdout).not.toContain('inner');
			if (STRACE) expect(escapes(r.trace, root, outside), `check ${extra.join(' ')}`).toEqual([]);
		}
		console.log(`robust-security: symlink escape checked ${STRACE ? 'with strace' : 'from the output only (no strace)'}`);
	}, 120_000);

	it('the language server never follows a symlink out of its workspace folder', async () => {
		const { root, outside } = symlinkTree();
		const traceFile = join(mkdtempSync(join(tmpdir(), 'gpcscope-trace-')), 'trace');
		const server = STRACE
			? RawServerTraced(traceFile)
			: RawServer.spawn(CLI);
		try {
			await server.initialize(URI.file(root).toString());
			// Indexing done: the folder's status is ready (or a request answered after it).
			await server.waitFor((m) => m.method === 'gpcscope/status' && (m.params as { state: string }).state === 'ready', 60_000, 'ready status');
			const published = server.messages.filter((m) => m.method === 'textDocument/publishDiagnostics').map((m) => (m.params as { uri: string }).uri);
			expect(published.filter((u) => /secret|inner|outside/.test(u))).toEqual([]);
		} finally {
			await server.shutdown();
		}
		if (STRACE) expect(escapes(readFileSync(traceFile, 'utf8'), root, outside)).toEqual([]);
	}, 120_000);

	it('SARIF and JSON reports carry relative paths (one tree, several path arguments, odd names)', () => {
		const base = mkdtempSync(join(tmpdir(), 'gpcscope-sarif-'));
		const tree = join(base, 'linux tree é');
		cpSync(DEMO, tree, { recursive: true });
		cpSync(join(DEMO, 'arch/x86/kvm/demo_bugs.c'), join(tree, 'arch/x86/kvm/bugs with space #1.c'));
		const uris: string[] = [];
		for (const [cwd, args] of [[base, [tree]], [tree, ['.']], [tree, ['arch', 'include', 'virt']], [base, ['linux tree é/arch/x86/kvm/demo_bugs.c']]] as const) {
			const sarif = spawnSync(process.execPath, [CLI, 'check', ...args, '--no-cache', '--format', 'sarif'], { cwd, encoding: 'utf8' });
			const log = JSON.parse(sarif.stdout);
			for (const res of log.runs[0].results) {
				for (const loc of [...res.locations, ...(res.relatedLocations ?? [])]) uris.push(loc.physicalLocation.artifactLocation.uri);
			}
			const json = JSON.parse(spawnSync(process.execPath, [CLI, 'check', ...args, '--no-cache', '--format', 'json'], { cwd, encoding: 'utf8' }).stdout);
			for (const d of json.diagnostics) uris.push(d.file, ...d.related.map((r: { file: string }) => r.file));
		}
		expect(uris.length).toBeGreaterThan(10);
		expect(uris.filter((u) => /^\/|^[a-z]+:|(^|\/)\.\.(\/|$)|\\/i.test(u))).toEqual([]);
	}, 120_000);

	it('the simulator webview (if present) has a strict nonce CSP and no remote resources', () => {
		const dir = join(REPO, 'client', 'webview');
		if (!existsSync(join(dir, 'simulator.html'))) return;
		const html = readFileSync(join(dir, 'simulator.html'), 'utf8');
		const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
		expect(csp).toMatch(/default-src 'none'/);
		expect(csp).toMatch(/script-src 'nonce-\{\{nonce\}\}'/);
		expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
		for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/nonce="\{\{nonce\}\}"/);
		for (const f of readdirSync(dir)) expect(code(readFileSync(join(dir, f), 'utf8')), f).not.toMatch(/\b(src|href)\s*=\s*["']?https?:|url\(\s*["']?https?:|import\s+.*https?:|fetch\s*\(/);
		const panel = join(REPO, 'client', 'src', 'simulator-panel.ts');
		if (existsSync(panel)) {
			const p = readFileSync(panel, 'utf8');
			expect(p).toMatch(/localResourceRoots/);
			expect(p).toMatch(/randomBytes\(\s*1[6-9]|randomBytes\(\s*[2-9]\d/);
		}
	});
});

/** The stdio server under strace -f (same client, traced process). */
function RawServerTraced(traceFile: string): RawServer {
	const child = spawn('strace', ['-f', '-qq', '-e', 'trace=openat,open,stat,lstat,newfstatat,statx,readlink,execve', '-o', traceFile, process.execPath, CLI, 'lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
	return RawServer.wrap(child);
}

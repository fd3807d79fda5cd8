// Reliability, named edge cases (the fuzzer covers them at random; these pin each one):
// a 5 MB single-line file, 5,000 nested blocks, NUL bytes, CRLF, non-UTF-8 and binary files,
// unbalanced #if and deleted braces — through the engine, the CLI and the language server.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URI } from 'vscode-uri';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO, REPO } from '../helpers';
import { fuzzEngines } from '../reliability/fuzz';
import { documentLines, rangeProblem, rangeProblems, violations } from '../reliability/harness';
import { RawServer } from '../reliability/raw-lsp';

const CLI = join(REPO, 'dist', 'cli.js');
const BUGS = readFileSync(join(DEMO, 'arch/x86/kvm/demo_bugs.c'), 'utf8');
const HEADERS = ['include/linux/kvm_host.h', 'include/linux/kvm_types.h'].map((f) => ({ f, text: readFileSync(join(DEMO, f), 'utf8') }));
/** 5 MB on one line: a generated table, as in drivers/gpu/drm/amd/include/asic_reg. */
const TABLE = 'static const unsigned int table[] = {' + Array.from({ length: 700_000 }, (_, i) => `0x${i.toString(16)}`).join(', ') + '};';
/** 5 MB of gpc code on one line (comments and #directives removed so that it stays C). */
const GPC_LINE = (() => {
	const one = BUGS.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/.*$/gm, '').split('\n').filter((l) => !l.startsWith('#')).join(' ');
	let out = '';
	for (let i = 0; out.length < 5_000_000; i++) out += one.replace(/\bdemo_(\w+)\(/g, `demo_$1_${i}(`);
	return out;
})();

let server: RawServer | undefined;
afterEach(async () => {
	await server?.shutdown();
	server = undefined;
});

describe('edge cases through the engine', () => {
	it('a 5 MB single-line table is analysed; 5 MB of one-line gpc code is skipped over the budget, never hangs', async () => {
		const [engine] = await fuzzEngines();
		expect(TABLE.length).toBeGreaterThan(5_000_000);
		const table = engine.analyze([{ file: 'drivers/gpu/table.h', read: () => TABLE }]);
		expect(table.findings).toEqual([]);
		expect(table.skipped).toEqual([]);
		const started = performance.now();
		const gpc = engine.analyze([{ file: 'arch/x86/kvm/one_line.c', read: () => GPC_LINE }], { fileBudgetMs: 2_000 });
		const ms = performance.now() - started;
		// Either it finished (then its ranges are in the one line) or it was skipped for time.
		expect(gpc.skipped.every((s) => /time budget/.test(s.reason))).toBe(true);
		expect(rangeProblems(gpc.findings, new Map([['arch/x86/kvm/one_line.c', GPC_LINE]]))).toEqual([]);
		console.log(`robust-edge: 5 MB gpc line ${gpc.skipped.length ? 'skipped over the 2 s budget' : `analysed, ${gpc.findings.length} findings`} in ${Math.round(ms)} ms`);
		// Bounded by the budget per pass, plus parsing and facts (not by the size of the input's work).
		expect(ms).toBeLessThan(60_000);
	}, 120_000);

	it('NUL bytes, a BOM, lone surrogates, CRLF, unbalanced #if and deleted braces keep every invariant', async () => {
		const engines = await fuzzEngines();
		const variants: Record<string, string> = {
			nul: BUGS.replace(/;\n/, ';\0\0\n'),
			bom: '\uFEFF' + BUGS,
			surrogate: BUGS.replace('{', '{ /* \uD800 */'),
			crlf: BUGS.replace(/\n/g, '\r\n'),
			'lone cr': BUGS.replace(/\n/g, '\r'),
			'unbalanced #if': '#if 0\n' + BUGS,
			'unbalanced #endif': BUGS.replace(/\n\n/, '\n#endif\n\n'),
			'#else in the middle': BUGS.replace(/\tread_unlock/, '#else\n\tread_unlock'),
			'no braces': BUGS.replace(/[{}]/g, ''),
			'no closing braces': BUGS.replace(/}/g, ''),
			'form feeds and tabs': BUGS.replace(/ /g, '\f'),
			'only newlines': '\n'.repeat(100_000),
			empty: '',
		};
		for (const [name, text] of Object.entries(variants)) {
			expect(violations(engines, { file: 'arch/x86/kvm/demo_bugs.c', text, base: BUGS, edits: [{ start: 0, end: BUGS.length, text, whole: true }] }), name).toEqual([]);
		}
	}, 60_000);
});

describe('edge cases through the CLI', () => {
	it('skips a >4 MB file and a binary file with a logged reason, reads non-UTF-8 and CRLF files with the right positions', () => {
		const root = mkdtempSync(join(tmpdir(), 'gpcscope-edge-'));
		mkdirSync(join(root, 'arch/x86/kvm'), { recursive: true });
		mkdirSync(join(root, 'include/linux'), { recursive: true });
		for (const h of HEADERS) writeFileSync(join(root, h.f), h.text);
		writeFileSync(join(root, 'arch/x86/kvm/huge_table.h'), TABLE + ' /* kvm_gpc_check */');
		writeFileSync(join(root, 'arch/x86/kvm/binary.c'), Buffer.concat([Buffer.from('kvm_gpc_check\0\0\0'), Buffer.alloc(100, 0)]));
		writeFileSync(join(root, 'arch/x86/kvm/latin1.c'), Buffer.concat([Buffer.from('/* Copyright \xe9\xff\xfe */\n', 'latin1'), Buffer.from(BUGS)]));
		writeFileSync(join(root, 'arch/x86/kvm/crlf.c'), BUGS.replace(/\n/g, '\r\n').replace(/demo_/g, 'crlf_'));
		const r = spawnSync(process.execPath, [CLI, 'check', root, '--no-cache', '--format', 'json', '--verbose'], { encoding: 'utf8', maxBuffer: 64 << 20 });
		expect(r.status).toBe(1);
		expect(r.stderr).toMatch(/skipped 1 file over the size limit, not searched \(e\.g\. arch\/x86\/kvm\/huge_table\.h: larger than/);
		// Quiet by default: a kernel tree always has generated headers over the limit.
		const quiet = spawnSync(process.execPath, [CLI, 'check', root, '--no-cache', '--format', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
		expect(quiet.stderr).not.toMatch(/over the size limit/);
		expect(quiet.stderr).toMatch(/skipped arch\/x86\/kvm\/binary\.c: binary/);
		expect(r.stderr).toMatch(/skipped arch\/x86\/kvm\/binary\.c: binary/);
		expect(r.stderr).not.toMatch(/internal error/);
		const report = JSON.parse(r.stdout);
		const byFile = (f: string) => report.diagnostics.filter((d: { file: string }) => d.file === f);
		const plain = spawnSync(process.execPath, [CLI, 'check', join(DEMO), '--no-cache', '--format', 'json'], { encoding: 'utf8' });
		// gpc-lock-in-sched-out needs the demo's kvm_arch_vcpu_put() (x86.c), which the copies lack.
		const demoLines = JSON.parse(plain.stdout).diagnostics.filter((d: { file: string; rule: string }) => d.file.endsWith('demo_bugs.c') && d.rule !== 'gpc-lock-in-sched-out').map((d: { line: number; rule: string }) => `${d.line}:${d.rule}`);
		// latin1.c is demo_bugs.c one line lower; crlf.c is demo_bugs.c with CRLF.
		expect(byFile('arch/x86/kvm/latin1.c').map((d: { line: number; rule: string }) => `${d.line - 1}:${d.rule}`).sort()).toEqual([...demoLines].sort());
		expect(byFile('arch/x86/kvm/crlf.c').map((d: { line: number; rule: string }) => `${d.line}:${d.rule}`).sort()).toEqual([...demoLines].sort());
		const crlf = documentLines(readFileSync(join(root, 'arch/x86/kvm/crlf.c'), 'utf8'));
		for (const d of byFile('arch/x86/kvm/crlf.c')) {
			expect(rangeProblem({ start: { line: d.line - 1, character: d.column - 1 }, end: { line: d.endLine - 1, character: d.endColumn - 1 } }, crlf)).toBeUndefined();
		}
	}, 120_000);
});

describe('same input, same output across processes', () => {
	it('the CLI reports the same findings with and without the cache, with 1 and 2 threads', () => {
		const cacheHome = mkdtempSync(join(tmpdir(), 'gpcscope-cache-'));
		const run = (...args: string[]) => {
			const r = spawnSync(process.execPath, [CLI, 'check', DEMO, '--format', 'json', ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cacheHome } });
			expect(r.stderr).not.toMatch(/internal error/);
			return JSON.stringify(JSON.parse(r.stdout).diagnostics);
		};
		const reference = run('--no-cache', '--jobs', '1');
		expect(JSON.parse(reference).length).toBeGreaterThan(0);
		for (const args of [['--no-cache', '--jobs', '2'], ['--jobs', '2'], ['--jobs', '2'], ['--jobs', '1']]) expect(run(...args), args.join(' ')).toBe(reference);
	}, 120_000);
});

describe('edge cases through the language server', () => {
	it('a 5 MB single-line document and 5,000 nested blocks: diagnostics, requests still answered, reasons logged', async () => {
		server = RawServer.spawn(CLI);
		await server.initialize();
		const deep = 'struct gfn_to_pfn_cache { rwlock_t lock; void *khva; };\nint deep(struct gfn_to_pfn_cache *gpc)\n{\n\tread_lock(&gpc->lock);\n' + '{'.repeat(5000) + 'x = *(int *)gpc->khva;' + '}'.repeat(5000) + '\n\tread_unlock(&gpc->lock);\n\treturn 0;\n}\n';
		const deepUri = URI.file(join(REPO, 'test', 'scratch-deep.c')).toString();
		const tableUri = URI.file(join(REPO, 'test', 'scratch-table.h')).toString();
		server.notify('textDocument/didOpen', { textDocument: { uri: deepUri, languageId: 'c', version: 1, text: deep } });
		server.notify('textDocument/didOpen', { textDocument: { uri: tableUri, languageId: 'c', version: 1, text: TABLE } });
		// The skip is logged as the analysis finishes; simulate before that would only say "wait".
		await server.waitFor((m) => m.method === 'window/logMessage' && /nested more than \d+ levels deep/.test((m.params as { message: string }).message), 60_000, 'depth skip logged');
		for (const [uri, position] of [[deepUri, { line: 4, character: 4000 }], [tableUri, { line: 0, character: 4_000_000 }]] as const) {
			const h = await server.request('textDocument/hover', { textDocument: { uri }, position }, 120_000);
			expect(h.result !== undefined || h.error !== undefined).toBe(true);
			const s = await server.request('gpcscope/simulate', { uri, position }, 120_000);
			if (uri === deepUri) expect((s.result as { error?: string }).error).toMatch(/^deep\(\) at line 2 is nested more than 400 levels deep/);
			else expect(s.result !== undefined || s.error !== undefined).toBe(true);
		}
		// An edit at the far end of the 5 MB line is applied and analysed.
		server.notify('textDocument/didChange', { textDocument: { uri: tableUri, version: 2 }, contentChanges: [{ range: { start: { line: 0, character: TABLE.length }, end: { line: 0, character: TABLE.length } }, text: ' int tail;' }] });
		expect((await server.request('gpcscope/no-such-request', {}, 120_000)).error?.code).toBe(-32601);
		expect(server.alive).toBe(true);
	}, 240_000);
});

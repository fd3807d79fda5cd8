// `gpcscope check` with the indexer: threads do not change the report, the
// cache makes the second run reuse facts and result, --no-cache touches no
// cache, --all-files reaches past the prefilter without changing later runs,
// and stderr stays free of progress bars when it is not a terminal.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO, REPO } from '../helpers';

const CLI = join(REPO, 'dist', 'cli.js');

function check(cacheHome: string, ...args: string[]) {
	const r = spawnSync(process.execPath, [CLI, 'check', ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cacheHome } });
	return { ...r, report: r.stdout.startsWith('{') ? JSON.parse(r.stdout) : undefined };
}

describe('gpcscope check with the index', () => {
	it('reports the same with one thread or two', () => {
		const home = mkdtempSync(join(tmpdir(), 'gpcscope-xdg-'));
		const one = check(home, DEMO, '--format', 'json', '--no-cache', '--jobs', '1');
		const two = check(home, DEMO, '--format', 'json', '--no-cache', '--jobs', '2');
		expect(one.status).toBe(1);
		expect(two.report.diagnostics).toEqual(one.report.diagnostics);
		expect(one.report.stats.jobs).toBe(1);
		expect(two.report.stats.jobs).toBe(2);
	});

	it('caches facts and the result in $XDG_CACHE_HOME/gpcscope, and --no-cache bypasses it', async () => {
		const home = mkdtempSync(join(tmpdir(), 'gpcscope-xdg-'));
		const root = mkdtempSync(join(tmpdir(), 'gpcscope-demo-'));
		cpSync(DEMO, root, { recursive: true });
		// Files modified within 2 s of a scan are not trusted from the cache (they may change again unseen).
		await new Promise((resolve) => setTimeout(resolve, 2100));
		const cold = check(home, root, '--format', 'json');
		expect(cold.report.stats).toMatchObject({ cache: 'cold', resultFromCache: 0, factsFromCache: 0 });
		expect(existsSync(join(home, 'gpcscope', 'index'))).toBe(true);
		const warm = check(home, root, '--format', 'json');
		expect(warm.report.stats).toMatchObject({ cache: 'warm', resultFromCache: 1, filesParsedNow: 0 });
		expect(warm.report.diagnostics).toEqual(cold.report.diagnostics);

		// Another rule set: every fact from the cache; pass 2 runs again, parsing only the files it analyses.
		const rules = check(home, root, '--format', 'json', '--rule', 'gpc-use-after-unlock');
		expect(rules.report.stats).toMatchObject({ cache: 'warm', resultFromCache: 0 });
		expect(rules.report.stats.factsFromCache).toBe(cold.report.stats.filesParsed);
		expect(rules.report.stats.filesParsedNow).toBe(rules.report.stats.filesAnalysed);

		// An edited file is read again; its finding goes.
		const bugs = join(root, 'arch/x86/kvm/demo_bugs.c');
		writeFileSync(bugs, readFileSync(bugs, 'utf8').replace(/\/\* expect: [^*]*\*\//g, '').replace(/^/, '// edited\n'));
		const edited = check(home, root, '--format', 'json');
		expect(edited.report.stats.resultFromCache).toBe(0);
		expect(edited.report.stats.filesParsedNow).toBeGreaterThanOrEqual(1);
		const fresh = check(mkdtempSync(join(tmpdir(), 'gpcscope-xdg-')), root, '--format', 'json', '--no-cache');
		expect(edited.report.diagnostics).toEqual(fresh.report.diagnostics);
		expect(fresh.report.stats.cache).toBe('off');

		const empty = mkdtempSync(join(tmpdir(), 'gpcscope-xdg-'));
		check(empty, root, '--no-cache');
		expect(existsSync(join(empty, 'gpcscope'))).toBe(false);
	});

	it('--all-files follows calls from files the prefilter rejects, and its cache leaves a later normal run unchanged', async () => {
		const root = mkdtempSync(join(tmpdir(), 'gpcscope-demo-'));
		cpSync(DEMO, root, { recursive: true });
		// A driver far from KVM (not a neighbour of any gpc file) that never names the gpc API.
		mkdirSync(join(root, 'drivers/misc'), { recursive: true });
		writeFileSync(join(root, 'drivers/misc/demo_irq.c'), [
			'typedef int irqreturn_t;',
			'struct kvm_vcpu;',
			'void kvm_xen_inject_pending_events(struct kvm_vcpu *v);',
			'',
			'static irqreturn_t demo_irq_handler(int irq, void *data)',
			'{',
			'\tkvm_xen_inject_pending_events(data);',
			'\treturn 1;',
			'}',
			'',
		].join('\n'));
		// Files modified within 2 s of a scan are not cached.
		await new Promise((resolve) => setTimeout(resolve, 2100));
		const fromIrq = (r: ReturnType<typeof check>) => r.report.diagnostics.filter((d: { message: string }) => d.message.includes('demo_irq_handler'));
		const home = mkdtempSync(join(tmpdir(), 'gpcscope-xdg-'));
		const normal = check(mkdtempSync(join(tmpdir(), 'gpcscope-xdg-')), root, '--format', 'json');
		expect(fromIrq(normal)).toEqual([]);

		const all = check(home, root, '--format', 'json', '--all-files', '--jobs', '2');
		expect(fromIrq(all)).toMatchObject([{ file: 'arch/x86/kvm/xen.c', rule: 'gpc-refresh-in-atomic' }]);
		expect(all.report.stats.filesParsed).toBe(all.report.stats.filesScanned);

		// The cache records the prefilter's verdict, not "every file matched": a normal run on it
		// indexes what a normal run with no cache does.
		const after = check(home, root, '--format', 'json');
		expect(after.report.stats.filesParsed).toBe(normal.report.stats.filesParsed);
		expect(after.report.diagnostics).toEqual(normal.report.diagnostics);
	});

	it('prints the summary line, and no progress bar when stderr is not a terminal', () => {
		const r = check(mkdtempSync(join(tmpdir(), 'gpcscope-xdg-')), DEMO);
		expect(r.stderr).toMatch(/\d+ files scanned, \d+ parsed, \d+ functions analysed, .* \d+\.\d\d s/);
		expect(r.stderr).not.toContain('\r');
	});
});

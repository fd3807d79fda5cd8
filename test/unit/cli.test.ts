// The CLI as a user runs it: the built dist/cli.js on the bundled demo tree.
import Ajv from 'ajv-draft-04';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO, FIXTURES, REPO } from '../helpers';

const CLI = join(REPO, 'dist', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: REPO });

describe('gpcscope check', () => {
	it('prints gcc-style findings on the demo tree and exits 1', () => {
		const r = run('check', DEMO);
		expect(r.status).toBe(1);
		expect(r.stdout).toMatch(/^arch\/x86\/kvm\/\S+\.c:\d+:\d+: (error|warning): .+ \[gpc-[a-z-]+\]$/m);
		expect(r.stderr).toMatch(/files scanned, \d+ parsed, \d+ functions analysed/);
	});

	it('emits the JSON report of DESIGN.md §6', () => {
		const r = run('check', DEMO, '--format', 'json');
		expect(r.status).toBe(1);
		const report = JSON.parse(r.stdout);
		expect(report.version).toBe(1);
		expect(report.apiEra).toBe('6.2-6.8');
		expect(report.diagnostics.length).toBeGreaterThan(0);
		for (const d of report.diagnostics) {
			expect(Object.keys(d).sort()).toEqual(['column', 'endColumn', 'endLine', 'file', 'line', 'message', 'related', 'rule', 'severity']);
			expect(d.file).not.toMatch(/^\//);
			expect(d.line).toBeGreaterThanOrEqual(1);
		}
	});

	it('emits SARIF 2.1.0 that validates against the schema, with relative paths', () => {
		const r = run('check', DEMO, '--format', 'sarif');
		const log = JSON.parse(r.stdout);
		const schema = JSON.parse(readFileSync(join(REPO, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
		const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(schema);
		expect(validate(log), JSON.stringify(validate.errors?.slice(0, 5), null, 1)).toBe(true);
		const results = log.runs[0].results;
		expect(results.length).toBeGreaterThan(0);
		for (const res of results) {
			expect(res.locations[0].physicalLocation.artifactLocation.uri).not.toMatch(/^\/|^file:/);
			expect(res.partialFingerprints['gpcscopeLine/v1']).toMatch(/^[0-9a-f]{32}$/);
		}
	});

	it('--baseline reports only findings that are not in an earlier report', () => {
		const dir = mkdtempSync(join(tmpdir(), 'gpcscope-'));
		const earlier = join(dir, 'baseline.sarif');
		writeFileSync(earlier, run('check', DEMO, '--format', 'sarif').stdout);
		const again = run('check', DEMO, '--format', 'json', '--baseline', earlier);
		expect(again.status).toBe(0);
		expect(JSON.parse(again.stdout).diagnostics).toEqual([]);
		expect(again.stderr).toMatch(/findings already in .*baseline\.sarif not reported/);
		expect(run('check', DEMO, '--baseline', join(dir, 'missing.sarif')).status).toBe(2);
	});

	it('filters by --rule', () => {
		const r = run('check', DEMO, '--format', 'json', '--rule', 'gpc-check-unlocked');
		const rules = new Set(JSON.parse(r.stdout).diagnostics.map((d: { rule: string }) => d.rule));
		expect([...rules]).toEqual(['gpc-check-unlocked']);
	});

	it('exits 0 on a clean file', () => {
		const dir = mkdtempSync(join(tmpdir(), 'gpcscope-'));
		writeFileSync(join(dir, 'clean.c'), 'int main(void)\n{\n\treturn 0;\n}\n');
		const r = run('check', dir, '--format', 'json');
		expect(r.status).toBe(0);
		expect(JSON.parse(r.stdout).diagnostics).toEqual([]);
	});

	it('exits 2 on bad input with a clear message', () => {
		const missing = run('check', '/nonexistent/tree');
		expect(missing.status).toBe(2);
		expect(missing.stderr).toContain('/nonexistent/tree: no such file or directory');
		expect(run('check', DEMO, '--format', 'xml').status).toBe(2);
		expect(run('check', DEMO, '--rule', 'gpc-nope').stderr).toMatch(/unknown rule/);
		expect(run('frobnicate').status).toBe(2);
	});
});

describe('other subcommands', () => {
	it('--help lists the subcommands', () => {
		const r = run('--help');
		expect(r.status).toBe(0);
		for (const cmd of ['check', 'fix', 'simulate', 'explain', 'rules', 'lsp']) expect(r.stdout).toContain(cmd);
	});

	it('rules lists the catalogue and explain prints a rule page', () => {
		expect(run('rules').stdout.split('\n').filter(Boolean)).toHaveLength(13);
		const page = run('explain', 'gpc-use-after-unlock');
		expect(page.status).toBe(0);
		expect(page.stdout).toMatch(/^# gpc-use-after-unlock/);
	});

	it('simulate --matrix --format json prints the matrix of DESIGN.md §6', () => {
		const r = run('simulate', '--matrix', '--format', 'json');
		// Exit 1: upstream 6.12 is refuted for an HVA-based cache outside every memslot (docs/findings/hva-cache-refresh.md).
		expect(r.status).toBe(1);
		const { cells, mutants } = JSON.parse(r.stdout);
		expect(cells.length).toBeGreaterThanOrEqual(64);
		for (const c of cells) expect(Object.keys(c).sort()).toEqual(['liveness', 'ms', 'property', 'scenario', 'states', 'variant', 'verdict']);
		const upstreamRefuted = cells.filter((c: { variant: string; verdict: string }) => c.variant === 'upstream' && c.verdict !== 'safe').map((c: { scenario: string }) => c.scenario);
		expect(upstreamRefuted).toEqual(['hva-refresh-vs-zap', 'hva-refresh-vs-migration']);
		for (const m of mutants) expect(Object.keys(m).sort()).toEqual(['description', 'equivalent', 'id', 'killedBy', 'reason']);
	});

	it('simulate --from runs the function at a line in each of its calling contexts', () => {
		const r = run('simulate', '--from', join(DEMO, 'arch/x86/kvm/demo_bugs.c:51'), '--format', 'json');
		expect(r.status).toBe(1);
		const out = JSON.parse(r.stdout);
		expect(out).toMatchObject({ verdict: 'violation', reader: 'demo_vcpu_wants_upcall', file: 'arch/x86/kvm/demo_bugs.c' });
		expect(out.runs[0]).toMatchObject({ context: { kind: 'process' }, pfncache: { variant: 'upstream', how: 'detected' } });
		expect(run('simulate', '--from', 'nope.c:3').status).toBe(2);
		expect(run('simulate', '--from', join(DEMO, 'arch/x86/kvm/demo_bugs.c:51'), '--context', 'nope').status).toBe(2);
		expect(run('simulate', '--from', join(DEMO, 'arch/x86/kvm/demo_bugs.c:51'), '--variant', 'nope').status).toBe(2);
	});

	it('simulate --from prints the sched-out deadlock with its chain of calls, and its Promela', () => {
		const file = join(FIXTURES, 'simulator-trees/sched-out/arch/x86/kvm/xen.c:14');
		const r = run('simulate', '--from', file, '--context', 'sched-out');
		expect(r.status).toBe(1);
		expect(r.stdout).toMatch(/^fx_runstate_blocking\(\) in sched-out context \(rq lock held\) × upstream: VIOLATION: deadlock/);
		expect(r.stdout).toMatch(/→ fx_runstate_blocking\(\)  called at arch\/x86\/kvm\/x86\.c:8, defined at arch\/x86\/kvm\/xen\.c:6  with state = RUNSTATE_runnable/);
		expect(r.stdout).toMatch(/at kernel\/sched\/core\.c __schedule\(\): rq_lock\(rq, &rf\);/);
		const pml = run('simulate', '--from', file, '--context', 'sched-out', '--emit-promela');
		expect(pml.status).toBe(0);
		expect(pml.stdout).toMatch(/^proctype t2_evtchn\(\)/m);
		expect(run('simulate', '--from', file, '--emit-promela').status).toBe(2);
	});

	it('fix --dry-run prints a patch of the demo tree and exits 0 (test/unit/fix-trees.test.ts has the rest)', () => {
		const r = run('fix', '--rule', 'gpc-dead-usage-flag', DEMO, '--dry-run');
		expect(r.status).toBe(0);
		expect(r.stdout).toMatch(/^diff --git a\/include\/linux\/kvm_types\.h b\/include\/linux\/kvm_types\.h$/m);
		expect(run('fix', '--rule', 'gpc-len-mismatch', DEMO).status).toBe(2);
	});
});

// Calling contexts (contexts.ts), hard-IRQ entry points (entries.ts), and what
// gpc-lock-in-sched-out makes of them: the chain of calls with call sites, the
// constants bound on the way, the upstream trylock rewrite as a quick fix and
// as `gpcscope fix`, and the hover on the lock.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URI } from 'vscode-uri';
import type { CodeAction, Diagnostic } from 'vscode-languageserver';
import { afterEach, describe, expect, it } from 'vitest';
import { callingContexts } from '../../server/src/analysis/contexts';
import { extractFacts } from '../../server/src/analysis/facts';
import { applyEdits } from '../../server/src/findingFix';
import { analyzePath, DEMO, engine, FIXTURES, REPO } from '../helpers';
import { initialize, inProcessClient, type TestClient } from '../lsp-client';

const SCHED_OUT = join(FIXTURES, 'gpc-lock-in-sched-out');
const RUNSTATE_61 = join(SCHED_OUT, 'bad', 'runstate-blocking-lock-6.1.c');
const RUNSTATE_612_GPC2 = join(SCHED_OUT, 'bad', 'runstate-atomic-blocking-second-cache-6.12.c');
const CLI = join(REPO, 'dist', 'cli.js');

async function factsOf(file: string, text = readFileSync(file, 'utf8')) {
	const tree = (await engine()).parser.parse(text)!;
	try {
		return extractFacts(file, tree);
	} finally {
		tree.delete();
	}
}

describe('calling contexts', () => {
	it('follow the sched-out notifier down to the runstate update with the constant it passes, call site by call site', async () => {
		const text = readFileSync(RUNSTATE_61, 'utf8');
		const lines = text.split('\n');
		const contexts = callingContexts([await factsOf('xen.c', text)], (name) => name === 'kvm_xen_update_runstate_guest').get('kvm_xen_update_runstate_guest')!;
		const schedOut = contexts.find((c) => c.kind === 'sched-out')!;
		expect(schedOut.chain.map((l) => l.fn)).toEqual(['kvm_sched_out', 'kvm_arch_vcpu_put', 'kvm_xen_runstate_set_preempted', 'kvm_xen_update_runstate_guest']);
		expect(schedOut.values).toEqual({ state: 'RUNSTATE_runnable' });
		expect(schedOut.chain.map((l) => l.bound)).toEqual([{}, {}, {}, { state: 'RUNSTATE_runnable' }]);
		// Each link's call site is the caller's line that calls it.
		for (const [i, link] of schedOut.chain.entries()) {
			if (i === 0) expect(link.callLine).toBeUndefined();
			else expect(lines[link.callLine!]).toContain(`${link.fn}(`);
			expect(lines[link.line]).toContain(link.fn);
		}
		expect(schedOut.why).toMatch(/^kvm_sched_out\(\) is the sched-out preempt notifier: .*rq->__lock.*; it reaches this through kvm_sched_out\(\) → kvm_arch_vcpu_put\(\) → kvm_xen_runstate_set_preempted\(\) → kvm_xen_update_runstate_guest\(\) with state = RUNSTATE_runnable$/);
		// kvm_arch_vcpu_put() is also an atomic entry of its own (vcpu_put()): a second kind, same bindings.
		expect(contexts.filter((c) => c.kind === 'atomic').map((c) => c.chain[0].fn)).toEqual(['kvm_arch_vcpu_put']);
	});

	it('bind a comparison of a bound constant: state == RUNSTATE_runnable is atomic = true', async () => {
		const contexts = callingContexts([await factsOf('xen.c', readFileSync(RUNSTATE_612_GPC2, 'utf8'))], () => true).get('kvm_xen_update_runstate_guest')!;
		expect(contexts.find((c) => c.kind === 'sched-out')?.values).toEqual({ atomic: 'true' });
	});

	it('find hard-IRQ entries only where the tree says so: *_HARD timers, IRQF_NO_THREAD / ONESHOT / per-CPU handlers', async () => {
		const kinds = async (fixture: string, fn: string) => {
			const file = join(FIXTURES, 'gpc-lock-in-hardirq', fixture);
			return (callingContexts([await factsOf(file)], () => true).get(fn) ?? []).map((c) => c.kind);
		};
		expect(await kinds('bad/hard-timer-evtchn-fast-6.12.c', 'kvm_xen_set_evtchn_fast')).toEqual(['hardirq']);
		expect(await kinds('good/soft-timer-6.12.c', 'kvm_xen_set_evtchn_fast')).toEqual(['atomic']);
		expect(await kinds('bad/hrtimer-setup-hard-6.12.c', 'kvm_pvclock_tick')).toEqual(['hardirq']);
		expect(await kinds('bad/request-irq-no-thread-6.12.c', 'kvm_xen_doorbell_irq')).toEqual(['hardirq']);
		expect(await kinds('good/request-irq-force-threaded-6.12.c', 'kvm_xen_doorbell_irq')).toEqual(['atomic']);
		expect(await kinds('bad/threaded-irq-oneshot-primary-6.12.c', 'kvm_xen_evtchn_primary')).toEqual(['hardirq']);
		expect(await kinds('bad/threaded-irq-oneshot-primary-6.12.c', 'kvm_xen_evtchn_thread')).toEqual(['atomic']);
		expect(await kinds('bad/percpu-irq-6.2.c', 'kvm_xen_raise_upcall')).toEqual(['hardirq']);
	});
});

describe('gpc-lock-in-sched-out', () => {
	it('carries the chain as related locations and the upstream rewrite as its fix', async () => {
		const result = await analyzePath(RUNSTATE_61);
		const [f] = result.findings.filter((x) => x.rule === 'gpc-lock-in-sched-out');
		expect(f.message).toContain('sched-out context (rq lock held) via kvm_sched_out() → kvm_arch_vcpu_put() → kvm_xen_runstate_set_preempted() → kvm_xen_update_runstate_guest() with state = RUNSTATE_runnable');
		expect(f.message).toContain('&gpc->lock --> &p->pi_lock --> &rq->__lock');
		expect(f.related.map((r) => r.message)).toEqual([
			expect.stringMatching(/^kvm_sched_out\(\) is the sched-out preempt notifier/),
			'kvm_sched_out() calls kvm_arch_vcpu_put()',
			'kvm_arch_vcpu_put() calls kvm_xen_runstate_set_preempted()',
			'kvm_xen_runstate_set_preempted() calls kvm_xen_update_runstate_guest() with state = RUNSTATE_runnable',
		]);
		const text = readFileSync(RUNSTATE_61, 'utf8');
		const fixed = applyEdits(text, f.fix!.edits)!.replace('\t/* expect: gpc-lock-in-sched-out */', '');
		expect(fixed).toContain([
			'\tif (state == RUNSTATE_runnable) {',
			'\t\tlocal_irq_save(flags);',
			'\t\tif (!read_trylock(&gpc->lock)) {',
			'\t\t\tlocal_irq_restore(flags);',
			'\t\t\treturn;',
			'\t\t}',
			'\t} else {',
			'\t\tread_lock_irqsave(&gpc->lock, flags);',
			'\t}',
			'\twhile (!kvm_gfn_to_pfn_cache_check(',
		].join('\n'));
		// The rewrite is what the good fixture is, and is silent.
		const good = readFileSync(join(SCHED_OUT, 'good', 'runstate-trylock-when-runnable-6.1.c'), 'utf8');
		const body = (s: string) => s.slice(s.indexOf('void kvm_xen_update_runstate_guest'));
		expect(body(fixed)).toBe(body(good));
	});

	it('releases the other gpc locks held in its bail-out, and offers no rewrite when no parameter decides the context', async () => {
		const result = await analyzePath(RUNSTATE_612_GPC2);
		const [f] = result.findings.filter((x) => x.rule === 'gpc-lock-in-sched-out');
		expect(f.fix!.edits[0].newText).toBe([
			'if (atomic) {',
			'\t\t\tif (!read_trylock(&gpc2->lock)) {',
			'\t\t\t\tread_unlock_irqrestore(&gpc1->lock, flags);',
			'\t\t\t\treturn;',
			'\t\t\t}',
			'\t\t} else {',
			'\t\t\tread_lock(&gpc2->lock);',
			'\t\t}',
		].join('\n'));
		// A guard cannot be split in two.
		for (const fixture of ['guard-in-put-helper-6.12.c', 'scoped-guard-in-put-helper-6.12.c']) {
			const r = await analyzePath(join(SCHED_OUT, 'bad', fixture));
			expect(r.findings.filter((x) => x.rule === 'gpc-lock-in-sched-out').map((x) => x.fix), fixture).toEqual([undefined]);
		}
		// kvm_arch_vcpu_put() -> helper(vcpu) binds nothing the helper could test: no rewrite. With (vcpu, true) it has one.
		const dir = mkdtempSync(join(tmpdir(), 'gpcscope-noparam-'));
		try {
			const demo = readFileSync(join(DEMO, 'arch/x86/kvm/demo_bugs.c'), 'utf8');
			const helper = demo.slice(demo.indexOf('void demo_pvclock_note_preempted'), demo.indexOf('/*', demo.indexOf('void demo_pvclock_note_preempted')));
			const source = (params: string, args: string) => `struct gfn_to_pfn_cache { rwlock_t lock; void *khva; };\nbool kvm_gpc_check(struct gfn_to_pfn_cache *gpc, unsigned long len);\nvoid kvm_gpc_mark_dirty_in_slot(struct gfn_to_pfn_cache *gpc);\n${helper.replace('(struct kvm_vcpu *v, bool atomic)', params)}\nvoid kvm_arch_vcpu_put(struct kvm_vcpu *vcpu)\n{\n\tdemo_pvclock_note_preempted(${args});\n}\n`;
			writeFileSync(join(dir, 'put.c'), source('(struct kvm_vcpu *v)', 'vcpu'));
			expect((await analyzePath(dir)).findings.filter((x) => x.rule === 'gpc-lock-in-sched-out').map((x) => x.fix)).toEqual([undefined]);
			writeFileSync(join(dir, 'put.c'), source('(struct kvm_vcpu *v, bool atomic)', 'vcpu, true'));
			expect((await analyzePath(dir)).findings.find((x) => x.rule === 'gpc-lock-in-sched-out')?.fix?.edits[0].newText).toMatch(/^if \(atomic\) \{\n\t\tlocal_irq_save\(flags\);/);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
		// A constant the caller passes decides it too: kvm_pvclock_drop_mapping(vcpu, PREEMPTED).
		const byConstant = await analyzePath(join(SCHED_OUT, 'bad', 'write-lock-in-put-path-6.2.c'));
		expect(byConstant.findings.find((x) => x.rule === 'gpc-lock-in-sched-out')!.fix!.edits[0].newText).toMatch(/^if \(reason == PREEMPTED\) \{\n\t\tlocal_irq_disable\(\);\n\t\tif \(!write_trylock\(&gpc->lock\)\) \{\n\t\t\tlocal_irq_enable\(\);/);
	});
});

describe('through the language server and the CLI', () => {
	let client: TestClient | undefined;
	let copy: string | undefined;
	afterEach(async () => {
		await client?.close();
		client = undefined;
		if (copy) rmSync(copy, { recursive: true, force: true });
		copy = undefined;
	});

	it('offers the rewrite as a quick fix whose edit is the finding\'s, and shows the context on the lock', async () => {
		copy = mkdtempSync(join(tmpdir(), 'gpcscope-schedout-lsp-'));
		const file = join(copy, 'xen.c');
		cpSync(RUNSTATE_61, file);
		client = inProcessClient();
		await initialize(client, URI.file(copy).toString());
		const uri = URI.file(file).toString();
		const text = readFileSync(file, 'utf8');
		client.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
		const diagnostics = await client.diagnostics(uri);
		const d = diagnostics.find((x) => x.code === 'gpc-lock-in-sched-out')!;
		expect(d.data).toMatchObject({ gpcscope: 'fix' });
		const ask = (ds: Diagnostic[]) => client!.rpc.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: d.range, context: { diagnostics: ds } }) as Promise<CodeAction[]>;
		const [action] = (await ask([d])).filter((a) => a.edit);
		expect(action.title).toMatch(/^Take gpc->lock with read_trylock\(\) when state == RUNSTATE_runnable/);
		const edits = action.edit!.changes![uri];
		expect(applyEdits(text, edits)).toContain('\tif (state == RUNSTATE_runnable) {\n\t\tlocal_irq_save(flags);');
		// A client that drops `data` gets the same edit from the latest result.
		const [again] = (await ask([{ ...d, data: undefined }])).filter((a) => a.edit);
		expect(again.edit).toEqual(action.edit);

		const lines = text.split('\n');
		const row = lines.findIndex((l) => l.includes('read_lock_irqsave(&gpc->lock, flags);\t/* expect'));
		const hover = (await client.rpc.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: row, character: lines[row].indexOf('read_lock') + 2 } })) as { contents: { value: string } };
		expect(hover.contents.value).toContain('**Calling context:** sched-out context (rq lock held) via kvm_sched_out() → kvm_arch_vcpu_put() → kvm_xen_runstate_set_preempted() → kvm_xen_update_runstate_guest() with state = RUNSTATE_runnable');
	});

	it('gpcscope fix --rule gpc-lock-in-sched-out rewrites the tree, after which the rule is silent; --preempt-rt turns on gpc-lock-in-hardirq', () => {
		copy = mkdtempSync(join(tmpdir(), 'gpcscope-schedout-'));
		cpSync(RUNSTATE_61, join(copy, 'xen.c'));
		const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
		const dry = run('fix', '--rule', 'gpc-lock-in-sched-out', '--dry-run', copy);
		expect(dry.status, dry.stderr).toBe(0);
		expect(dry.stdout).toMatch(/^-\tread_lock_irqsave\(&gpc->lock, flags\);\t\/\* expect: gpc-lock-in-sched-out \*\/$/m);
		expect(dry.stdout).toMatch(/^\+\tif \(state == RUNSTATE_runnable\) \{$/m);
		expect(readFileSync(join(copy, 'xen.c'), 'utf8')).toBe(readFileSync(RUNSTATE_61, 'utf8'));
		expect(run('fix', '--rule', 'gpc-lock-in-sched-out', copy).stderr).toMatch(/rewrote 1 gpc-lock-in-sched-out finding in 1 file/);
		const after = JSON.parse(run('check', '--no-cache', '--format', 'json', copy).stdout);
		expect(after.diagnostics).toEqual([]);

		const hard = join(FIXTURES, 'gpc-lock-in-hardirq', 'bad', 'hard-timer-evtchn-fast-6.12.c');
		const rules = (args: string[]) => JSON.parse(run('check', '--no-cache', '--format', 'json', ...args, hard).stdout).diagnostics.map((x: { rule: string }) => x.rule);
		expect(rules([])).toEqual([]);
		expect(rules(['--preempt-rt'])).toEqual(['gpc-lock-in-hardirq']);
	});
});

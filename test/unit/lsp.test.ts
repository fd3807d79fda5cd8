// The language server through LSP: in-process over streams, and the real
// `gpcscope lsp --stdio` process, each driven by a generic client.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { URI } from 'vscode-uri';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO, REPO } from '../helpers';
import { initialize, inProcessClient, stdioClient, type TestClient } from '../lsp-client';

const DEMO_BUGS = join(DEMO, 'arch/x86/kvm/demo_bugs.c');
let client: TestClient | undefined;
afterEach(async () => {
	await client?.close();
	client = undefined;
});

const open = (c: TestClient, file: string, text = readFileSync(file, 'utf8')) => {
	const uri = URI.file(file).toString();
	c.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
	return uri;
};

describe('language server (in-process)', () => {
	it('publishes diagnostics with the rule id as code and a link to the rule page', async () => {
		client = inProcessClient();
		const init = await initialize(client, URI.file(DEMO).toString());
		expect(init.capabilities.textDocumentSync).toMatchObject({ openClose: true, change: 2 });
		const uri = open(client, DEMO_BUGS);
		const diagnostics = await client.diagnostics(uri);
		expect(diagnostics.length).toBeGreaterThan(0);
		for (const d of diagnostics) {
			expect(d.code).toMatch(/^gpc-[a-z-]+$/);
			expect(d.source).toBe('gpcscope');
			// The unparsed-code notice is not a rule: its page is the decision that explains it.
			expect(d.codeDescription?.href).toMatch(d.code === 'gpc-unparsed' ? /docs\/decisions\.md(#.*)?$/ : new RegExp(`docs/rules/${d.code}\\.md$`));
		}
	});

	it('re-analyses after an incremental edit and drops fixed findings', async () => {
		client = inProcessClient();
		await initialize(client, null);
		const text = [
			'struct gfn_to_pfn_cache { rwlock_t lock; void *khva; };',
			'bool kvm_gpc_check(struct gfn_to_pfn_cache *gpc, unsigned long len);',
			'static int peek(struct gfn_to_pfn_cache *gpc)',
			'{',
			'\tint v;',
			'',
			'\tread_lock(&gpc->lock);',
			'\tif (!kvm_gpc_check(gpc, 4)) {',
			'\t\tread_unlock(&gpc->lock);',
			'\t\treturn -1;',
			'\t}',
			'\tread_unlock(&gpc->lock);',
			'\tv = *(int *)gpc->khva;',
			'\treturn v;',
			'}',
			'',
		].join('\n');
		const file = join(REPO, 'test', 'scratch-peek.c');
		const uri = open(client, file, text);
		const before = await client.diagnostics(uri);
		expect(before.map((d) => [d.code, d.range.start.line])).toEqual([['gpc-use-after-unlock', 12]]);
		// Move the unlock below the read: delete line 11, insert it after line 12.
		const fixed = client.diagnostics(uri, true);
		client.rpc.sendNotification('textDocument/didChange', {
			textDocument: { uri, version: 2 },
			contentChanges: [
				{ range: { start: { line: 11, character: 0 }, end: { line: 12, character: 0 } }, text: '' },
				{ range: { start: { line: 12, character: 0 }, end: { line: 12, character: 0 } }, text: '\tread_unlock(&gpc->lock);\n' },
			],
		});
		expect(await fixed).toEqual([]);
	});
});

describe('settings', () => {
	it('applies per-rule severities from workspace/configuration', async () => {
		client = inProcessClient({ settings: { rules: { 'gpc-check-unlocked': 'hint', 'gpc-lock-imbalance': 'off' } } });
		await initialize(client, URI.file(DEMO).toString());
		const uri = open(client, DEMO_BUGS);
		const diagnostics = await client.diagnostics(uri);
		expect(diagnostics.find((d) => d.code === 'gpc-check-unlocked')?.severity).toBe(4);
		expect(diagnostics.find((d) => d.code === 'gpc-use-after-unlock')?.severity).toBe(1);
		expect(diagnostics.some((d) => d.code === 'gpc-lock-imbalance')).toBe(false);
	});

	it('reports gpc-lock-in-hardirq only with gpcscope.preemptRt', async () => {
		for (const preemptRt of [false, true]) {
			client = inProcessClient({ settings: { preemptRt } });
			await initialize(client, URI.file(DEMO).toString());
			const uri = open(client, DEMO_BUGS);
			const codes = (await client.diagnostics(uri)).map((d) => d.code);
			expect(codes.includes('gpc-lock-in-hardirq'), `preemptRt: ${preemptRt}`).toBe(preemptRt);
			expect(codes).toContain('gpc-lock-in-sched-out');
			await client.close();
			client = undefined;
		}
	});

	it('warns about an invalid value and uses the default', async () => {
		const messages: string[] = [];
		client = inProcessClient({ settings: { apiEra: '7.0', rules: { 'gpc-check-unlocked': 'loud' } }, messages });
		await initialize(client, URI.file(DEMO).toString());
		const uri = open(client, DEMO_BUGS);
		const diagnostics = await client.diagnostics(uri);
		expect(diagnostics.find((d) => d.code === 'gpc-check-unlocked')?.severity).toBe(1);
		expect(messages.some((m) => /^gpcscope\.apiEra: .*using the default/.test(m))).toBe(true);
		expect(messages.some((m) => /^gpcscope\.rules: .*using the default/.test(m))).toBe(true);
	});
});

describe('custom requests', () => {
	it('gpcscope/simulate runs the function at a position and resolves its lines', async () => {
		client = inProcessClient();
		await initialize(client, URI.file(DEMO).toString());
		const uri = open(client, DEMO_BUGS);
		await client.diagnostics(uri);
		const response = (await client.rpc.sendRequest('gpcscope/simulate', { uri, position: { line: 50, character: 1 } })) as {
			result: { verdict: string; trace: { location: { file: string; line?: number } }[] };
			reader: string;
			root: string;
			chains: { title: string }[];
		};
		expect(response.reader).toBe('demo_vcpu_wants_upcall');
		expect(response.result.verdict).toBe('violation');
		expect(response.root).toBe(DEMO);
		expect(response.result.trace.some((s) => s.location.file === 'arch/x86/kvm/demo_bugs.c' && s.location.line === 51)).toBe(true);
		expect(response.chains.map((c) => c.title)).toContain('refresh');
		const outside = (await client.rpc.sendRequest('gpcscope/simulate', { uri, position: { line: 0, character: 0 } })) as { error?: string };
		expect(outside.error).toMatch(/not inside a function/);
	});

	it('gpcscope/simulatorCatalog and gpcscope/simulateScenario open any cell of the matrix beside upstream\'s run of its schedule', async () => {
		client = inProcessClient();
		await initialize(client, URI.file(DEMO).toString());
		const catalog = (await client.rpc.sendRequest('gpcscope/simulatorCatalog', {})) as { scenarios: { id: string }[]; variants: { id: string; verdict?: unknown }[] };
		expect(catalog.scenarios.map((s) => s.id)).toContain('hva-refresh-vs-zap');
		expect(catalog.variants.every((v) => v.verdict === undefined)).toBe(true);
		const inScenario = (await client.rpc.sendRequest('gpcscope/simulatorCatalog', { scenario: 'guest-usage-vs-invalidation' })) as {
			variants: { id: string; verdict: { safety: string; property?: string; liveness: string } }[];
		};
		expect(inScenario.variants.find((v) => v.id === 'guest-usage-no-request')!.verdict).toEqual({ safety: 'violation', property: 'stale-access', liveness: 'holds' });
		expect(inScenario.variants.find((v) => v.id === 'guest-usage-protocol')!.verdict).toEqual({ safety: 'safe', liveness: 'holds' });
		expect(((await client.rpc.sendRequest('gpcscope/simulatorCatalog', { scenario: 'nope' })) as { error?: string }).error).toMatch(/unknown scenario/);

		const cell = (await client.rpc.sendRequest('gpcscope/simulateScenario', { scenario: 'reader-vs-invalidation', variant: 'valid-before-map' })) as {
			result: { verdict: string; explanation: string; trace: { thread: string; location: { file: string; line?: number; url?: string; tree?: string } }[] };
			compare: { variant: string; verdict: string; replayed: { steps: number } };
			root: string;
		};
		expect(cell.root).toBe(DEMO);
		expect(cell.result.verdict).toBe('violation');
		expect(cell.result.explanation.length).toBeGreaterThan(30);
		// today's steps get the demo tree's lines, historical ones a link to their version
		expect(cell.result.trace.some((s) => s.location.file === 'virt/kvm/pfncache.c' && !s.location.tree && typeof s.location.line === 'number')).toBe(true);
		expect(cell.result.trace.filter((s) => s.location.tree === 'linux-5.18').every((s) => /\?h=v5\.18$/.test(s.location.url ?? ''))).toBe(true);
		expect(cell.compare).toMatchObject({ variant: 'upstream', verdict: 'safe', replayed: { steps: cell.result.trace.length } });
		const storm = (await client.rpc.sendRequest('gpcscope/simulateScenario', { scenario: 'refresh-vs-invalidation-storm', variant: 'upstream' })) as {
			result: { liveness: string; lasso: { cycle: unknown[] } };
			compare?: unknown;
		};
		expect(storm.result.liveness).toBe('violated');
		expect(storm.result.lasso.cycle.length).toBeGreaterThan(0);
		expect(storm.compare).toBeUndefined();
		expect(((await client.rpc.sendRequest('gpcscope/simulateScenario', { scenario: 'nope', variant: 'upstream' })) as { error?: string }).error).toMatch(/unknown scenario/);
	});

	it('gpcscope/reindex sent right after initialized waits for the workspace', async () => {
		client = inProcessClient();
		await initialize(client, URI.file(DEMO).toString());
		const status = (await client.rpc.sendRequest('gpcscope/reindex')) as { state: string };
		expect(status.state).toMatch(/^(indexing|ready)$/);
		expect((await client.ready()).apiEra).toBe('6.2-6.8');
	});

	it('gpcscope/status names no API era in a folder without gpc code', async () => {
		client = inProcessClient();
		await initialize(client, URI.file(join(REPO, 'test', 'e2e', 'no-gpc')).toString());
		const status = await client.ready();
		expect(status).toMatchObject({ state: 'ready', filesIndexed: 0, findings: 0 });
		expect(status.apiEra).toBeUndefined();
		const demo = inProcessClient();
		await initialize(demo, URI.file(DEMO).toString());
		expect((await demo.ready()).apiEra).toBe('6.2-6.8');
		await demo.close();
	});

	it('gpcscope/instances lists owner struct and field with lifecycle sites', async () => {
		client = inProcessClient();
		await initialize(client, URI.file(DEMO).toString());
		await client.ready();
		const list = (await client.rpc.sendRequest('gpcscope/instances')) as { id: string; sites: { role: string; uri: string; line: number }[]; findings: number }[];
		const vcpuInfo = list.find((i) => i.id === 'kvm_vcpu_xen.vcpu_info_cache');
		expect(vcpuInfo).toBeDefined();
		expect(vcpuInfo!.sites.map((s) => s.role)).toEqual(expect.arrayContaining(['init', 'activate', 'deactivate']));
		expect(list.find((i) => i.id.endsWith('demo_hcall_page.gpc'))?.findings).toBeGreaterThan(0);
	});
});

describe('gpcscope lsp --stdio', () => {
	it('answers initialize and publishes diagnostics for an opened file', async () => {
		client = stdioClient(join(REPO, 'dist', 'cli.js'));
		const init = await initialize(client, URI.file(DEMO).toString());
		expect(init.serverInfo?.name).toBe('gpcscope');
		const uri = open(client, DEMO_BUGS);
		const diagnostics = await client.diagnostics(uri);
		expect(diagnostics.some((d) => d.code === 'gpc-check-unlocked')).toBe(true);
	});
});

// The language server's shortcut for edits that cannot change a finding: when
// it applies, the moved previous result must equal a fresh analysis of the
// edited text, exactly (findings, lifecycle sites, facts). And through LSP:
// an edit republishes the edited file, not the files whose diagnostics stay.
import fc from 'fast-check';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { URI } from 'vscode-uri';
import { afterAll, describe, expect, it } from 'vitest';
import type { EngineResult } from '../../server/src/analysis/engine';
import { parseSettings } from '../../server/src/config';
import { gpcUsers, localEdit, shiftResult } from '../../server/src/index/incremental';
import { Workspace } from '../../server/src/workspace/workspace';
import { expectEditedFactsMatch } from '../facts-property';
import { DEMO, engine, FIXTURES, indexed } from '../helpers';
import { initialize, inProcessClient, type TestClient } from '../lsp-client';

const FILE = 'arch/x86/kvm/x86.c';
const EXTRA = `
static int kvm_demo_scale(int x)
{
	int y = x * 2;

	if (y > 10)
		return y - 1;
	return y;
}

void kvm_demo_tick(struct kvm_vcpu *vcpu)
{
	int i;

	for (i = 0; i < 4; i++)
		kvm_demo_scale(i);
	kvm_guest_time_update(vcpu);
}
`;
const STATEMENTS = [
	'\tint gpcscope_local = 0;',
	'\t/* a comment */',
	'\tkvm_demo_scale(3);',
	'\tmutex_lock(&vcpu->mutex);',
	'\tread_lock(&vcpu->arch.pv_time.lock);',
	'\tkvm_guest_time_update(vcpu);',
	'',
	'\tif (x)',
	'\t}',
];

function demoCopy(): string {
	const root = mkdtempSync(join(tmpdir(), 'gpcscope-incr-'));
	cpSync(DEMO, root, { recursive: true });
	writeFileSync(join(root, FILE), readFileSync(join(root, FILE), 'utf8') + EXTRA);
	return root;
}

const comparable = (r: EngineResult) => ({
	findings: r.findings,
	lifecycle: [...r.lifecycle].sort(([a], [b]) => a.localeCompare(b)),
	facts: r.facts.find((f) => f.file === FILE),
	era: r.era,
});

describe('local edits', () => {
	it('when the shortcut applies, the moved result equals a fresh analysis', async () => {
		const e = await engine();
		const root = demoCopy();
		const sources = (await indexed(root)).sources;
		const base = e.analyze(sources);
		const oldText = readFileSync(join(root, FILE), 'utf8');
		const lines = oldText.split('\n');
		const oldFacts = base.facts.find((f) => f.file === FILE)!;
		const users = gpcUsers(base.facts);
		let applied = 0;
		let refused = 0;
		fc.assert(
			fc.property(fc.integer({ min: 0, max: lines.length - 1 }), fc.constantFrom(...STATEMENTS), fc.boolean(), (line, statement, replace) => {
				const edited = [...lines];
				edited.splice(line, replace ? 1 : 0, statement);
				const newText = edited.join('\n');
				const tree = e.parser.parse(newText)!;
				try {
					const edit = localEdit(FILE, oldText, oldFacts, newText, tree, users);
					if (!edit) {
						refused++;
						return;
					}
					applied++;
					const fresh = e.analyze(sources.map((s) => (s.file === FILE ? { file: FILE, read: () => newText } : s)));
					expect(comparable(shiftResult(base, FILE, edit))).toEqual(comparable(fresh));
				} finally {
					tree.delete();
				}
			}),
			{ numRuns: 80, seed: 7 },
		);
		// Both outcomes are exercised.
		expect(applied).toBeGreaterThan(5);
		expect(refused).toBeGreaterThan(5);
	});
});

describe('facts of an edit inside one function', () => {
	it.each(['arch/x86/kvm/x86.c', 'arch/x86/kvm/xen.c', 'virt/kvm/pfncache.c'])('equal extracting the whole file, after each random edit of the demo %s', async (file) => {
		const { parser } = await engine();
		const { spliced, declined, withErrors } = expectEditedFactsMatch(parser, file, readFileSync(join(DEMO, file), 'utf8'), { steps: 60, seed: 11 });
		expect(spliced).toBeGreaterThan(20);
		expect(declined).toBeGreaterThan(0);
		// Some of them with a parse error inside the edited function.
		expect(withErrors).toBeGreaterThan(0);
	});

	it('equal extracting the whole file on a fixture with the usage enum and gpc fields', async () => {
		const { parser } = await engine();
		const file = join(FIXTURES, 'gpc-dead-usage-flag', 'bad', 'no-guest-user-6.2', 'virt', 'kvm', 'pfncache.c');
		expectEditedFactsMatch(parser, 'virt/kvm/pfncache.c', readFileSync(file, 'utf8'), { steps: 40, seed: 5 });
	});
});

describe('workspace indexing', () => {
	it('reports work-done progress with files done and total, and a re-index cancels the one it replaces', async () => {
		const root = demoCopy();
		const events: string[] = [];
		const states: string[] = [];
		const ws = new Workspace(await engine(), {
			results: { touched: () => undefined, closed: () => undefined, clear: () => undefined, analysed: () => undefined },
			status: (s) => states.push(s.state),
			log: () => undefined,
			progress: (title) => {
				events.push(`begin ${title}`);
				return { report: (done, total) => events.push(`${done}/${total}`), done: () => events.push('done') };
			},
		}, parseSettings({}).settings, { cacheDir: null, jobs: 2 });
		const first = ws.index(root);
		const second = ws.index(root);
		await Promise.all([first, second]);
		expect(events.filter((e) => e.startsWith('begin'))).toHaveLength(2);
		expect(events.filter((e) => e === 'done')).toHaveLength(2);
		const last = events.filter((e) => /^\d+\/\d+$/.test(e)).pop()!;
		const [done, total] = last.split('/').map(Number);
		expect(done).toBe(total);
		expect(states[0]).toBe('indexing');
		expect(states.at(-1), states.join(' ')).toBe('ready');
		expect(ws.status()).toMatchObject({ state: 'ready', filesIndexed: (await indexed(root)).sources.length });
		expect(ws.results()).toHaveLength(1);
		ws.dispose();
	});
});

describe('language server edits', () => {
	let client: TestClient | undefined;
	afterAll(async () => client?.close());

	it('republishes the edited file, and other files only when their diagnostics change', async () => {
		const root = demoCopy();
		client = inProcessClient();
		client.rpc.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => ({ diagnostics: { debounceMs: 0 } })));
		// This handler replaces the client's own: it records every publication and serves the waits.
		const published: string[] = [];
		const waiting = new Map<string, (d: Diagnostic[]) => void>();
		client.rpc.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diagnostic[] }) => {
			published.push(p.uri);
			waiting.get(p.uri)?.(p.diagnostics);
			waiting.delete(p.uri);
		});
		const next = (u: string) => new Promise<Diagnostic[]>((resolve) => waiting.set(u, resolve));
		const ready = client.ready();
		await initialize(client, URI.file(root).toString());
		await ready;
		const uri = URI.file(join(root, FILE)).toString();
		const text = readFileSync(join(root, FILE), 'utf8');
		const opened = next(uri);
		client.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
		const before = await opened;

		// Inside kvm_demo_scale(): nothing can change but the lines below.
		const at = text.split('\n').indexOf('\tint y = x * 2;');
		published.length = 0;
		const moved = next(uri);
		client.rpc.sendNotification('textDocument/didChange', {
			textDocument: { uri, version: 2 },
			contentChanges: [{ range: { start: { line: at, character: 0 }, end: { line: at, character: 0 } }, text: '\tint z = 1;\n' }],
		});
		const after = await moved;
		expect(after).toEqual(before.map((d) => (d.range.start.line > at ? { ...d, range: { start: { ...d.range.start, line: d.range.start.line + 1 }, end: { ...d.range.end, line: d.range.end.line + 1 } } } : d)));
		expect(published).toEqual([uri]);

		// A real change: a sleeping call under a gpc lock in a gpc user.
		const user = text.split('\n').indexOf('\tguest_hv_clock->version = v->arch.hv_clock.version + 1;') + 1;
		const changed = next(uri);
		client.rpc.sendNotification('textDocument/didChange', {
			textDocument: { uri, version: 3 },
			contentChanges: [{ range: { start: { line: user, character: 0 }, end: { line: user, character: 0 } }, text: '\tmutex_lock(&v->mutex);\n' }],
		});
		expect((await changed).map((d) => d.code)).toContain('gpc-sleep-under-lock');
	});
});

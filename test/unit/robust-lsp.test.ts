// Reliability of the language server: the real `gpcscope lsp --stdio` process fed garbage,
// malformed and out-of-range requests, and a client that fails the server's own requests;
// in process, documents closed or changed mid-analysis and random edit sequences.
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URI } from 'vscode-uri';
import { afterEach, describe, expect, it } from 'vitest';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { DEMO, REPO } from '../helpers';
import { initialize, inProcessClient, type TestClient } from '../lsp-client';
import { documentLines, rangeProblem } from '../reliability/harness';
import { runLspEditFuzz, runLspFolderEditFuzz, startedClient, track } from '../reliability/lsp-fuzz';
import { RawServer } from '../reliability/raw-lsp';

const CLI = join(REPO, 'dist', 'cli.js');
const BUGS = join(DEMO, 'arch/x86/kvm/demo_bugs.c');
const BUGS_URI = URI.file(BUGS).toString();
const BUGS_TEXT = readFileSync(BUGS, 'utf8');
const open = (s: RawServer, uri: string, text: string, version = 1) => s.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version, text } });
const published = (s: RawServer, uri: string, nonEmpty = true) =>
	s.waitFor((m) => m.method === 'textDocument/publishDiagnostics' && (m.params as { uri: string }).uri === uri && (!nonEmpty || (m.params as { diagnostics: unknown[] }).diagnostics.length > 0), 30_000, `diagnostics for ${uri}`);
const diagnosticsOf = (m: { params?: unknown }) => (m.params as { diagnostics: Diagnostic[] }).diagnostics;

let server: RawServer | undefined;
afterEach(async () => {
	await server?.shutdown();
	server?.kill();
	server = undefined;
});

/** The server is alive and still right: the demo file's diagnostics, ranges inside the text. */
async function stillServes(s: RawServer): Promise<void> {
	expect((await s.request('gpcscope/no-such-request', {})).error?.code).toBe(-32601);
	const before = s.messages.length;
	open(s, BUGS_URI, BUGS_TEXT, 100);
	const m = await s.waitFor((x) => s.messages.indexOf(x) >= before && x.method === 'textDocument/publishDiagnostics' && (x.params as { uri: string }).uri === BUGS_URI && diagnosticsOf(x).length > 0, 30_000, 'demo diagnostics');
	const lines = documentLines(BUGS_TEXT);
	for (const d of diagnosticsOf(m)) expect(rangeProblem(d.range, lines)).toBeUndefined();
	expect(s.alive).toBe(true);
}

describe('gpcscope lsp --stdio under abuse', () => {
	it('survives garbage JSON-RPC and answers malformed requests with errors', async () => {
		server = RawServer.spawn(CLI);
		await server.initialize();
		const bodies: (string | Buffer)[] = [
			'{not json', '[]', '[1,2]', 'null', '"str"', '42', '{}', '{"jsonrpc":"2.0"}', '{"jsonrpc":"2.0","id":1}',
			'{"jsonrpc":"2.0","id":2,"method":42}', '{"jsonrpc":"2.0","id":{"a":1},"method":"textDocument/hover","params":{}}',
			Buffer.from([0xff, 0xfe, 0x00, 0x7b]), '{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":null}}',
			'{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":42},"contentChanges":"x"}}',
			'{"jsonrpc":"2.0","method":"textDocument/didChange","params":[1,2,3]}',
		];
		for (const b of bodies) server.sendRaw(server.frame(b));
		const v1 = server.newId();
		server.send({ jsonrpc: '1.0', id: v1, method: 'x' });
		expect((await server.response(v1)).error?.code).toBe(-32601);
		// Wrong parameter shapes reach the handlers: they answer (null or an error), never crash.
		for (const params of [null, 'x', 42, [], {}, { textDocument: {} }, { textDocument: { uri: 'file:///nope.c' }, position: null }]) {
			for (const method of ['textDocument/hover', 'textDocument/codeAction', 'gpcscope/simulate', 'workspace/executeCommand', 'codeAction/resolve']) {
				const r = await server.request(method, params);
				expect(r.result !== undefined || r.error !== undefined, `${method} ${JSON.stringify(params)}`).toBe(true);
			}
		}
		await stillServes(server);
	}, 120_000);

	it('ignores unknown notifications and answers unknown requests with MethodNotFound', async () => {
		server = RawServer.spawn(CLI);
		await server.initialize();
		server.notify('$/unknownNotification', { x: 1 });
		server.notify('gpcscope/unknown', null);
		for (const method of ['textDocument/definition', 'workspace/symbol', 'gpcscope/unknown', '']) {
			expect((await server.request(method, {})).error?.code, method).toBe(-32601);
		}
		await stillServes(server);
	}, 60_000);

	it('keeps a consistent document through didChange for unopened documents, ranges past EOF and huge positions', async () => {
		server = RawServer.spawn(CLI);
		await server.initialize();
		const uri = URI.file(join(DEMO, 'arch/x86/kvm/scratch-robust.c')).toString();
		const ghost = URI.file(join(DEMO, 'arch/x86/kvm/never-opened.c')).toString();
		server.notify('textDocument/didChange', { textDocument: { uri: ghost, version: 2 }, contentChanges: [{ range: { start: { line: 5, character: 0 }, end: { line: 6, character: 0 } }, text: 'x' }] });
		server.notify('textDocument/didClose', { textDocument: { uri: ghost } });
		open(server, uri, 'int a;\n');
		open(server, uri, 'int b;\n', 1);
		const huge = [2 ** 31, 2 ** 53, 1e300, -1, -(2 ** 31)];
		let version = 2;
		for (const line of huge) {
			for (const character of [0, 2 ** 31, -5]) {
				server.notify('textDocument/didChange', { textDocument: { uri, version: version++ }, contentChanges: [{ range: { start: { line, character }, end: { line: line + 1, character } }, text: '/* past EOF */' }] });
			}
		}
		server.notify('textDocument/didChange', { textDocument: { uri, version: version++ }, contentChanges: [{ range: { start: { line: 3, character: 9 }, end: { line: 0, character: 0 } }, text: 'reversed' }] });
		server.notify('textDocument/didChange', { textDocument: { uri, version: version++ }, contentChanges: [{ range: null, text: 'x' }, { text: 'y' }, { range: { start: {}, end: {} }, text: 'z' }] });
		server.notify('textDocument/didChange', { textDocument: { uri, version: 1 }, contentChanges: [] });
		for (const position of [{ line: 2 ** 31, character: 0 }, { line: -1, character: -1 }, { line: 0, character: 2 ** 53 }, { line: 1e300, character: 1e300 }]) {
			const r = await server.request('textDocument/hover', { textDocument: { uri }, position });
			expect(r.error === undefined || r.error.code !== undefined).toBe(true);
			const s = await server.request('gpcscope/simulate', { uri, position });
			expect(s.result !== undefined || s.error !== undefined).toBe(true);
		}
		// A full-text replacement afterwards gives exactly the diagnostics of a fresh open.
		server.notify('textDocument/didChange', { textDocument: { uri, version: version++ }, contentChanges: [{ text: BUGS_TEXT }] });
		const edited = diagnosticsOf(await published(server, uri));
		const freshUri = URI.file(join(DEMO, 'arch/x86/kvm/scratch-robust-fresh.c')).toString();
		server.notify('textDocument/didClose', { textDocument: { uri } });
		open(server, freshUri, BUGS_TEXT);
		const fresh = diagnosticsOf(await published(server, freshUri));
		const shape = (ds: Diagnostic[]) => ds.map((d) => [d.code, d.range, d.message]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
		expect(shape(edited)).toEqual(shape(fresh));
		await stillServes(server);
	}, 120_000);

	it('does not parse a document over gpcscope.index.maxFileSizeKB until an edit brings it under', async () => {
		server = RawServer.spawn(CLI);
		await server.initialize();
		const uri = URI.file(join(DEMO, 'arch/x86/kvm/scratch-generated.c')).toString();
		// A generated file: the demo's bugs, then a 6 MB table (the default limit is 4096 KB).
		const row = '\t0x00000000, 0x00000001, 0x00000002, 0x00000003, 0x00000004, 0x00000005,\n';
		const table = `static const unsigned int generated_table[] = {\n${row.repeat(Math.ceil(6e6 / row.length))}};\n`;
		open(server, uri, BUGS_TEXT + table);
		const said = await server.waitFor((m) => m.method === 'window/logMessage' && /not analysing .*scratch-generated\.c: \d+ bytes, over gpcscope\.index\.maxFileSizeKB \(4096 KB\)/.test((m.params as { message: string }).message), 30_000, 'the log line');
		expect(said).toBeDefined();
		const cleared = await published(server, uri, false);
		expect(diagnosticsOf(cleared)).toEqual([]);
		const hover = await server.request('textDocument/hover', { textDocument: { uri }, position: { line: 10, character: 5 } });
		expect(hover.error).toBeUndefined();
		expect(hover.result).toBeNull();
		// Cut down to the demo's bugs: parsed and analysed, with the demo's findings.
		server.notify('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: BUGS_TEXT }] });
		expect(diagnosticsOf(await published(server, uri)).length).toBeGreaterThan(0);
		await stillServes(server);
	}, 120_000);

	it('survives a client that fails workspace/configuration, progress and registration requests', async () => {
		server = RawServer.spawn(CLI);
		const fail = () => ({ error: { code: -32603, message: 'client refuses' } });
		server.answer('workspace/configuration', fail);
		server.answer('window/workDoneProgress/create', fail);
		server.answer('client/registerCapability', fail);
		server.answer('window/showMessageRequest', fail);
		await server.initialize(URI.file(DEMO).toString());
		server.notify('workspace/didChangeConfiguration', { settings: { gpcscope: { apiEra: 'bogus' } } });
		server.answer('workspace/configuration', () => ({ result: null }));
		server.notify('workspace/didChangeConfiguration', { settings: null });
		server.answer('workspace/configuration', () => ({ result: [{ rules: 42, apiEra: ['x'], diagnostics: { debounceMs: -1 } }] }));
		server.notify('workspace/didChangeConfiguration', { settings: {} });
		await new Promise((r) => setTimeout(r, 500));
		expect(server.stderr.join('')).not.toMatch(/ResponseError|Unhandled|TypeError/);
		await stillServes(server);
	}, 60_000);

	it('answers requests sent before initialize and after shutdown', async () => {
		server = RawServer.spawn(CLI);
		const early = await server.request('textDocument/hover', { textDocument: { uri: BUGS_URI }, position: { line: 0, character: 0 } });
		expect(early.result !== undefined || early.error !== undefined).toBe(true);
		expect((await server.request('gpcscope/reindex')).error ?? (await server.request('gpcscope/instances')).result).toBeDefined();
		await server.initialize();
		await stillServes(server);
		await server.request('shutdown', null);
		const late = await server.request('textDocument/hover', { textDocument: { uri: BUGS_URI }, position: { line: 0, character: 0 } });
		expect(late.result !== undefined || late.error !== undefined).toBe(true);
		server.notify('exit');
		expect(await server.exited).toBe(0);
	}, 60_000);

	it('honours cancellation: a request cancelled before it runs is answered RequestCancelled', async () => {
		server = RawServer.spawn(CLI);
		await server.initialize();
		open(server, BUGS_URI, BUGS_TEXT);
		await published(server, BUGS_URI);
		const ids = [server.newId(), server.newId(), server.newId()];
		// One write: the requests are still queued when their cancellations arrive.
		server.sendRaw(Buffer.concat([
			...ids.map((id, i) => server!.frame(JSON.stringify({ jsonrpc: '2.0', id, method: i === 2 ? 'gpcscope/simulate' : 'textDocument/hover', params: { uri: BUGS_URI, textDocument: { uri: BUGS_URI }, position: { line: 30, character: 5 } } }))),
			...ids.map((id) => server!.frame(JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id } }))),
		]));
		for (const id of ids) expect((await server.response(id)).error?.code).toBe(-32800);
		// Cancelling an unknown or finished request is harmless.
		server.notify('$/cancelRequest', { id: 999_999 });
		server.notify('$/cancelRequest', { id: ids[0] });
		await stillServes(server);
	}, 60_000);

	it('exits 1 on exit without shutdown; a killed server is replaced by a fresh one that serves the same file', async () => {
		server = RawServer.spawn(CLI);
		await server.initialize();
		server.notify('exit');
		expect(await server.exited).toBe(1);
		server = RawServer.spawn(CLI);
		await server.initialize();
		open(server, BUGS_URI, BUGS_TEXT);
		const before = diagnosticsOf(await published(server, BUGS_URI));
		server.kill();
		expect(await server.exited).toBe(null);
		// What the VS Code client's errorHandler does on `closed` (restart), done by hand.
		server = RawServer.spawn(CLI);
		await server.initialize();
		open(server, BUGS_URI, BUGS_TEXT);
		expect(diagnosticsOf(await published(server, BUGS_URI))).toEqual(before);
	}, 60_000);
});

describe('language server documents under concurrent edits (in process)', () => {
	let client: TestClient | undefined;
	afterEach(async () => {
		await client?.close();
		client = undefined;
	});

	it('a document closed or changed while its analysis is pending ends with the right diagnostics', async () => {
		client = await startedClient();
		const t = track(client);
		const uri = URI.file(join(REPO, 'test', 'scratch-robust-close.c')).toString();
		t.sent();
		client.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: BUGS_TEXT } });
		client.rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: BUGS_TEXT + '\n' }] });
		client.rpc.sendNotification('textDocument/didClose', { textDocument: { uri } });
		await t.settle();
		expect(t.last.get(uri) ?? []).toEqual([]);
		// Changed twice before the first analysis ran: the diagnostics are those of the last text.
		const uri2 = URI.file(join(REPO, 'test', 'scratch-robust-change.c')).toString();
		t.sent();
		client.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri: uri2, languageId: 'c', version: 1, text: 'int x;\n' } });
		client.rpc.sendNotification('textDocument/didChange', { textDocument: { uri: uri2, version: 2 }, contentChanges: [{ text: BUGS_TEXT }] });
		client.rpc.sendNotification('textDocument/didChange', { textDocument: { uri: uri2, version: 3 }, contentChanges: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '/* v3 */\n' }] });
		await t.settle();
		const lines = documentLines('/* v3 */\n' + BUGS_TEXT);
		const got = t.last.get(uri2) ?? [];
		expect(got.length).toBeGreaterThan(0);
		for (const d of got) expect(rangeProblem(d.range, lines)).toBeUndefined();
	}, 60_000);

	it('a document opened, edited and closed while its folder is being indexed ends with the disk file\'s diagnostics', async () => {
		const root = mkdtempSync(join(tmpdir(), 'gpcscope-indexing-'));
		cpSync(DEMO, root, { recursive: true });
		const file = join(root, 'arch/x86/kvm/demo_bugs.c');
		const uri = URI.file(file).toString();
		const clients = [inProcessClient({ settings: { diagnostics: { debounceMs: 0 } } }), inProcessClient({ settings: { diagnostics: { debounceMs: 0 } } })];
		const [ta, tb] = clients.map(track);
		try {
			await initialize(clients[0], URI.file(root).toString());
			// The document comes and goes while the folder is scanned.
			expect(await ta.until('indexing')).toBe(true);
			clients[0].rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: 'garbage {{{' } });
			clients[0].rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: BUGS_TEXT.replace(/read_unlock/g, 'read_lock') }] });
			clients[0].rpc.sendNotification('textDocument/didClose', { textDocument: { uri } });
			await initialize(clients[1], URI.file(root).toString());
			for (const t of [ta, tb]) {
				await t.ready();
				await t.settle();
			}
			const shape = (ds: Diagnostic[] | undefined) => JSON.stringify((ds ?? []).map((d) => [d.code, d.range, d.message]));
			expect(ta.last.size).toBeGreaterThan(0);
			for (const u of new Set([...ta.last.keys(), ...tb.last.keys()])) expect(shape(ta.last.get(u)), u).toBe(shape(tb.last.get(u)));
		} finally {
			for (const c of clients) await c.close();
		}
	}, 120_000);

	it('random edit sequences through the server give the diagnostics of a fresh open of the same text', async () => {
		const r = await runLspEditFuzz(12, 7);
		console.log(`robust-lsp edit sequences: ${r.cases} cases, ${r.edits} edits, ${r.seconds.toFixed(1)} s, ${r.failures.length} failures`);
		expect(r.failures).toEqual([]);
	}, 120_000);

	it('random edit sequences inside an indexed folder give every file the diagnostics of a fresh open', async () => {
		const r = await runLspFolderEditFuzz(2, 11);
		console.log(`robust-lsp folder edit sequences: ${r.cases} cases, ${r.edits} edits, ${r.seconds.toFixed(1)} s, ${r.failures.length} failures`);
		expect(r.failures).toEqual([]);
	}, 120_000);
});

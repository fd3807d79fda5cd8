// Random edit sequences through the language server (in process): after any sequence of
// didChange notifications, with or without an analysis between them, the document's
// diagnostics equal those of a fresh didOpen of the same text, inside the document.
import fc from 'fast-check';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { URI } from 'vscode-uri';
import { initialize, inProcessClient, type TestClient } from '../lsp-client';
import { applyEdit, documentLines, lspChange, mutate, mutationArb, rangeProblem, repoSeeds, REPO, type Seed } from './harness';

/**
 * Last diagnostics published per URI; `settle()` waits for the server to react to what was
 * sent since the last settle (an edited document always hears back), then for quiet.
 */
export function track(c: TestClient) {
	const last = new Map<string, Diagnostic[]>();
	let events = 0;
	let mark = 0;
	let pending = false;
	c.rpc.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diagnostic[] }) => {
		last.set(p.uri, p.diagnostics);
		events++;
	});
	let state = '';
	c.rpc.onNotification('gpcscope/status', (st: { state: string }) => {
		state = st.state;
		events++;
	});
	/** Until the server says it is ready (a folder indexed). */
	const ready = async () => {
		for (const started = Date.now(); state !== 'ready' && Date.now() - started < 120_000; ) await new Promise((r) => setTimeout(r, 20));
	};
	const sent = () => {
		if (!pending) mark = events;
		pending = true;
	};
	// Round trips through the server's queue: once answered, every analysis that was due has run
	// and its notifications (sent before the answer, on the same stream) have been handled.
	const barrier = async () => {
		for (let i = 0; i < 2; i++) {
			await c.rpc.sendRequest('gpcscope/test-barrier').catch(() => undefined);
			await new Promise((r) => setTimeout(r, 20));
		}
	};
	const settle = async (quietMs = 120) => {
		if (pending) for (const started = Date.now(); events === mark && Date.now() - started < 30_000; ) await new Promise((r) => setTimeout(r, 5));
		for (let seen = -1; seen !== events; ) {
			seen = events;
			await new Promise((r) => setTimeout(r, quietMs));
			await barrier();
		}
		pending = false;
	};
	/** Until the server reports `wanted` (e.g. 'indexing': its workspace exists, the folder is being scanned). */
	const until = async (wanted: string) => {
		for (const started = Date.now(); state !== wanted && Date.now() - started < 120_000; ) await new Promise((r) => setTimeout(r, 2));
		return state === wanted;
	};
	return { last, settle, sent, ready, until };
}

/** A server whose workspace exists (documents opened before the engine is ready are only queued). */
export async function startedClient(): Promise<TestClient> {
	const c = inProcessClient({ settings: { diagnostics: { debounceMs: 0 } } });
	await initialize(c, null);
	const warm = URI.file(join(REPO, 'test', 'scratch-warm-up.c')).toString();
	const published = c.diagnostics(warm, true, 60_000);
	c.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri: warm, languageId: 'c', version: 1, text: 'void f(struct gfn_to_pfn_cache *gpc) { }\n' } });
	await published;
	c.rpc.sendNotification('textDocument/didClose', { textDocument: { uri: warm } });
	return c;
}

/** Single-file fixtures: real-looking gpc code that analyses in milliseconds. */
export function smallSeeds(): Seed[] {
	return repoSeeds().filter((s) => /^test\/fixtures\/gpc-[a-z-]+\/(bad|good)\/[^/]+\.c$/.test(s.name));
}

const shape = (ds: Diagnostic[]) => JSON.stringify(ds.map((d) => [d.code, d.range, d.message, d.severity]));

export interface LspFuzzReport {
	cases: number;
	edits: number;
	seconds: number;
	failures: string[];
}

export async function runLspEditFuzz(numRuns: number, seed: number): Promise<LspFuzzReport> {
	const started = performance.now();
	const client = await startedClient();
	const t = track(client);
	const seeds = smallSeeds();
	let n = 0;
	let edits = 0;
	try {
		const result = await fc.check(
			fc.asyncProperty(fc.nat(), fc.array(fc.tuple(mutationArb, fc.boolean()), { minLength: 1, maxLength: 8 }), async (pick, steps) => {
				const base = seeds[pick % seeds.length].text;
				const uri = URI.file(join(REPO, 'test', `scratch-edit-${n}.c`)).toString();
				const freshUri = URI.file(join(REPO, 'test', `scratch-edit-${n}-fresh.c`)).toString();
				n++;
				t.sent();
				client.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: base } });
				let text = base;
				let version = 1;
				for (const [m, pause] of steps) {
					const { edits: [e] } = mutate(text, [m]);
					if (!e) continue;
					t.sent();
					client.rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version: ++version }, contentChanges: [lspChange(text, e)] });
					text = applyEdit(text, e);
					edits++;
					// Sometimes an analysis runs between two edits, sometimes the edits pile up.
					if (pause) await t.settle();
				}
				await t.settle();
				const incremental = t.last.get(uri) ?? [];
				t.sent();
				client.rpc.sendNotification('textDocument/didClose', { textDocument: { uri } });
				client.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri: freshUri, languageId: 'c', version: 1, text } });
				await t.settle();
				const fresh = t.last.get(freshUri) ?? [];
				t.sent();
				client.rpc.sendNotification('textDocument/didClose', { textDocument: { uri: freshUri } });
				await t.settle();
				const problems: string[] = [];
				// A cross-file finding names the activation's file: the edited document's, where the fresh one names its own.
				const renamed = incremental.map((d) => ({ ...d, message: d.message.split(URI.parse(uri).fsPath).join(URI.parse(freshUri).fsPath) }));
				if (shape(renamed) !== shape(fresh)) problems.push(`edited ≠ fresh open:\n${shape(renamed)}\n${shape(fresh)}`);

				const lines = documentLines(text);
				for (const d of incremental) {
					const p = rangeProblem(d.range, lines);
					if (p) problems.push(`${d.code} ${JSON.stringify(d.range)}: ${p}`);
				}
				if (problems.length) throw new Error(`${problems.join('\n')}\n--- text ---\n${text.slice(0, 3000)}`);
			}),
			{ numRuns, seed },
		);
		const failures = result.failed ? [fc.defaultReportMessage(result) ?? 'failed'] : [];
		return { cases: numRuns, edits, seconds: (performance.now() - started) / 1000, failures };
	} finally {
		await client.close();
	}
}

/**
 * The same property inside an indexed workspace folder (a copy of the demo tree): the edited
 * document's facts replace the index's, may-sleep and lifecycle facts cross files. Two servers
 * on the same folder: A sees the edits, B opens the final text; their diagnostics must agree
 * for every file of the folder.
 */
export async function runLspFolderEditFuzz(numRuns: number, seed: number): Promise<LspFuzzReport> {
	const started = performance.now();
	const root = mkdtempSync(join(tmpdir(), 'gpcscope-lspfolder-'));
	cpSync(join(REPO, 'examples', 'demo-kernel'), root, { recursive: true });
	const files = ['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c', 'arch/x86/kvm/demo_bugs.c', 'arch/x86/kvm/xen.h', 'include/linux/kvm_host.h'].filter((f) => existsSync(join(root, f)));
	const a = inProcessClient({ settings: { diagnostics: { debounceMs: 0 } } });
	const b = inProcessClient({ settings: { diagnostics: { debounceMs: 0 } } });
	const ta = track(a);
	const tb = track(b);
	const rootUri = URI.file(root).toString();
	let edits = 0;
	try {
		for (const [c, t] of [[a, ta], [b, tb]] as const) {
			await initialize(c, rootUri);
			await t.ready();
			await t.settle();
		}
		const result = await fc.check(
			fc.asyncProperty(fc.nat(), fc.array(fc.tuple(mutationArb, fc.boolean()), { minLength: 1, maxLength: 6 }), async (pick, steps) => {
				const file = files[pick % files.length];
				const uri = URI.file(join(root, file)).toString();
				const base = readFileSync(join(root, file), 'utf8');
				ta.sent();
				a.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: base } });
				let text = base;
				let version = 1;
				for (const [m, pause] of steps) {
					const { edits: [e] } = mutate(text, [m]);
					if (!e) continue;
					ta.sent();
					a.rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version: ++version }, contentChanges: [lspChange(text, e)] });
					text = applyEdit(text, e);
					edits++;
					if (pause) await ta.settle();
				}
				await ta.settle();
				tb.sent();
				b.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
				await tb.settle();
				const problems: string[] = [];
				for (const f of files) {
					const u = URI.file(join(root, f)).toString();
					if (shape(ta.last.get(u) ?? []) !== shape(tb.last.get(u) ?? [])) problems.push(`${f}: edited ≠ fresh open:\n${shape(ta.last.get(u) ?? [])}\n${shape(tb.last.get(u) ?? [])}`);
				}
				for (const d of ta.last.get(uri) ?? []) {
					const p = rangeProblem(d.range, documentLines(text));
					if (p) problems.push(`${d.code} ${JSON.stringify(d.range)}: ${p}`);
				}
				for (const [c, t] of [[a, ta], [b, tb]] as const) {
					t.sent();
					c.rpc.sendNotification('textDocument/didClose', { textDocument: { uri } });
					await t.settle();
				}
				if (problems.length) throw new Error(`${file}:\n${problems.join('\n')}\n--- text ---\n${text.slice(0, 3000)}`);
			}),
			{ numRuns, seed },
		);
		const failures = result.failed ? [fc.defaultReportMessage(result) ?? 'failed'] : [];
		return { cases: numRuns, edits, seconds: (performance.now() - started) / 1000, failures };
	} finally {
		await a.close();
		await b.close();
		rmSync(root, { recursive: true, force: true });
	}
}

// What the server sends, held to what the client declared (issue 18): dynamic
// registration only of what the client can register dynamically (eglot 1.9 hung on an
// undeclared one), related locations folded into the message for clients without
// relatedInformation support, hovers as plain text for clients that do not take Markdown.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic, Hover } from 'vscode-languageserver-protocol';
import { URI } from 'vscode-uri';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO, FIXTURES } from '../helpers';
import { inProcessClient, type TestClient } from '../lsp-client';

const BUGS = join(DEMO, 'arch/x86/kvm/demo_bugs.c');
const URI_BUGS = URI.file(BUGS).toString();
let client: TestClient | undefined;
afterEach(async () => {
	await client?.close();
	client = undefined;
});

async function start(capabilities: Record<string, unknown>): Promise<{ c: TestClient; registered: string[] }> {
	const c = inProcessClient({ settings: { diagnostics: { debounceMs: 0 } } });
	const registered: string[] = [];
	c.rpc.onRequest('client/registerCapability', (p: { registrations: { method: string }[] }) => {
		registered.push(...p.registrations.map((r) => r.method));
		return null;
	});
	const ready = c.ready();
	await c.rpc.sendRequest('initialize', { processId: process.pid, rootUri: URI.file(DEMO).toString(), workspaceFolders: [{ uri: URI.file(DEMO).toString(), name: 'demo' }], capabilities });
	c.rpc.sendNotification('initialized', {});
	await ready;
	client = c;
	return { c, registered };
}

async function openBugs(c: TestClient): Promise<Diagnostic[]> {
	c.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri: URI_BUGS, languageId: 'c', version: 1, text: readFileSync(BUGS, 'utf8') } });
	let d = await c.diagnostics(URI_BUGS);
	while (!d.some((x) => x.code === 'gpc-use-after-unlock')) d = await c.diagnostics(URI_BUGS);
	return d;
}

/** eglot 1.9's capabilities, as it sends them (the parts that matter here). */
const EGLOT_1_9 = {
	workspace: { applyEdit: true, executeCommand: { dynamicRegistration: false }, workspaceEdit: { documentChanges: false }, didChangeWatchedFiles: { dynamicRegistration: true }, symbol: { dynamicRegistration: false }, configuration: true },
	textDocument: {
		synchronization: { dynamicRegistration: false, willSave: true, willSaveWaitUntil: true, didSave: true },
		hover: { dynamicRegistration: false, contentFormat: ['plaintext'] },
		codeAction: { dynamicRegistration: false, codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'refactor', 'source'] } }, isPreferredSupport: true },
		publishDiagnostics: { relatedInformation: false, codeDescriptionSupport: false, tagSupport: { valueSet: [1, 2] } },
	},
};

describe('LSP conformance to the client\'s capabilities', () => {
	it('registers workspace/didChangeConfiguration only for a client that declares its dynamic registration', async () => {
		const eglot = await start(EGLOT_1_9);
		await new Promise((r) => setTimeout(r, 200));
		expect(eglot.registered).not.toContain('workspace/didChangeConfiguration');
		// What eglot does declare is still registered.
		expect(eglot.registered).toContain('workspace/didChangeWatchedFiles');
		await eglot.c.close();
		client = undefined;
		const vscode = await start({ workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } });
		await expect.poll(() => vscode.registered).toContain('workspace/didChangeConfiguration');
	});

	it('folds related locations into the message for a client without relatedInformation', async () => {
		const { c } = await start(EGLOT_1_9);
		const d = (await openBugs(c)).find((x) => x.code === 'gpc-use-after-unlock')!;
		expect(d.relatedInformation).toBeUndefined();
		expect(d.message).toMatch(/read after the lock was dropped\nlock dropped here: line \d+\nvalidated by this check: line \d+/);
		await c.close();
		client = undefined;
		const full = await start({ workspace: { configuration: true }, textDocument: { publishDiagnostics: { relatedInformation: true } } });
		const kept = (await openBugs(full.c)).find((x) => x.code === 'gpc-use-after-unlock')!;
		expect(kept.message).not.toContain('\n');
		expect(kept.relatedInformation!.map((r) => r.message)).toContain('lock dropped here');
	});

	it('answers hovers in plain text for a client that asks for it, without Markdown links', async () => {
		const line = readFileSync(BUGS, 'utf8').split('\n').findIndex((l) => l.includes('kvm_gpc_check('));
		const character = readFileSync(BUGS, 'utf8').split('\n')[line].indexOf('kvm_gpc_check') + 2;
		for (const [caps, kind] of [[EGLOT_1_9, 'plaintext'], [{ workspace: { configuration: true }, textDocument: { hover: { contentFormat: ['markdown', 'plaintext'] } } }, 'markdown']] as const) {
			const { c } = await start(caps);
			await openBugs(c);
			const hover = (await c.rpc.sendRequest('textDocument/hover', { textDocument: { uri: URI_BUGS }, position: { line, character } })) as Hover;
			const contents = hover.contents as { kind: string; value: string };
			expect(contents.kind).toBe(kind);
			if (kind === 'plaintext') {
				expect(contents.value).not.toMatch(/file:\/\/|\*\*|\]\(/);
				expect(contents.value).toMatch(/^kvm_gpc_check\(gpc, len\) · API era 6\.2-6\.8 — declared at kvm_host\.h:\d+/);
			} else expect(contents.value).toMatch(/\[kvm_host\.h:\d+\]\(file:\/\//);
			await c.close();
			client = undefined;
		}
	});

	it('names the era\'s own functions in the hover: 6.1 refreshes with kvm_gfn_to_pfn_cache_refresh()', async () => {
		const file = join(FIXTURES, 'gpc-check-unlocked/good/retry-loop-runstate-6.1.c');
		const text = readFileSync(file, 'utf8');
		const line = text.split('\n').findIndex((l) => l.includes('while (!kvm_gfn_to_pfn_cache_check('));
		const c = inProcessClient({ settings: { diagnostics: { debounceMs: 0 } } });
		client = c;
		await c.rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, workspaceFolders: null, capabilities: { workspace: { configuration: true } } });
		c.rpc.sendNotification('initialized', {});
		const uri = URI.file(file).toString();
		const published = c.diagnostics(uri, true);
		c.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
		await published;
		const character = text.split('\n')[line].indexOf('kvm_gfn_to_pfn_cache_check') + 2;
		const hover = (await c.rpc.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line, character } })) as Hover;
		const value = (hover.contents as { value: string }).value;
		expect(value).toMatch(/API era 6\.1/);
		expect(value).toContain('`kvm_gfn_to_pfn_cache_refresh()`');
		expect(value).not.toMatch(/kvm_gpc_refresh|path classes/);
	});
});

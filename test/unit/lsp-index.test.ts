// Index wiring of the language server: the client's storage folder holds the
// index cache, indexing reports work-done progress (files done / total), and a
// file changed on disk (workspace/didChangeWatchedFiles) is analysed again.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { URI } from 'vscode-uri';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO } from '../helpers';
import { inProcessClient, type TestClient } from '../lsp-client';

const FILE = 'arch/x86/kvm/x86.c';

describe('language server index wiring', () => {
	let client: TestClient | undefined;
	afterAll(async () => client?.close());

	it('caches in initializationOptions.storagePath, reports progress, re-analyses a file changed on disk', async () => {
		const root = mkdtempSync(join(tmpdir(), 'gpcscope-lsp-index-'));
		cpSync(DEMO, root, { recursive: true });
		const storagePath = mkdtempSync(join(tmpdir(), 'gpcscope-storage-'));
		client = inProcessClient();
		const rpc = client.rpc;
		rpc.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => ({ diagnostics: { debounceMs: 0 } })));
		const registered: string[] = [];
		rpc.onRequest('client/registerCapability', (p: { registrations: { method: string }[] }) => {
			registered.push(...p.registrations.map((r) => r.method));
			return null;
		});
		rpc.onRequest('window/workDoneProgress/create', () => null);
		const progress: { kind: string; title?: string; message?: string; percentage?: number }[] = [];
		rpc.onNotification('$/progress', (p: { value: { kind: string; title?: string; message?: string; percentage?: number } }) => progress.push(p.value));
		const published = new Map<string, Diagnostic[]>();
		const waiting = new Map<string, (d: Diagnostic[]) => void>();
		rpc.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diagnostic[] }) => {
			published.set(p.uri, p.diagnostics);
			waiting.get(p.uri)?.(p.diagnostics);
		});

		const ready = client.ready();
		await rpc.sendRequest('initialize', {
			processId: process.pid,
			rootUri: URI.file(root).toString(),
			workspaceFolders: [{ uri: URI.file(root).toString(), name: 'root' }],
			initializationOptions: { storagePath },
			capabilities: { workspace: { configuration: true, didChangeWatchedFiles: { dynamicRegistration: true } }, window: { workDoneProgress: true } },
		});
		rpc.sendNotification('initialized', {});
		await ready;

		expect(readdirSync(storagePath).length).toBeGreaterThan(0);
		expect(registered).toContain('workspace/didChangeWatchedFiles');
		await expect.poll(() => progress.map((p) => p.kind).join(' ')).toMatch(/^begin( report)* end$/);
		expect(progress[0].title).toBe('gpcscope: indexing');
		const counts = progress.flatMap((p) => /(\d+)\/(\d+) files/.exec(p.message ?? '') ?? []);
		expect(counts.length).toBeGreaterThan(0);

		// A sleeping call under a gpc lock, written to disk while the file is not open.
		const uri = URI.file(join(root, FILE)).toString();
		const text = readFileSync(join(root, FILE), 'utf8');
		const at = text.split('\n').indexOf('\tguest_hv_clock->version = v->arch.hv_clock.version + 1;') + 1;
		expect(at).toBeGreaterThan(0);
		const lines = text.split('\n');
		lines.splice(at, 0, '\tmutex_lock(&v->mutex);');
		writeFileSync(join(root, FILE), lines.join('\n'));
		const republished = new Promise<Diagnostic[]>((resolve) => waiting.set(uri, resolve));
		rpc.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri, type: 2 }] });
		expect((await republished).map((d) => d.code)).toContain('gpc-sleep-under-lock');
	});
});

describe('files created and deleted on disk', () => {
	let client: TestClient | undefined;
	afterAll(async () => client?.close());

	it('judges a created file alone: a gpc file is analysed, a lock file (symlink) and a plain file are not, nothing is re-indexed', async () => {
		const root = mkdtempSync(join(tmpdir(), 'gpcscope-created-'));
		cpSync(DEMO, root, { recursive: true });
		client = inProcessClient({ settings: { diagnostics: { debounceMs: 0 } } });
		const rpc = client.rpc;
		const log: string[] = [];
		rpc.onNotification('window/logMessage', (p: { message: string }) => log.push(p.message));
		const published = new Map<string, Diagnostic[]>();
		const waiting = new Map<string, (d: Diagnostic[]) => void>();
		rpc.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diagnostic[] }) => {
			published.set(p.uri, p.diagnostics);
			waiting.get(p.uri)?.(p.diagnostics);
		});
		const ready = client.ready();
		await rpc.sendRequest('initialize', {
			processId: process.pid, rootUri: URI.file(root).toString(), workspaceFolders: [{ uri: URI.file(root).toString(), name: 'root' }],
			capabilities: { workspace: { configuration: true, didChangeWatchedFiles: { dynamicRegistration: true } } },
		});
		rpc.sendNotification('initialized', {});
		await ready;
		const indexed = () => log.filter((m) => m.startsWith('indexed ')).length;
		expect(indexed()).toBe(1);

		// Emacs's lock file on the first edit: a symlink named like a C file.
		symlinkSync('user@host.1234:1700000000', join(root, 'arch/x86/kvm/.#demo_bugs.c'));
		writeFileSync(join(root, 'arch/x86/kvm/plain.h'), '#define PLAIN 1\n');
		// A new file with a bug: kvm_gpc_check() without the lock.
		const bug = 'arch/x86/kvm/new_bug.c';
		writeFileSync(join(root, bug), [
			'#include <linux/kvm_host.h>', '', 'static bool new_bug_check(struct kvm *kvm)', '{',
			'\treturn kvm_gpc_check(&kvm->arch.xen.shinfo_cache, PAGE_SIZE);', '}', '',
		].join('\n'));
		const uri = URI.file(join(root, bug)).toString();
		const diagnostics = new Promise<Diagnostic[]>((resolve) => waiting.set(uri, resolve));
		rpc.sendNotification('workspace/didChangeWatchedFiles', {
			changes: ['arch/x86/kvm/.#demo_bugs.c', 'arch/x86/kvm/plain.h', bug].map((f) => ({ uri: URI.file(join(root, f)).toString(), type: 1 })),
		});
		expect((await diagnostics).map((d) => d.code)).toContain('gpc-check-unlocked');
		expect(log.some((m) => m.includes(`${bug} appeared on disk: analysed, no re-index`))).toBe(true);
		expect(log.some((m) => m.includes('.#demo_bugs.c') || m.includes('plain.h'))).toBe(false);

		// Deleted: its findings go, still without a re-index.
		rmSync(join(root, bug));
		const cleared = new Promise<Diagnostic[]>((resolve) => waiting.set(uri, resolve));
		rpc.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri, type: 3 }] });
		expect(await cleared).toEqual([]);
		expect(indexed()).toBe(1);
	});
});

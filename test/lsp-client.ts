// A generic LSP client for tests: in-process (streams) or a spawned `gpcscope lsp --stdio`.
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import {
	createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { Diagnostic, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { createConnection } from 'vscode-languageserver/node';
import type { ServerStatus } from '../server/src/protocol';
import { startServer } from '../server/src/server';

export interface TestClient {
	rpc: MessageConnection;
	/** Resolves with the next non-empty diagnostics published for `uri` (or any, with `allowEmpty`). */
	diagnostics(uri: string, allowEmpty?: boolean, timeoutMs?: number): Promise<Diagnostic[]>;
	/** Resolves with the next `gpcscope/status` the server sends with state "ready". */
	ready(timeoutMs?: number): Promise<ServerStatus>;
	close(): Promise<void>;
	process?: ChildProcess;
}

export interface ClientOptions {
	/** The `gpcscope` section answered to workspace/configuration. */
	settings?: unknown;
	/** Collects window/showMessage notifications (warnings about settings). */
	messages?: string[];
}

function wrap(rpc: MessageConnection, cleanup: () => void, child?: ChildProcess, options: ClientOptions = {}): TestClient {
	const waiters: { uri: string; allowEmpty: boolean; resolve: (d: Diagnostic[]) => void }[] = [];
	// A notification written after the server went away rejects; tests that await it still see
	// the rejection, the others must not fail the run with an unhandled rejection.
	const notify = rpc.sendNotification.bind(rpc) as (...args: unknown[]) => Promise<void>;
	(rpc as { sendNotification: (...args: unknown[]) => Promise<void> }).sendNotification = (...args) => {
		const sent = notify(...args);
		sent.catch(() => undefined);
		return sent;
	};
	rpc.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
		for (const w of [...waiters]) {
			if (w.uri === p.uri && (w.allowEmpty || p.diagnostics.length)) {
				waiters.splice(waiters.indexOf(w), 1);
				w.resolve(p.diagnostics);
			}
		}
	});
	rpc.onRequest('window/workDoneProgress/create', () => null);
	rpc.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => options.settings ?? {}));
	rpc.onRequest('window/showMessageRequest', (p: { message: string }) => {
		options.messages?.push(p.message);
		return null;
	});
	rpc.onNotification('window/showMessage', (p: { message: string }) => options.messages?.push(p.message));
	rpc.onRequest('client/registerCapability', () => null);
	rpc.onNotification('window/logMessage', () => undefined);
	rpc.onNotification('$/progress', () => undefined);
	const readyWaiters: ((s: ServerStatus) => void)[] = [];
	rpc.onNotification('gpcscope/status', (s: ServerStatus) => {
		if (s.state === 'ready') for (const w of readyWaiters.splice(0)) w(s);
	});
	rpc.listen();
	return {
		rpc,
		process: child,
		diagnostics: (uri, allowEmpty = false, timeoutMs = 20_000) =>
			new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} within ${timeoutMs} ms`)), timeoutMs);
				waiters.push({ uri, allowEmpty, resolve: (d) => { clearTimeout(timer); resolve(d); } });
			}),
		ready: (timeoutMs = 60_000) =>
			new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`server not ready within ${timeoutMs} ms`)), timeoutMs);
				readyWaiters.push((s) => { clearTimeout(timer); resolve(s); });
			}),
		close: async () => {
			try {
				await rpc.sendRequest('shutdown');
				await rpc.sendNotification('exit');
			} catch {
				// already gone
			}
			rpc.dispose();
			cleanup();
		},
	};
}

export function inProcessClient(options: ClientOptions = {}): TestClient {
	const up = new PassThrough();
	const down = new PassThrough();
	const serverConnection = createConnection(new StreamMessageReader(up), new StreamMessageWriter(down));
	startServer(serverConnection);
	const rpc = createMessageConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
	return wrap(rpc, () => serverConnection.dispose(), undefined, options);
}

export function stdioClient(cli: string): TestClient {
	const child = spawn(process.execPath, [cli, 'lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
	child.stdin!.on('error', () => undefined); // EPIPE once the server has exited
	const rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
	return wrap(rpc, () => child.kill(), child);
}

export async function initialize(client: TestClient, rootUri: string | null): Promise<{ capabilities: Record<string, unknown>; serverInfo?: { name: string } }> {
	const result = await client.rpc.sendRequest('initialize', {
		processId: process.pid,
		rootUri,
		workspaceFolders: rootUri ? [{ uri: rootUri, name: 'root' }] : null,
		capabilities: { workspace: { configuration: true }, window: { workDoneProgress: true }, textDocument: { publishDiagnostics: { relatedInformation: true, codeDescriptionSupport: true } } },
	});
	client.rpc.sendNotification('initialized', {});
	return result as never;
}

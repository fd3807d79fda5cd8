// Owns the language client, its lazy start and restarts, and the disposables of
// every feature.
import * as vscode from 'vscode';
import {
	CloseAction, ErrorAction, LanguageClient, TransportKind, type ErrorHandler, type LanguageClientOptions, type ServerOptions,
} from 'vscode-languageclient/node';
import { registerCommands } from './commands';
import { watchForGpcCode } from './gpc-presence';
import { statusNotification } from '../../server/src/protocol';
import { InstancesView } from './instances-view';
import { StatusItem } from './status';

/** Restarts allowed within RESTART_WINDOW_MS before the client gives up and says so. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 3 * 60 * 1000;

export class GpcscopeContext {
	readonly output = vscode.window.createOutputChannel('gpcscope', { log: true });
	readonly status = new StatusItem();
	readonly instances: InstancesView;
	client: LanguageClient | undefined;
	private starting: Promise<LanguageClient> | undefined;
	private readonly disposables: vscode.Disposable[] = [this.output, this.status];
	private restarts: number[] = [];

	constructor(readonly extension: vscode.ExtensionContext) {
		this.instances = new InstancesView(this);
		this.disposables.push(this.instances, ...registerCommands(this));
	}

	/** Starts the server once the workspace shows gpc code; until then it costs nothing. */
	watch(): void {
		this.disposables.push(watchForGpcCode((reason) => void this.ensureStarted(reason)));
	}

	/** The running client, started now if it is not (a command needs it, or gpc code was found). */
	ensureStarted(reason = 'a gpcscope command'): Promise<LanguageClient> {
		if (!this.starting) {
			this.output.info(`Starting the server: ${reason}.`);
			this.status.starting();
			this.starting = this.startClient();
			this.starting.catch((e: Error) => {
				this.starting = undefined;
				this.status.failed(`The gpcscope server did not start: ${e.message}`);
			});
		}
		return this.starting;
	}

	private async startClient(): Promise<LanguageClient> {
		const serverModule = this.extension.asAbsolutePath('dist/server.js');
		const serverOptions: ServerOptions = {
			// The `gpcscope` command's own flag (server/src/cli.ts): a 4 MB young generation keeps the
			// server's resident memory near its live heap under a stream of edits (docs/BENCHMARKS.md).
			run: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--max-semi-space-size=4'] } },
			debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
		};
		const clientOptions: LanguageClientOptions = {
			documentSelector: [{ scheme: 'file', language: 'c' }],
			synchronize: { configurationSection: 'gpcscope' },
			outputChannel: this.output,
			errorHandler: this.errorHandler(),
			// Where the server may keep its index cache (per workspace, VS Code's own storage).
			initializationOptions: { storagePath: this.extension.storageUri?.fsPath },
		};
		const client = new LanguageClient('gpcscope', 'gpcscope', serverOptions, clientOptions);
		// One handler per notification method (vscode-languageclient keeps only the last):
		// a second onNotification here used to replace the status item's.
		client.onNotification(statusNotification, (s) => {
			this.status.show(s);
			if (s.state === 'ready') {
				this.output.info(`Indexed ${s.filesIndexed} of ${s.filesScanned} C files; ${s.findings} finding${s.findings === 1 ? '' : 's'}; API era ${s.apiEra ?? 'none (no gpc code)'}${s.eraEvidence ? ` (${s.eraEvidence})` : ''}.`);
				this.instances.refresh();
			}
		});
		await client.start();
		this.client = client;
		void vscode.commands.executeCommand('setContext', 'gpcscope.serverStarted', true);
		return client;
	}

	async restart(): Promise<void> {
		const old = this.starting;
		this.starting = undefined;
		this.client = undefined;
		const client = await old?.catch(() => undefined);
		await client?.stop().catch(() => undefined);
		await client?.dispose().catch(() => undefined);
		await this.ensureStarted('restart');
	}

	async dispose(): Promise<void> {
		const client = await this.starting?.catch(() => undefined);
		await client?.stop().catch(() => undefined);
		for (const d of this.disposables) d.dispose();
	}

	/** Restart a crashed server and tell the user; stop after repeated crashes. */
	private errorHandler(): ErrorHandler {
		return {
			error: () => ({ action: ErrorAction.Continue }),
			closed: () => {
				const now = Date.now();
				this.restarts = [...this.restarts.filter((t) => now - t < RESTART_WINDOW_MS), now];
				if (this.restarts.length > MAX_RESTARTS) {
					this.status.failed('The gpcscope server crashed repeatedly and was not restarted.');
					return { action: CloseAction.DoNotRestart, message: 'The gpcscope server crashed 5 times in 3 minutes; see the gpcscope output. Run "gpcscope: Restart server" to try again.' };
				}
				this.output.warn('The gpcscope server stopped unexpectedly; restarting it.');
				this.status.starting();
				void vscode.window.showInformationMessage('The gpcscope server stopped unexpectedly and was restarted.');
				return { action: CloseAction.Restart };
			},
		};
	}
}

// LSP wiring only: capabilities, and handlers that delegate to the workspace
// and the feature modules.
import {
	CodeActionKind, createConnection, DidChangeConfigurationNotification, DidChangeWatchedFilesNotification, ErrorCodes, FileChangeType, LSPErrorCodes, Message, ProposedFeatures, ResponseError, TextDocumentSyncKind,
	type ClientCapabilities, type Connection, type ConnectionStrategy, type InitializeParams, type InitializeResult,
} from 'vscode-languageserver/node';
import { URI } from 'vscode-uri';
import { Engine } from './analysis/engine';
import { parseSettings } from './config';
import { fitDiagnostics, fitHover } from './features/clientFit';
import { DiagnosticsPublisher } from './features/diagnostics';
import { findingFixActions } from './features/findingFixes';
import { hover } from './features/hover';
import { instances } from './features/instances';
import { interleavingActions } from './features/interleaving';
import { workDoneProgress } from './features/progress';
import { simulateAt } from './features/simulate';
import { simulateScenario, simulatorCatalog } from './features/simulateScenario';
import { instancesRequest, reindexRequest, simulateRequest, simulateScenarioRequest, simulatorCatalogRequest, statusNotification } from './protocol';
import { APPLY_USAGE_FIX_COMMAND, CODE_ACTION_KINDS, REMOVE_USAGE_FLAGS_SERVER_COMMAND, usageCodeActions } from './features/codeActions';
import { VERSION } from './version';
import { checkRoot, findKernelRoot, type RootCheck } from './index/root';
import { Workspace } from './workspace/workspace';

/** A request cancelled while still queued is answered RequestCancelled, not run (simulate is not cheap). */
export const connectionStrategy: ConnectionStrategy = {
	cancelUndispatched: (message) =>
		Message.isRequest(message) ? { jsonrpc: '2.0', id: message.id, error: { code: LSPErrorCodes.RequestCancelled, message: 'cancelled before it ran' } } : undefined,
};

/**
 * For the server processes only (`gpcscope lsp`, dist/server.js), never in-process tests: a
 * rejected promise nobody awaited (a client failing a request the server sent it) is logged
 * to stderr, not fatal to a server that is otherwise fine.
 */
export function keepServerAlive(): void {
	process.on('unhandledRejection', (reason) => {
		process.stderr.write(`gpcscope: unhandled rejection, server keeps running: ${(reason as Error)?.stack ?? String(reason)}\n`);
	});
}

export function startServer(connection: Connection = createConnection(ProposedFeatures.all, connectionStrategy)): Connection {
	let workspace: Workspace | undefined;
	let folders: string[] = [];
	let canConfigure = false;
	let clientCapabilities: ClientCapabilities = {};
	/** The index cache folder the client gives (VS Code: the extension's storage folder); default otherwise. */
	let storagePath: string | undefined;
	const ready = Engine.create();
	/** Resolves once `workspace` exists: a re-index sent right after start (the extension's lazy start) waits for it. */
	let initializeSeen = false;
	let workspaceCreated!: () => void;
	const created = new Promise<void>((resolve) => (workspaceCreated = resolve));

	const readSettings = async () => {
		let raw: unknown = {};
		try {
			raw = canConfigure ? await connection.workspace.getConfiguration('gpcscope') : {};
		} catch (e) {
			// A client that fails workspace/configuration must not take the server down: defaults.
			connection.console.warn(`gpcscope: workspace/configuration failed (${(e as Error).message}); using the default settings`);
		}
		const { settings, warnings } = parseSettings(raw);
		for (const w of warnings) {
			connection.console.warn(w);
			void connection.window.showWarningMessage(w);
		}
		return settings;
	};

	connection.onInitialize((params: InitializeParams): InitializeResult => {
		initializeSeen = true;
		canConfigure = !!params.capabilities.workspace?.configuration;
		clientCapabilities = params.capabilities;
		const options = params.initializationOptions as { storagePath?: unknown } | undefined;
		storagePath = typeof options?.storagePath === 'string' && options.storagePath ? options.storagePath : undefined;
		folders = (params.workspaceFolders ?? []).map((f) => URI.parse(f.uri).fsPath);
		if (!folders.length && params.rootUri) folders = [URI.parse(params.rootUri).fsPath];
		return {
			capabilities: {
				textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
				hoverProvider: true,
				codeActionProvider: { codeActionKinds: CODE_ACTION_KINDS, resolveProvider: true },
				executeCommandProvider: { commands: [REMOVE_USAGE_FLAGS_SERVER_COMMAND, APPLY_USAGE_FIX_COMMAND] },
			},
			serverInfo: { name: 'gpcscope', version: VERSION },
		};
	});

	connection.onInitialized(async () => {
		const registerFailed = (e: Error) => connection.console.warn(`gpcscope: client/registerCapability failed: ${e.message}`);
		// Only what the client says it can register dynamically (eglot 1.9 answers an undeclared
		// registration with an error that, racing the first requests, can hang its connection).
		if (canConfigure && clientCapabilities.workspace?.didChangeConfiguration?.dynamicRegistration) {
			connection.client.register(DidChangeConfigurationNotification.type, { section: 'gpcscope' }).catch(registerFailed);
		}
		if (clientCapabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration) {
			connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.{c,h}' }] }).catch(registerFailed);
		}
		const engine = await ready;
		workspace = new Workspace(
			engine,
			{
				results: new DiagnosticsPublisher((uri, diagnostics) => ignoreIfClientGone(connection.sendDiagnostics({ uri, diagnostics: fitDiagnostics(uri, diagnostics, clientCapabilities, folders) }))),
				status: (s) => ignoreIfClientGone(connection.sendNotification(statusNotification, s)),
				log: (m) => connection.console.log(m),
				progress: (title) => workDoneProgress(connection, title),
			},
			await readSettings(),
			{ cacheDir: storagePath },
		);
		workspaceCreated();
		await indexFolders();
		for (const [uri, doc] of pendingOpen) {
			adoptTreeOf(uri);
			workspace.open(uri, doc.version, doc.text);
		}
		pendingOpen.clear();
	});

	/**
	 * The root indexed for a folder or an opened file: its kernel tree's top (an editor may
	 * open arch/x86/kvm as its project). What makes it look clean when it is not (no kernel
	 * markers, a .gitignore hiding everything) is said once, in a message and in the log.
	 */
	const roots = new Map<string, RootCheck>();
	const rootOf = (path: string): RootCheck => {
		let r = roots.get(path);
		if (!r) {
			r = checkRoot(path);
			roots.set(path, r);
			for (const w of r.warnings) {
				connection.console.warn(`gpcscope: ${w}`);
				void connection.window.showWarningMessage(`gpcscope: ${w}`);
			}
			if (r.root !== path && r.kernel) connection.console.log(`gpcscope: ${path} is inside the kernel tree ${r.root}: indexing the tree`);
		}
		return r;
	};
	const indexRoot = (r: RootCheck) => void workspace!.index(r.root, r.ignoreGitignore ? { gitignore: false } : {});
	const indexFolders = async () => {
		if (!workspace || !folders.length) return;
		ignoreIfClientGone(connection.sendNotification(statusNotification, { ...workspace.status(), state: 'indexing' }));
		// All folders at once; each reports its own work-done progress (files done / total).
		const seen = new Set<string>();
		for (const folder of folders) {
			const r = rootOf(folder);
			if (seen.has(r.root)) continue;
			seen.add(r.root);
			indexRoot(r);
		}
	};
	/** A file opened outside every folder (an editor started on one file) brings its kernel tree in, as kbuild finds it. */
	const adoptTreeOf = (uri: string) => {
		if (!workspace || !uri.startsWith('file:') || workspace.inFolder(uri)) return;
		const tree = findKernelRoot(URI.parse(uri).fsPath);
		if (!tree || roots.has(tree)) return;
		indexRoot(rootOf(tree));
	};

	// Documents opened before the engine is ready are replayed once it is.
	const pendingOpen = new Map<string, { version: number; text: string }>();
	connection.onDidOpenTextDocument(({ textDocument: d }) => {
		if (workspace) {
			adoptTreeOf(d.uri);
			workspace.open(d.uri, d.version, d.text);
		} else pendingOpen.set(d.uri, { version: d.version, text: d.text });
	});
	connection.onDidChangeTextDocument(({ textDocument: d, contentChanges }) => {
		if (workspace) workspace.change(d.uri, d.version, contentChanges);
		else {
			const pending = pendingOpen.get(d.uri);
			const last = contentChanges[contentChanges.length - 1];
			if (pending && last && !('range' in last)) pendingOpen.set(d.uri, { version: d.version, text: last.text });
		}
	});
	connection.onDidCloseTextDocument(({ textDocument: d }) => {
		pendingOpen.delete(d.uri);
		workspace?.close(d.uri);
	});
	connection.onDidChangeConfiguration(async () => workspace?.configure(await readSettings()));
	const CHANGE_KINDS = { [FileChangeType.Created]: 'created', [FileChangeType.Changed]: 'changed', [FileChangeType.Deleted]: 'deleted' } as const;
	connection.onDidChangeWatchedFiles(({ changes }) => workspace?.filesChanged(changes.map((c) => ({ uri: c.uri, kind: CHANGE_KINDS[c.type] }))));
	connection.onRequest(simulateRequest, ({ uri, position, variant, scenario, context, rule, run }) => {
		const doc = workspace?.documentFor(uri);
		const { result, file, root } = workspace?.resultFor(uri) ?? {};
		if (!doc || !result) return { error: 'Open the file and wait for gpcscope to index it.' };
		return simulateAt({ tree: doc.tree, file: file!, result, root }, position.line, { variant, scenario, context, rule, run });
	});
	connection.onRequest(simulatorCatalogRequest, (params) => simulatorCatalog(params));
	connection.onRequest(simulateScenarioRequest, (params) => simulateScenario(params, folders));
	const usageActions = usageCodeActions(connection, { workspace: () => workspace, engine: ready, folders: () => folders, capabilities: () => clientCapabilities });
	connection.onCodeAction(async (params) => [
		...(!params.context.only || params.context.only.some((k) => CodeActionKind.QuickFix.startsWith(k))
			? findingFixActions(params.textDocument.uri, params.context.diagnostics, workspace?.resultFor(params.textDocument.uri).file ?? '', workspace?.resultFor(params.textDocument.uri).result)
			: []),
		...interleavingActions(params.textDocument.uri, params.context.diagnostics),
		...(await usageActions.codeActions(params)),
	]);
	connection.onCodeActionResolve((action) => usageActions.resolve(action));
	connection.onExecuteCommand((params) => usageActions.execute(params));
	connection.onRequest(instancesRequest, () => (workspace ? instances(workspace.results()) : []));
	connection.onHover(({ textDocument, position }) => {
		const doc = workspace?.documentFor(textDocument.uri);
		const { result, file, uriOf } = workspace?.resultFor(textDocument.uri) ?? {};
		return doc && result && uriOf ? fitHover(hover({ tree: doc.tree, file: file!, result, uriOf }, position), clientCapabilities) : null;
	});
	connection.onRequest(reindexRequest, async () => {
		if (!initializeSeen) throw new ResponseError(ErrorCodes.ServerNotInitialized, 'gpcscope/reindex before initialize');
		await created;
		await indexFolders();
		return workspace!.status();
	});
	connection.onShutdown(() => workspace?.dispose());

	connection.listen();
	return connection;
}

/** A notification the client can no longer receive (it has gone) is dropped, not an unhandled rejection. */
function ignoreIfClientGone(sent: Promise<void>): void {
	sent.catch(() => undefined);
}

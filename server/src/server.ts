// LSP wiring only: capabilities, and handlers that delegate to the workspace
// and the feature modules.
import {
	createConnection, DidChangeConfigurationNotification, ProposedFeatures, TextDocumentSyncKind,
	type Connection, type InitializeParams, type InitializeResult,
} from 'vscode-languageserver/node';
import { URI } from 'vscode-uri';
import { Engine } from './analysis/engine';
import { parseSettings } from './config';
import { hover } from './features/hover';
import { instances } from './features/instances';
import { interleavingActions } from './features/interleaving';
import { simulateAt } from './features/simulate';
import { instancesRequest, reindexRequest, simulateRequest, statusNotification } from './protocol';
import { VERSION } from './version';
import { Workspace } from './workspace';

export function startServer(connection: Connection = createConnection(ProposedFeatures.all)): Connection {
	let workspace: Workspace | undefined;
	let folders: string[] = [];
	let canConfigure = false;
	const ready = Engine.create();

	const readSettings = async () => {
		const raw = canConfigure ? await connection.workspace.getConfiguration('gpcscope') : {};
		const { settings, warnings } = parseSettings(raw);
		for (const w of warnings) {
			connection.console.warn(w);
			void connection.window.showWarningMessage(w);
		}
		return settings;
	};

	connection.onInitialize((params: InitializeParams): InitializeResult => {
		canConfigure = !!params.capabilities.workspace?.configuration;
		folders = (params.workspaceFolders ?? []).map((f) => URI.parse(f.uri).fsPath);
		if (!folders.length && params.rootUri) folders = [URI.parse(params.rootUri).fsPath];
		return {
			capabilities: {
				textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
				hoverProvider: true,
				codeActionProvider: true,
			},
			serverInfo: { name: 'gpcscope', version: VERSION },
		};
	});

	connection.onInitialized(async () => {
		if (canConfigure) void connection.client.register(DidChangeConfigurationNotification.type, { section: 'gpcscope' });
		const engine = await ready;
		workspace = new Workspace(
			engine,
			{
				publish: (uri, diagnostics) => void connection.sendDiagnostics({ uri, diagnostics }),
				status: (s) => void connection.sendNotification(statusNotification, s),
				log: (m) => connection.console.log(m),
			},
			await readSettings(),
		);
		await indexFolders();
		for (const [uri, doc] of pendingOpen) workspace.open(uri, doc.version, doc.text);
		pendingOpen.clear();
	});

	const indexFolders = async () => {
		if (!workspace || !folders.length) return;
		const progress = await connection.window.createWorkDoneProgress();
		progress.begin('gpcscope: indexing', 0, folders.join(', '), false);
		connection.sendNotification(statusNotification, { ...workspace.status(), state: 'indexing' });
		folders.forEach((root, i) => {
			progress.report(Math.round((i / folders.length) * 100), root);
			workspace!.index(root);
		});
		progress.done();
	};

	// Documents opened before the engine is ready are replayed once it is.
	const pendingOpen = new Map<string, { version: number; text: string }>();
	connection.onDidOpenTextDocument(({ textDocument: d }) => {
		if (workspace) workspace.open(d.uri, d.version, d.text);
		else pendingOpen.set(d.uri, { version: d.version, text: d.text });
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
	connection.onRequest(simulateRequest, ({ uri, position, variant, scenario }) => {
		const doc = workspace?.documentFor(uri);
		const { result, file, root } = workspace?.resultFor(uri) ?? {};
		if (!doc || !result) return { error: 'Open the file and wait for gpcscope to index it.' };
		return simulateAt({ tree: doc.tree, file: file!, result, root }, position.line, variant, scenario);
	});
	connection.onCodeAction(({ textDocument, context }) => interleavingActions(textDocument.uri, context.diagnostics));
	connection.onRequest(instancesRequest, () => (workspace ? instances(workspace.results()) : []));
	connection.onHover(({ textDocument, position }) => {
		const doc = workspace?.documentFor(textDocument.uri);
		const { result, file, uriOf } = workspace?.resultFor(textDocument.uri) ?? {};
		return doc && result && uriOf ? hover({ tree: doc.tree, file: file!, result, uriOf }, position) : null;
	});
	connection.onRequest(reindexRequest, async () => {
		await indexFolders();
		return workspace!.status();
	});
	connection.onShutdown(() => workspace?.dispose());

	connection.listen();
	return connection;
}

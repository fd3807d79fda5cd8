// The palette commands: restart, re-index, log, rule pages. Those that need the
// server start it when it is not running yet (a workspace without gpc code).
import * as vscode from 'vscode';
import { reindexRequest, REMOVE_USAGE_FLAGS_COMMAND, REMOVE_USAGE_FLAGS_SERVER_COMMAND, RULE_CATALOGUE } from '../../server/src/protocol';
import type { GpcscopeContext } from './context';
import { openCounterexample, simulateAt } from './simulator-panel';

export function registerCommands(ctx: GpcscopeContext): vscode.Disposable[] {
	return [
		vscode.commands.registerCommand('gpcscope.restartServer', async () => {
			await ctx.restart();
			void vscode.window.showInformationMessage('gpcscope server restarted.');
		}),
		vscode.commands.registerCommand('gpcscope.reindex', async () => {
			const client = await ctx.ensureStarted('Re-index');
			ctx.status.show(await client.sendRequest(reindexRequest));
		}),
		vscode.commands.registerCommand('gpcscope.showOutput', () => ctx.output.show()),
		vscode.commands.registerCommand('gpcscope.simulateAtCursor', async () => {
			const editor = vscode.window.activeTextEditor;
			if (!editor) return void vscode.window.showWarningMessage('gpcscope: open a C file and put the cursor in a function.');
			await simulateAt(ctx, editor.document.uri, editor.selection.active);
		}),
		vscode.commands.registerCommand('gpcscope.showInterleaving', async (uri: string, line: number, rule?: string) => {
			await simulateAt(ctx, vscode.Uri.parse(uri), new vscode.Position(line, 0), typeof rule === 'string' ? rule : undefined);
		}),
		vscode.commands.registerCommand('gpcscope.openCounterexample', (scenario?: string, variant?: string) => openCounterexample(ctx, scenario, variant)),
		// The server builds one WorkspaceEdit over the tree and asks to apply it (with a preview).
		vscode.commands.registerCommand(REMOVE_USAGE_FLAGS_COMMAND, async (folder?: vscode.Uri) => {
			const root = folder ?? vscode.workspace.workspaceFolders?.[0]?.uri;
			if (!root) return void vscode.window.showWarningMessage('gpcscope: open a kernel tree folder first.');
			const client = await ctx.ensureStarted('Remove usage flags');
			await client.sendRequest('workspace/executeCommand', { command: REMOVE_USAGE_FLAGS_SERVER_COMMAND, arguments: [root.toString()] });
		}),
		vscode.commands.registerCommand('gpcscope.showRule', async (rule?: string) => {
			const id = rule ?? (await vscode.window.showQuickPick(
				RULE_CATALOGUE.map((r) => ({ label: r.id, description: r.severity, detail: r.summary })),
				{ placeHolder: 'Which rule?' },
			))?.label;
			if (!id) return;
			const page = vscode.Uri.joinPath(ctx.extension.extensionUri, RULE_CATALOGUE.find((r) => r.id === id)?.doc ?? `docs/rules/${id}.md`);
			await vscode.commands.executeCommand('markdown.showPreview', page);
		}),
	];
}

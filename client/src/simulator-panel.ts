// The simulator panel: a webview (client/webview/) that draws the trace the
// server computed; clicking a step reveals its source line.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { simulateRequest, type SimulateResponse } from '../../server/src/protocol';
import type { GpcscopeContext } from './context';

interface StepLocation {
	file: string;
	function: string;
	line?: number;
}

export class SimulatorPanel {
	private static current: SimulatorPanel | undefined;
	private root: string | undefined;
	private pending: SimulateResponse | undefined;
	private ready = false;

	private constructor(private readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri) {
		const webviewDir = vscode.Uri.joinPath(extensionUri, 'client', 'webview');
		panel.webview.options = { enableScripts: true, localResourceRoots: [webviewDir] };
		const nonce = randomBytes(16).toString('base64');
		panel.webview.html = readFileSync(vscode.Uri.joinPath(webviewDir, 'simulator.html').fsPath, 'utf8')
			.replaceAll('{{nonce}}', nonce)
			.replaceAll('{{cspSource}}', panel.webview.cspSource)
			.replaceAll('{{baseUri}}', panel.webview.asWebviewUri(webviewDir).toString());
		panel.webview.onDidReceiveMessage((msg: { type: string; location?: StepLocation }) => {
			if (msg.type === 'ready') {
				this.ready = true;
				if (this.pending) this.post(this.pending);
			} else if (msg.type === 'reveal' && msg.location) void this.reveal(msg.location);
		});
		panel.onDidDispose(() => {
			if (SimulatorPanel.current === this) SimulatorPanel.current = undefined;
		});
	}

	static show(ctx: GpcscopeContext, response: SimulateResponse): void {
		if (!SimulatorPanel.current) {
			const panel = vscode.window.createWebviewPanel('gpcscope.simulator', 'gpcscope simulator', vscode.ViewColumn.Beside, { enableScripts: true, retainContextWhenHidden: true });
			SimulatorPanel.current = new SimulatorPanel(panel, ctx.extension.extensionUri);
		}
		const view = SimulatorPanel.current;
		view.panel.reveal(vscode.ViewColumn.Beside, true);
		view.post(response);
	}

	private post(response: SimulateResponse): void {
		this.root = response.root;
		if (!this.ready) {
			this.pending = response;
			return;
		}
		void this.panel.webview.postMessage({ type: 'trace', result: response.result });
		void this.panel.webview.postMessage({ type: 'paths', chains: response.chains ?? [] });
	}

	private async reveal(location: StepLocation): Promise<void> {
		if (!this.root || !location.line) return;
		const uri = vscode.Uri.file(`${this.root}/${location.file}`);
		const line = location.line - 1;
		await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(line, 0, line, 0) });
	}
}

/** Runs the function around `position` through the simulator and shows the result. */
export async function simulateAt(ctx: GpcscopeContext, uri: vscode.Uri, position: vscode.Position): Promise<void> {
	const client = await ctx.ensureStarted('Simulate');
	const response = await client.sendRequest(simulateRequest, { uri: uri.toString(), position: { line: position.line, character: position.character } });
	if (response.error) {
		void vscode.window.showWarningMessage(`gpcscope: ${response.error}`);
		return;
	}
	SimulatorPanel.show(ctx, response);
}

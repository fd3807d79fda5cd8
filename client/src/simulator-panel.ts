// The simulator panel: a webview (client/webview/) that draws the trace the
// server computed; clicking a step reveals its source line, or opens the
// version a historical step comes from.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { simulateRequest, simulateScenarioRequest, simulatorCatalogRequest, type SimulateParams, type SimulateResponse } from '../../server/src/protocol';
import type { GpcscopeContext } from './context';

interface StepLocation {
	file: string;
	function: string;
	line?: number;
}

/** What the panel shows: a run, and optionally upstream's run of the same schedule beside it. */
interface PanelContent {
	result?: unknown;
	compare?: unknown;
	root?: string;
	chains?: SimulateResponse['chains'];
	/** a function's runs (one per calling context and adversaries) and the one shown */
	runs?: SimulateResponse['runs'];
	shown?: number;
	/** asks the server for another run of the same function */
	rerun?: (index: number) => Promise<void>;
}

/** Historical steps link to kernel.org; nothing else leaves the editor. */
const OPENABLE = /^https:\/\/git\.kernel\.org\//;

export class SimulatorPanel {
	private static current: SimulatorPanel | undefined;
	private root: string | undefined;
	private pending: PanelContent | undefined;
	private rerun: PanelContent['rerun'];
	private ready = false;

	private constructor(private readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri) {
		const webviewDir = vscode.Uri.joinPath(extensionUri, 'client', 'webview');
		panel.webview.options = { enableScripts: true, localResourceRoots: [webviewDir] };
		const nonce = randomBytes(16).toString('base64');
		panel.webview.html = readFileSync(vscode.Uri.joinPath(webviewDir, 'simulator.html').fsPath, 'utf8')
			.replaceAll('{{nonce}}', nonce)
			.replaceAll('{{cspSource}}', panel.webview.cspSource)
			.replaceAll('{{baseUri}}', panel.webview.asWebviewUri(webviewDir).toString());
		panel.webview.onDidReceiveMessage((msg: { type: string; location?: StepLocation; url?: string; index?: number }) => {
			if (msg.type === 'run' && typeof msg.index === 'number' && this.rerun) void this.rerun(msg.index);
			else if (msg.type === 'ready') {
				this.ready = true;
				if (this.pending) this.post(this.pending);
			} else if (msg.type === 'reveal' && msg.location) void this.reveal(msg.location);
			else if (msg.type === 'open' && typeof msg.url === 'string' && OPENABLE.test(msg.url)) void vscode.env.openExternal(vscode.Uri.parse(msg.url));
		});
		panel.onDidDispose(() => {
			if (SimulatorPanel.current === this) SimulatorPanel.current = undefined;
		});
	}

	static show(ctx: GpcscopeContext, response: PanelContent): void {
		if (!SimulatorPanel.current) {
			const panel = vscode.window.createWebviewPanel('gpcscope.simulator', 'gpcscope simulator', vscode.ViewColumn.Beside, { enableScripts: true, retainContextWhenHidden: true });
			SimulatorPanel.current = new SimulatorPanel(panel, ctx.extension.extensionUri);
		}
		const view = SimulatorPanel.current;
		view.panel.reveal(vscode.ViewColumn.Beside, true);
		view.post(response);
	}

	private post(response: PanelContent): void {
		this.root = response.root;
		this.rerun = response.rerun;
		if (!this.ready) {
			this.pending = response;
			return;
		}
		void this.panel.webview.postMessage({ type: 'trace', result: response.result, compare: response.compare, runs: response.runs, shown: response.shown });
		void this.panel.webview.postMessage({ type: 'paths', chains: response.chains ?? [] });
	}

	private async reveal(location: StepLocation): Promise<void> {
		if (!this.root || !location.line) return;
		const uri = vscode.Uri.file(`${this.root}/${location.file}`);
		const line = location.line - 1;
		await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(line, 0, line, 0) });
	}
}

/**
 * Runs the function around `position` through the simulator in each of its calling contexts and
 * shows a run: the one `rule` (a finding's, from Show interleaving) points at, else the first violation.
 */
export async function simulateAt(ctx: GpcscopeContext, uri: vscode.Uri, position: vscode.Position, rule?: string): Promise<void> {
	const client = await ctx.ensureStarted('Simulate');
	const params: SimulateParams = { uri: uri.toString(), position: { line: position.line, character: position.character }, ...(rule ? { rule } : {}) };
	const show = async (run?: number) => {
		const response = await client.sendRequest(simulateRequest, run === undefined ? params : { ...params, run });
		if (response.error) {
			void vscode.window.showWarningMessage(`gpcscope: ${response.error}`);
			return;
		}
		SimulatorPanel.show(ctx, { ...response, rerun: (index) => show(index) });
	};
	await show();
}

/**
 * Opens any scenario × variant of the simulator's matrix: two pickers (the
 * variants show their verdict in the scenario picked), then the trace or lasso
 * beside upstream's run of the same schedule.
 */
export async function openCounterexample(ctx: GpcscopeContext, scenario?: string, variant?: string): Promise<void> {
	const client = await ctx.ensureStarted('Open simulator counterexample');
	if (!scenario) {
		const catalog = await client.sendRequest(simulatorCatalogRequest, {});
		scenario = (
			await vscode.window.showQuickPick(
				catalog.scenarios.map((s) => ({ label: s.id, description: s.title, detail: s.description })),
				{ placeHolder: 'Which workload (scenario)?', matchOnDescription: true, matchOnDetail: true },
			)
		)?.label;
		if (!scenario) return;
	}
	if (!variant) {
		const catalog = await client.sendRequest(simulatorCatalogRequest, { scenario });
		if (catalog.error) return void vscode.window.showWarningMessage(`gpcscope: ${catalog.error}`);
		const verdict = (v: (typeof catalog.variants)[number]) => {
			const r = v.verdict;
			if (!r) return v.release;
			const safety = r.safety === 'safe' ? 'safe' : `violation: ${r.property}`;
			return `${safety}${r.liveness === 'violated' ? ', livelock' : ''} · ${v.release}`;
		};
		variant = (
			await vscode.window.showQuickPick(
				catalog.variants.map((v) => ({ label: v.id, description: verdict(v), detail: `${v.title}. ${v.hazard}` })),
				{ placeHolder: `Which code (variant) in ${scenario}?`, matchOnDescription: true },
			)
		)?.label;
		if (!variant) return;
	}
	const response = await client.sendRequest(simulateScenarioRequest, { scenario, variant });
	if (response.error) return void vscode.window.showWarningMessage(`gpcscope: ${response.error}`);
	SimulatorPanel.show(ctx, response);
}

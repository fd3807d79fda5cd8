// The language status item: whether there is gpc code at all, indexing progress,
// then files indexed, API era and findings in a few words; the full story (files
// scanned, what decided the era) goes to the log its command opens.
import * as vscode from 'vscode';
import type { ServerStatus } from '../../server/src/protocol';

const NO_GPC_CODE = 'gpcscope: no gpc code found';

export class StatusItem implements vscode.Disposable {
	private readonly item = vscode.languages.createLanguageStatusItem('gpcscope.status', { language: 'c' });

	constructor() {
		this.item.name = 'gpcscope';
		this.noGpcCode();
	}

	/** Before the server runs: nothing here uses the gpc API (yet). */
	noGpcCode(): void {
		this.set(NO_GPC_CODE, 'the checker starts when a file uses the gpc API', { title: 'Check anyway', command: 'gpcscope.reindex' });
	}

	starting(): void {
		this.set('gpcscope: starting', '', undefined, true);
	}

	show(s: ServerStatus): void {
		if (s.state === 'indexing') this.set('gpcscope: indexing…', `${s.filesIndexed} files`, undefined, true);
		else if (s.state === 'error') this.set('gpcscope: error', s.message ?? '', { title: 'Show log', command: 'gpcscope.showOutput' }, false, true);
		else if (!s.apiEra) this.set(NO_GPC_CODE, `${s.filesScanned} C files scanned`, { title: 'Details', command: 'gpcscope.showOutput' });
		else {
			// Code tree-sitter could not parse is not analysed: say so next to the count of findings.
			const unparsed = s.unparsedFiles ? ` · ${s.unparsedFiles} file${s.unparsedFiles === 1 ? '' : 's'} not fully parsed` : '';
			this.set(`gpcscope: ${s.apiEra} · ${s.filesIndexed} files`, `${s.findings} finding${s.findings === 1 ? '' : 's'}${unparsed}`, { title: 'Details', command: 'gpcscope.showOutput' });
		}
	}

	failed(message: string): void {
		this.show({ state: 'error', filesIndexed: 0, filesScanned: 0, findings: 0, message });
	}

	private set(text: string, detail: string, command?: vscode.Command, busy = false, error = false): void {
		this.item.text = text;
		this.item.detail = detail;
		this.item.command = command;
		this.item.busy = busy;
		this.item.severity = error ? vscode.LanguageStatusSeverity.Error : vscode.LanguageStatusSeverity.Information;
	}

	dispose(): void {
		this.item.dispose();
	}
}

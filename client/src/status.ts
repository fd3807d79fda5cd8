// The language status item: indexing progress, files indexed, the API era,
// errors with a way to the log.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { statusNotification, type ServerStatus } from '../../server/src/protocol';

export class StatusItem implements vscode.Disposable {
	private readonly item = vscode.languages.createLanguageStatusItem('gpcscope.status', { language: 'c' });

	constructor() {
		this.item.name = 'gpcscope';
		this.item.text = '$(sync~spin) gpcscope: starting';
		this.item.busy = true;
	}

	attach(client: LanguageClient): void {
		client.onNotification(statusNotification, (s) => this.show(s));
	}

	show(s: ServerStatus): void {
		this.item.busy = s.state === 'indexing';
		this.item.severity = s.state === 'error' ? vscode.LanguageStatusSeverity.Error : vscode.LanguageStatusSeverity.Information;
		if (s.state === 'indexing') {
			this.item.text = 'gpcscope: indexing…';
			this.item.detail = `${s.filesIndexed} files`;
		} else if (s.state === 'error') {
			this.item.text = 'gpcscope: error';
			this.item.detail = s.message;
		} else {
			this.item.text = `gpcscope: ${s.apiEra ?? 'no gpc code'} · ${s.filesIndexed} files`;
			this.item.detail = `${s.filesScanned} C files scanned, ${s.findings} findings${s.eraEvidence ? ` — era: ${s.eraEvidence}` : ''}`;
		}
		this.item.command = s.state === 'error'
			? { title: 'Show log', command: 'gpcscope.showOutput' }
			: { title: 'Re-index', command: 'gpcscope.reindex' };
	}

	failed(message: string): void {
		this.show({ state: 'error', filesIndexed: 0, filesScanned: 0, findings: 0, message });
	}

	dispose(): void {
		this.item.dispose();
	}
}

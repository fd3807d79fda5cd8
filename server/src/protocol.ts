// Custom LSP messages between the extension and the server: declared once, typed,
// the only server module the client imports.
import { NotificationType, RequestType0 } from 'vscode-languageserver-protocol';

export interface ServerStatus {
	state: 'indexing' | 'ready' | 'error';
	/** Detected (or configured) API era and what decided it. */
	apiEra?: string;
	eraEvidence?: string;
	filesScanned: number;
	filesIndexed: number;
	findings: number;
	message?: string;
}

export const statusNotification = new NotificationType<ServerStatus>('gpcscope/status');
/** Re-scan the workspace folders and re-analyse. */
export const reindexRequest = new RequestType0<ServerStatus, void>('gpcscope/reindex');

// Whether the workspace has gpc code, decided cheaply (open documents' text, two
// file-name lookups) so that the language server (~75 MB) starts only where it
// has something to check.
import * as vscode from 'vscode';
import { GPC_API_OR_USAGE } from '../../server/src/protocol';
/** Files only a kernel tree with KVM has. */
const KVM_TREE_FILES = ['**/virt/kvm/pfncache.c', '**/include/linux/kvm_host.h'];

/** Calls `found` once, with the reason, when an open C document or a workspace file shows gpc code. */
export function watchForGpcCode(found: (reason: string) => void): vscode.Disposable {
	const subscriptions: vscode.Disposable[] = [];
	let done = false;
	const report = (reason: string) => {
		if (done) return;
		done = true;
		for (const s of subscriptions) s.dispose();
		found(reason);
	};
	const checkDocument = (d: vscode.TextDocument) => {
		if (d.languageId === 'c' && d.uri.scheme === 'file' && GPC_API_OR_USAGE.test(d.getText())) report(`${vscode.workspace.asRelativePath(d.uri)} uses the gpc API`);
	};
	const lookUpTree = () => {
		for (const glob of KVM_TREE_FILES) {
			vscode.workspace.findFiles(glob, '**/node_modules/**', 1).then(
				(uris) => uris[0] && report(`${vscode.workspace.asRelativePath(uris[0])} is in the workspace`),
				() => undefined, // no file search (virtual workspace): open documents still decide
			);
		}
	};
	subscriptions.push(
		vscode.workspace.onDidOpenTextDocument(checkDocument),
		vscode.workspace.onDidChangeWorkspaceFolders(lookUpTree),
	);
	vscode.workspace.textDocuments.forEach(checkDocument);
	lookUpTree();
	return new vscode.Disposable(() => {
		done = true;
		for (const s of subscriptions) s.dispose();
	});
}

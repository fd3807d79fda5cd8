// Indexing progress as LSP work-done progress: the reporter is handed out at
// once, the progress token is created asynchronously, and reports made before
// it exists are folded into the latest one.
import type { Connection } from 'vscode-languageserver/node';
import type { WorkspaceProgress } from '../workspace/workspace';

export function workDoneProgress(connection: Connection, title: string): WorkspaceProgress {
	let latest: { percentage: number; message?: string } | undefined;
	let finished = false;
	const created = connection.window.createWorkDoneProgress().then(
		(progress) => {
			progress.begin(title, latest?.percentage ?? 0, latest?.message, false);
			return progress;
		},
		() => undefined,
	);
	return {
		report(done, total, message) {
			latest = { percentage: total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0, message };
			void created.then((progress) => {
				if (!progress || finished || !latest) return;
				if (latest.message === undefined) progress.report(latest.percentage);
				else progress.report(latest.percentage, latest.message);
			});
		},
		done() {
			finished = true;
			void created.then((progress) => progress?.done());
		},
	};
}

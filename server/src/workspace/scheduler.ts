// The one way into an analysis in the language server: a folder's analysis is
// requested here (after an edit's debounce, an index, a setting), runs when its
// delay is over, one analysis at a time, and is cancelled through its token by
// any newer request for the same folder. Requests (hover, code actions) are
// answered from the last finished result meanwhile: nothing here blocks them.
import { CancellationTokenSource, type CancellationToken } from 'vscode-languageserver';

export type AnalysisEvent = 'started' | 'finished' | 'cancelled';

interface Request {
	source: CancellationTokenSource;
	timer?: NodeJS.Timeout;
	/** Resolved once this request ran or was replaced. */
	settled: Promise<void>;
	settle(): void;
}

export class AnalysisScheduler {
	private readonly requests = new Map<string, Request>();
	/** Folders whose delay is over, in order. */
	private readonly ready: string[] = [];
	private running = false;
	private disposed = false;

	/**
	 * `analyse` runs one folder's analysis; it stops early (returning) once `token` is cancelled.
	 * `observe` hears each analysis start and end ('cancelled' when its token was cancelled
	 * before it returned): the language server's log and the tests watch the scheduler there.
	 */
	constructor(
		private readonly analyse: (folder: string, token: CancellationToken) => Promise<void>,
		private readonly observe?: (folder: string, event: AnalysisEvent) => void,
	) {}

	/** Analyses `folder` after `delayMs`, cancelling its analysis pending or running. Resolves when this request ran or was replaced. */
	request(folder: string, delayMs: number): Promise<void> {
		this.cancel(folder);
		let settle!: () => void;
		const settled = new Promise<void>((resolve) => (settle = resolve));
		const request: Request = { source: new CancellationTokenSource(), settled, settle };
		if (this.disposed) {
			settle();
			return settled;
		}
		this.requests.set(folder, request);
		request.timer = setTimeout(() => {
			request.timer = undefined;
			if (!this.ready.includes(folder)) this.ready.push(folder);
			void this.pump();
		}, delayMs);
		return settled;
	}

	/** Cancels the folder's analysis, pending or running. */
	cancel(folder: string): void {
		const request = this.requests.get(folder);
		if (!request) return;
		this.requests.delete(folder);
		clearTimeout(request.timer);
		request.source.cancel();
		request.settle();
	}

	dispose(): void {
		this.disposed = true;
		for (const folder of [...this.requests.keys()]) this.cancel(folder);
	}

	private async pump(): Promise<void> {
		if (this.running) return;
		this.running = true;
		try {
			for (let folder = this.ready.shift(); folder !== undefined; folder = this.ready.shift()) {
				const request = this.requests.get(folder);
				if (!request || request.timer) continue;
				this.observe?.(folder, 'started');
				try {
					await this.analyse(folder, request.source.token);
				} catch {
					// An analysis reports its own failures; the next request runs all the same.
				} finally {
					if (this.requests.get(folder) === request) this.requests.delete(folder);
					this.observe?.(folder, request.source.token.isCancellationRequested ? 'cancelled' : 'finished');
					request.settle();
				}
			}
		} finally {
			this.running = false;
		}
	}
}

// The language server's analysis scheduler: a request runs after its delay, a
// newer request for the same folder cancels the older one (pending or running)
// through its token, and analyses run one at a time.
import type { CancellationToken } from 'vscode-languageserver';
import { describe, expect, it } from 'vitest';
import { AnalysisScheduler } from '../../server/src/workspace/scheduler';

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** An analysis that takes `turns` event-loop turns and stops early when cancelled. */
function recorder(turns = 5) {
	const log: string[] = [];
	let running = 0;
	let most = 0;
	const analyse = async (folder: string, token: CancellationToken) => {
		running++;
		most = Math.max(most, running);
		log.push(`start ${folder}`);
		try {
			for (let i = 0; i < turns; i++) {
				await turn();
				if (token.isCancellationRequested) {
					log.push(`cancelled ${folder}`);
					return;
				}
			}
			log.push(`done ${folder}`);
		} finally {
			running--;
		}
	};
	return { log, analyse, most: () => most };
}

describe('AnalysisScheduler', () => {
	it('debounces: requests within the delay make one analysis', async () => {
		const r = recorder();
		const s = new AnalysisScheduler(r.analyse);
		void s.request('a', 20);
		void s.request('a', 20);
		await s.request('a', 20);
		expect(r.log).toEqual(['start a', 'done a']);
	});

	it('cancels the running analysis of a folder when a newer request comes, and runs the newer one', async () => {
		const r = recorder(50);
		const s = new AnalysisScheduler(r.analyse);
		const first = s.request('a', 0);
		while (!r.log.length) await turn();
		const second = s.request('a', 0);
		await Promise.all([first, second]);
		while (r.log.length < 4) await turn();
		expect(r.log).toEqual(['start a', 'cancelled a', 'start a', 'done a']);
	});

	it('runs one analysis at a time, other folders after it', async () => {
		const r = recorder();
		const s = new AnalysisScheduler(r.analyse);
		await Promise.all([s.request('a', 0), s.request('b', 0)]);
		expect(r.log).toEqual(['start a', 'done a', 'start b', 'done b']);
		expect(r.most()).toBe(1);
	});

	it('runs nothing once disposed', async () => {
		const r = recorder();
		const s = new AnalysisScheduler(r.analyse);
		const pending = s.request('a', 10);
		s.dispose();
		await pending;
		await s.request('b', 0);
		expect(r.log).toEqual([]);
	});
});

// The language server's background analysis: in slices that give the event loop
// turns, with the same result as the synchronous analysis, and cancellable.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../server/src/analysis/engine';
import { DEMO, indexed } from '../helpers';
import { comparable } from '../memo-property';

describe('Engine.analyzeYielding', () => {
	it('gives the event loop turns, returns what analyze() returns, and stops when cancelled', async () => {
		const engine = await Engine.create();
		const fresh = await Engine.create();
		try {
			const sources = (await indexed(DEMO)).sources;
			const expected = comparable(fresh.analyze(sources));

			let done = false;
			let turns = 0;
			const tick = () => {
				turns++;
				if (!done) setImmediate(tick);
			};
			setImmediate(tick);
			const result = await engine.analyzeYielding(sources, {}, {}, { sliceMs: 0, cancelled: () => false });
			done = true;
			expect(turns).toBeGreaterThan(1);
			expect(comparable(result!)).toBe(expected);

			expect(await engine.analyzeYielding(sources, {}, {}, { sliceMs: 0, cancelled: () => true })).toBeUndefined();
			expect(comparable(engine.analyze(sources))).toBe(expected);
		} finally {
			engine.dispose();
			fresh.dispose();
		}
	});
});

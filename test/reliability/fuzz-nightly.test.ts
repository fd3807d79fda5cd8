// The nightly-size fuzz run: ≥100,000 cases over every family (test/reliability/fuzz.ts and
// lsp-fuzz.ts), sharded for parallel processes by scripts/fuzz-nightly.sh. A failure is
// shrunk by fast-check and saved under test/fixtures/regressions/ (GPCSCOPE_SAVE_REGRESSIONS=1).
import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz';
import { runLspEditFuzz, runLspFolderEditFuzz } from './lsp-fuzz';
import { ENABLED, record } from './tier';

const TOTAL = Number(process.env.GPCSCOPE_FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.GPCSCOPE_FUZZ_SEED ?? 20261125);
const [SHARD, SHARDS] = (process.env.GPCSCOPE_FUZZ_SHARD ?? '0/1').split('/').map(Number);

/** Shares of the cases: cheap, idiom-dense fixtures most; real kernel code; generated; whole files; the server. */
const SHARES = { fixtures: 0.62, slices: 0.17, generated: 0.12, wholeFiles: 0.084, lsp: 0.005, lspFolder: 0.001 };
const share = (k: keyof typeof SHARES) => Math.ceil((TOTAL * SHARES[k]) / SHARDS);

describe.skipIf(!ENABLED)(`nightly fuzz, shard ${SHARD}/${SHARDS}`, () => {
	it(`runs its share of ${TOTAL} cases with every invariant kept`, async () => {
		const seed = SEED + 1000 * SHARD;
		const { reports, corpus } = await runFuzz({ seed, fixtures: share('fixtures'), slices: share('slices'), generated: share('generated'), wholeFiles: share('wholeFiles') });
		const lsp = await runLspEditFuzz(share('lsp'), seed + 7);
		const lspFolder = await runLspFolderEditFuzz(share('lspFolder'), seed + 11);
		const all = [...reports, { family: 'LSP edit sequences', ...lsp }, { family: 'LSP edit sequences in a folder', ...lspFolder }];
		for (const r of all) {
			record(`fuzz-shard${SHARD}of${SHARDS}-${r.family.replace(/\W+/g, '-')}`, { family: r.family, seed, cases: r.cases, edits: r.edits, seconds: Math.round(r.seconds), failures: r.failures.length, kernelCorpus: corpus.kernel, mutationKinds: 'kinds' in r ? r.kinds : undefined });
		}
		expect(all.flatMap((r) => r.failures)).toEqual([]);
	}, 24 * 3600_000);
});

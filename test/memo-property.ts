// The memo's property, shared by the unit and kernel tiers: an engine that has
// analysed earlier versions of the files (and so reuses its memoised pass 2)
// returns, after each edit, exactly what a fresh engine returns.
import { expect } from 'vitest';
import { Engine, type EngineOptions, type EngineResult } from '../server/src/analysis/engine';
import type { SourceFile } from '../server/src/analysis/source';

/** Lines an edit inserts: neutral ones, and ones that change findings and summaries. */
const INSERTS = [
	'\tint gpcscope_local = 0;',
	'/* gpcscope-ignore: gpc-use-after-unlock, gpc-sleep-under-lock */',
	'\tmutex_lock(&kvm->lock);',
	'\tmight_sleep();',
	'\tread_lock(&gpc->lock);',
	'\tread_unlock(&gpc->lock);',
	'\tif (!kvm_gpc_check(gpc, PAGE_SIZE))',
	'\t}',
	'',
];

/** Deterministic edits: a mulberry32 stream. */
export function random(seed: number): () => number {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** One random line edit: insert, delete or duplicate a line, or undo to the original text. */
function edit(text: string, original: string, rand: () => number): string {
	const lines = text.split('\n');
	const at = Math.floor(rand() * lines.length);
	const kind = Math.floor(rand() * 4);
	if (kind === 0) lines.splice(at, 0, INSERTS[Math.floor(rand() * INSERTS.length)]);
	else if (kind === 1) lines.splice(at, 1);
	else if (kind === 2) lines.splice(at, 0, lines[at]);
	else return original;
	return lines.join('\n');
}

/** Everything a result reports, as one string (the time taken aside). */
export function comparable(r: EngineResult): string {
	return JSON.stringify({
		era: r.era,
		findings: r.findings,
		lifecycle: [...r.lifecycle].sort(([a], [b]) => a.localeCompare(b)),
		stats: { ...r.stats, ms: 0 },
		skipped: r.skipped,
	});
}

/**
 * Applies `steps` random edits to the files in `editable` (one file per step), and after
 * each step compares the memoising engine's result with a fresh engine's.
 */
export async function expectMemoMatchesFresh(
	memoised: Engine,
	sources: readonly SourceFile[],
	editable: readonly string[],
	options: { steps: number; seed: number; engine?: EngineOptions },
): Promise<void> {
	const rand = random(options.seed);
	const originals = new Map(editable.map((f) => [f, sources.find((s) => s.file === f)!.read()]));
	const texts = new Map(originals);
	const current = () => sources.map((s) => (texts.has(s.file) ? { file: s.file, read: () => texts.get(s.file)! } : s));
	memoised.analyze(current(), options.engine);
	for (let step = 0; step < options.steps; step++) {
		const file = editable[Math.floor(rand() * editable.length)];
		texts.set(file, edit(texts.get(file)!, originals.get(file)!, rand));
		const fresh = await Engine.create();
		try {
			expect(comparable(memoised.analyze(current(), options.engine)), `step ${step}, ${file}`).toBe(comparable(fresh.analyze(current(), options.engine)));
		} finally {
			fresh.dispose();
		}
	}
}

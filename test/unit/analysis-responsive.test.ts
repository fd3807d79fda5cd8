// The language server's analysis does not hold the thread (issue 19, part 3): it
// runs in slices that give the event loop a turn between the functions of one
// file, so a hover is answered from the last result while a long analysis of a
// large file runs; and a newer edit cancels the older analysis, whose result is
// never published. Observed through the scheduler's events, not through timing.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URI } from 'vscode-uri';
import { describe, expect, it } from 'vitest';
import type { EngineResult } from '../../server/src/analysis/engine';
import { parseSettings } from '../../server/src/config';
import { hover } from '../../server/src/features/hover';
import type { AnalysisEvent } from '../../server/src/workspace/scheduler';
import { Workspace } from '../../server/src/workspace/workspace';
import { engine } from '../helpers';

const FILE = 'arch/x86/kvm/many.c';
const FUNCTIONS = 40;

const HEADER = `struct gfn_to_pfn_cache {
	unsigned long uhva;
	rwlock_t lock;
	struct mutex refresh_lock;
	void *khva;
	bool active;
	bool valid;
};

bool kvm_gpc_check(struct gfn_to_pfn_cache *gpc, unsigned long len);
int kvm_gpc_refresh(struct gfn_to_pfn_cache *gpc, unsigned long len);
`;

/** A file of FUNCTIONS gpc users; `value` goes into every function, so a new value changes them all. */
function source(value: number, sleeper = false): string {
	const fns = Array.from({ length: FUNCTIONS }, (_, i) => `
void kvm_many_write_${i}(struct kvm_vcpu *vcpu, struct gfn_to_pfn_cache *gpc)
{
	unsigned long flags;

	read_lock_irqsave(&gpc->lock, flags);
	while (!kvm_gpc_check(gpc, sizeof(u64))) {
		read_unlock_irqrestore(&gpc->lock, flags);
		if (kvm_gpc_refresh(gpc, sizeof(u64)))
			return;
		read_lock_irqsave(&gpc->lock, flags);
	}
${sleeper && i === 0 ? '\tmutex_lock(&vcpu->mutex);\n' : ''}	*(u64 *)gpc->khva = ${value + i};
	read_unlock_irqrestore(&gpc->lock, flags);
}
`);
	return HEADER + fns.join('');
}

async function setUp() {
	const root = mkdtempSync(join(tmpdir(), 'gpcscope-responsive-'));
	mkdirSync(join(root, 'arch/x86/kvm'), { recursive: true });
	writeFileSync(join(root, FILE), source(1));
	const events: AnalysisEvent[] = [];
	const published: EngineResult[] = [];
	const listeners: ((event: AnalysisEvent) => void)[] = [];
	const ws = new Workspace(await engine(), {
		results: { touched: () => undefined, closed: () => undefined, clear: () => undefined, analysed: (f) => published.push(f.result) },
		status: () => undefined,
		log: () => undefined,
	}, parseSettings({ diagnostics: { debounceMs: 0 } }).settings, {
		cacheDir: null,
		jobs: 1,
		// A turn at every pause, so that what is observed does not depend on the machine's speed.
		analysisSliceMs: 0,
		onAnalysis: (_root, event) => {
			events.push(event);
			for (const l of listeners) l(event);
		},
	});
	await ws.index(root);
	expect(events).toEqual(['started', 'finished']);
	events.length = 0;
	published.length = 0;
	const uri = URI.file(join(root, FILE)).toString();
	return { ws, uri, events, published, onEvent: (l: (event: AnalysisEvent) => void) => listeners.push(l) };
}

/** Resolves once the scheduler has reported `count` events. */
async function until(events: AnalysisEvent[], count: number): Promise<void> {
	while (events.length < count) await new Promise((resolve) => setImmediate(resolve));
}

describe('the analysis after an edit runs off the request path', () => {
	it('gives the event loop a turn between the functions of one file, and a hover is answered meanwhile', async () => {
		const { ws, uri, events, published, onEvent } = await setUp();
		let turns = 0;
		let hovered: string | undefined;
		onEvent((event) => {
			if (event !== 'started') return;
			const tick = () => {
				if (events.includes('finished')) return;
				turns++;
				if (turns === 1) {
					// A hover request, as the server answers it: the open document's tree and the last result.
					const doc = ws.documentFor(uri)!;
					const { result, file, uriOf } = ws.resultFor(uri);
					const at = doc.text.split('\n').findIndex((l) => l.includes('!kvm_gpc_check('));
					const answer = hover({ tree: doc.tree, file, result: result!, uriOf }, { line: at, character: doc.text.split('\n')[at].indexOf('kvm_gpc_check') + 2 });
					hovered = JSON.stringify(answer?.contents ?? null);
					// Answered before the analysis finished, from the previous result.
					expect(published).toHaveLength(0);
				}
				setImmediate(tick);
			};
			setImmediate(tick);
		});
		// Every function's text changes: each is analysed afresh, in one file.
		ws.open(uri, 1, source(100));
		await until(events, 2);
		expect(events).toEqual(['started', 'finished']);
		expect(hovered).toMatch(/kvm_gpc_check/);
		// At least one turn per function analysed (a file analysed in one piece gives a few).
		expect(turns).toBeGreaterThanOrEqual(FUNCTIONS);
		expect(published).toHaveLength(1);
		expect(published[0].stats.functionsAnalysed).toBe(FUNCTIONS);
		ws.dispose();
	});

	it('a newer edit cancels the running analysis: only the newest text is published', async () => {
		const { ws, uri, events, published, onEvent } = await setUp();
		let edited = false;
		onEvent((event) => {
			if (event !== 'started' || edited) return;
			edited = true;
			// One turn into the analysis of version 1, version 2 arrives: a sleeping call under the lock.
			setImmediate(() => {
				const at = source(100).split('\n').findIndex((l) => l.includes('*(u64 *)gpc->khva = 100;'));
				ws.change(uri, 2, [{ range: { start: { line: at, character: 0 }, end: { line: at, character: 0 } }, text: '\tmutex_lock(&vcpu->mutex);\n' }]);
			});
		});
		ws.open(uri, 1, source(100));
		await until(events, 4);
		expect(events).toEqual(['started', 'cancelled', 'started', 'finished']);
		expect(published).toHaveLength(1);
		expect(ws.documentFor(uri)!.text).toBe(source(100, true));
		expect(published[0].findings.map((f) => `${f.rule}:${f.range.start.line}`)).toContain(
			`gpc-sleep-under-lock:${source(100, true).split('\n').findIndex((l) => l.includes('mutex_lock('))}`,
		);
		ws.dispose();
	});
});

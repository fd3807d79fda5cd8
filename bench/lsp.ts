// The language server half of the benchmark, in its own process so that its
// peak RSS is the server's: index a tree through the in-process server (the
// test client joins them by streams), open xen.c and x86.c, replay one-line
// edits, and time each edit to its publishDiagnostics. Then a second stream of
// edits with a hover sent while each edit's analysis may run (at a seeded delay
// of 0-30 ms after the didChange), timing each hover to its answer.
//   node --expose-gc --import tsx bench/lsp.ts <tree> <edits> <cacheDir|-> [seed]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { URI } from 'vscode-uri';
import { initialize, inProcessClient } from '../test/lsp-client';
import { createCParser } from '../server/src/parse/parser';
import { functionName } from '../server/src/parse/declarations';

const [tree, editsArg, cacheArg, seedArg] = process.argv.slice(2);
const EDITS = Number(editsArg ?? 200);
const FILES = ['arch/x86/kvm/xen.c', 'arch/x86/kvm/x86.c'];
if (cacheArg && cacheArg !== '-') process.env.XDG_CACHE_HOME = cacheArg;

/** Deterministic edits: a mulberry32 stream. */
function random(seed: number): () => number {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const percentile = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const GPC_USE = /\b(kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+|gfn_to_pfn_cache)\b/;
const HOVER_AT = /\b(kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+|read_lock\w*|read_unlock\w*)\s*\(/g;
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

async function main(): Promise<void> {
	const rand = random(Number(seedArg ?? 5));
	// Lines strictly inside function bodies, with the function's name: where a developer types.
	const parser = await createCParser();
	const bodies = new Map<string, { line: number; fn: string }[]>();
	// Where a developer hovers: lines of functions that use a gpc (the hover runs their dataflow).
	const hoverAt = new Map<string, { line: number; character: number }[]>();
	const texts = new Map<string, string>();
	for (const f of FILES) {
		const text = readFileSync(join(tree, f), 'utf8');
		texts.set(f, text);
		const t = parser.parse(text)!;
		const lines: { line: number; fn: string }[] = [];
		for (const fn of t.rootNode.descendantsOfType('function_definition')) {
			const body = fn?.childForFieldName('body');
			if (!fn || !body) continue;
			for (let l = body.startPosition.row + 1; l < body.endPosition.row; l++) lines.push({ line: l, fn: functionName(fn) ?? '?' });
			if (!GPC_USE.test(fn.text)) continue;
			// On the gpc calls and lock calls in them: hovers with content (the API's contract, the lock's state).
			for (const m of fn.text.matchAll(HOVER_AT)) {
				const before = fn.text.slice(0, m.index).split('\n');
				const line = fn.startPosition.row + before.length - 1;
				const character = before.length === 1 ? fn.startPosition.column + m.index! : before[before.length - 1].length;
				hoverAt.set(f, [...(hoverAt.get(f) ?? []), { line, character }]);
			}
		}
		t.delete();
		bodies.set(f, lines);
	}
	parser.delete();

	const client = inProcessClient();
	// No debounce: the latency measured is the server's, not a deliberate delay.
	client.rpc.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => ({ diagnostics: { debounceMs: 0 } })));
	const t0 = performance.now();
	const ready = client.ready(600_000);
	await initialize(client, URI.file(tree).toString());
	await ready;
	const indexMs = performance.now() - t0;
	const rssIndexed = process.memoryUsage().rss;

	const uris = new Map(FILES.map((f) => [f, URI.file(join(tree, f)).toString()]));
	const t1 = performance.now();
	for (const f of FILES) {
		const got = client.diagnostics(uris.get(f)!, true, 600_000);
		client.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri: uris.get(f), languageId: 'c', version: 1, text: texts.get(f) } });
		await got;
	}
	const openMs = performance.now() - t1;
	const initial = new Map<string, unknown>();
	// Baseline diagnostics after opening (settled).
	for (const f of FILES) {
		const got = client.diagnostics(uris.get(f)!, true, 600_000);
		client.rpc.sendNotification('textDocument/didChange', { textDocument: { uri: uris.get(f), version: 2 }, contentChanges: [{ text: texts.get(f) }] });
		initial.set(f, await got);
	}
	(globalThis as { gc?: () => void }).gc?.();
	const rssBefore = process.memoryUsage().rss;
	const memoryBefore = Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, mb(v)]));

	// One edit pair: a declaration line inserted above `line`, then that line deleted.
	const insertThenDelete = (line: number, name: string) => [
		{ range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: `\tint ${name} = 0;\n` },
		{ range: { start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, text: '' },
	];

	// Pairs: insert a declaration line at a random body line, then delete it; the text
	// is the original after every pair, so the final diagnostics must equal the initial.
	const version = new Map(FILES.map((f) => [f, 2]));
	const latencies: { file: string; fn: string; ms: number }[] = [];
	for (let i = 0; i < EDITS; i += 2) {
		const file = FILES[(i / 2) % FILES.length];
		const lines = bodies.get(file)!;
		const at = lines[Math.floor(rand() * lines.length)];
		const uri = uris.get(file)!;
		const steps = insertThenDelete(at.line, `gpcscope_bench_${i}`);
		for (const change of steps.slice(0, Math.min(2, EDITS - i))) {
			const v = version.get(file)! + 1;
			version.set(file, v);
			const got = client.diagnostics(uri, true, 600_000);
			const start = performance.now();
			client.rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version: v }, contentChanges: [change] });
			await got;
			latencies.push({ file, fn: at.fn, ms: performance.now() - start });
		}
	}

	// Hovers during a stream of edits: each edit as above, and a hover in a gpc function of the
	// same file sent 0-30 ms after its didChange (while its analysis may run); the hover is
	// timed to its answer, and the next edit waits for both.
	const hovers: { file: string; ms: number; delayMs: number; answered: boolean }[] = [];
	const HOVER_EDITS = Math.min(EDITS, 100);
	for (let i = 0; i < HOVER_EDITS; i += 2) {
		const file = FILES[(i / 2) % FILES.length];
		const lines = bodies.get(file)!;
		const at = lines[Math.floor(rand() * lines.length)];
		const uri = uris.get(file)!;
		const steps = insertThenDelete(at.line, `gpcscope_hover_${i}`);
		for (const [k, change] of steps.slice(0, Math.min(2, HOVER_EDITS - i)).entries()) {
			const v = version.get(file)! + 1;
			version.set(file, v);
			const targets = hoverAt.get(file) ?? [{ line: at.line, character: 1 }];
			const target = targets[Math.floor(rand() * targets.length)];
			// After the insertion (k = 0) the lines below it moved down by one.
			const position = { line: target.line + (k === 0 && target.line >= at.line ? 1 : 0), character: target.character };
			const delayMs = Math.floor(rand() * 31);
			const got = client.diagnostics(uri, true, 600_000);
			client.rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version: v }, contentChanges: [change] });
			await new Promise((resolve) => setTimeout(resolve, delayMs));
			const start = performance.now();
			const answer = await client.rpc.sendRequest('textDocument/hover', { textDocument: { uri }, position });
			hovers.push({ file, ms: performance.now() - start, delayMs, answered: answer !== null });
			await got;
		}
	}

	(globalThis as { gc?: () => void }).gc?.();
	const rssAfter = process.memoryUsage().rss;
	const memoryAfter = Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, mb(v)]));

	// Correctness: back at the original text, the diagnostics are the initial ones.
	const final = new Map<string, unknown>();
	for (const f of FILES) {
		const got = client.diagnostics(uris.get(f)!, true, 600_000);
		client.rpc.sendNotification('textDocument/didChange', { textDocument: { uri: uris.get(f), version: version.get(f)! + 1 }, contentChanges: [{ text: texts.get(f) }] });
		final.set(f, await got);
	}
	const consistent = FILES.every((f) => JSON.stringify(final.get(f)) === JSON.stringify(initial.get(f)));
	await client.close();

	const ms = latencies.map((l) => l.ms);
	const byFile = Object.fromEntries(FILES.map((f) => {
		const xs = latencies.filter((l) => l.file === f).map((l) => l.ms);
		return [f, { edits: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), max: Math.max(...xs) }];
	}));
	process.stdout.write(JSON.stringify({
		indexMs: Math.round(indexMs),
		openMs: Math.round(openMs),
		edits: latencies.length,
		p50: percentile(ms, 50),
		p95: percentile(ms, 95),
		max: Math.max(...ms),
		byFile,
		under50: ms.filter((x) => x <= 50).length,
		hover: hovers.length ? {
			requests: hovers.length,
			p50: percentile(hovers.map((h) => h.ms), 50),
			p95: percentile(hovers.map((h) => h.ms), 95),
			max: Math.max(...hovers.map((h) => h.ms)),
			withContent: hovers.filter((h) => h.answered).length,
			slowest: [...hovers].sort((a, b) => b.ms - a.ms).slice(0, 5),
		} : undefined,
		rssIndexedMB: mb(rssIndexed),
		rssBeforeEditsMB: mb(rssBefore),
		rssAfterEditsMB: mb(rssAfter),
		peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
		consistent,
		memoryBefore,
		memoryAfter,
		slowest: [...latencies].sort((a, b) => b.ms - a.ms).slice(0, 5),
	}) + '\n');
	process.exit(0);
}

main().catch((e) => {
	process.stderr.write(`${(e as Error).stack ?? e}\n`);
	process.exit(1);
});

// Native tree-sitter (the node binding) against web-tree-sitter on the files a
// check parses: parse and pass-1 facts, CPU time, same facts required.
//   node --import tsx bench/parsers.ts <tree> <native-node_modules>
import { join } from 'node:path';
import { extractFacts } from '../server/src/analysis/facts';
import { indexTree } from '../server/src/index/indexer';
import { createCParser } from '../server/src/parse/parser';

const [tree, nativeModules] = process.argv.slice(2);
const ROUNDS = 3;

const cpu = () => {
	const u = process.cpuUsage();
	return (u.user + u.system) / 1000;
};

interface AnyParser {
	parse(text: string, old?: unknown, options?: unknown): { rootNode: unknown; delete?(): void } | null;
}

function measure(parser: AnyParser, texts: { file: string; text: string }[], options?: unknown) {
	let parse = 0;
	let facts = 0;
	const out: string[] = [];
	for (const t of texts) {
		const a = cpu();
		const tree = parser.parse(t.text, null, options)!;
		const b = cpu();
		out.push(JSON.stringify(extractFacts(t.file, tree as never)));
		facts += cpu() - b;
		parse += b - a;
		tree.delete?.();
	}
	return { parse, facts, digest: out.join('\n') };
}

async function main(): Promise<void> {
	const texts = (await indexTree(tree, { jobs: 1 })).sources.map((s) => ({ file: s.file, text: s.read() }));
	const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t.text), 0);
	// Both parse the text as it is: the kernel normalisation (parse/normalise.ts) is gpcscope's own
	// step before either parser, and the native binding has no hook to read the original text.
	const wasm = await createCParser({ raw: true });
	let native: AnyParser | undefined;
	let nativeError: string | undefined;
	try {
		const NativeParser = require(join(nativeModules, 'tree-sitter'));
		const C = require(join(nativeModules, 'tree-sitter-c'));
		native = new NativeParser() as AnyParser;
		(native as unknown as { setLanguage(l: unknown): void }).setLanguage(C);
	} catch (e) {
		nativeError = (e as Error).message;
	}
	const best = { wasm: { parse: Infinity, facts: Infinity }, native: { parse: Infinity, facts: Infinity } };
	let sameFacts: boolean | undefined;
	// The first round warms the JIT (and the wasm tier-up); the best of the rest counts.
	for (let round = 0; round <= ROUNDS; round++) {
		const w = measure(wasm as unknown as AnyParser, texts);
		if (round) best.wasm = { parse: Math.min(best.wasm.parse, w.parse), facts: Math.min(best.wasm.facts, w.facts) };
		if (native) {
			const n = measure(native, texts, { bufferSize: 1 << 22 });
			if (round) best.native = { parse: Math.min(best.native.parse, n.parse), facts: Math.min(best.native.facts, n.facts) };
			sameFacts = n.digest === w.digest;
		}
	}
	const round = (x: number) => (Number.isFinite(x) ? Math.round(x) : null);
	process.stdout.write(JSON.stringify({
		files: texts.length,
		bytes,
		wasm: { parseMs: round(best.wasm.parse), factsMs: round(best.wasm.facts) },
		native: native ? { parseMs: round(best.native.parse), factsMs: round(best.native.facts) } : null,
		nativeError,
		sameFacts,
	}) + '\n');
}

main().catch((e) => {
	process.stderr.write(`${(e as Error).stack ?? e}\n`);
	process.exit(1);
});

// How much of the files that matter tree-sitter cannot parse: for each tree, the files
// of a check's parsed set with the most gpc call sites (calls of the gpc API and of the
// functions that use a gpc), the share of their lines under an ERROR node, and the lines
// of top-level declarations holding an error (an edit there costs a whole-file parse).
//   node --import tsx bench/errors.ts <tree> [files=10] [--raw] [--causes] [--json]
// --raw: tree-sitter on the text as it is, without the kernel normalisation (parse/normalise.ts).
import { extractFacts } from '../server/src/analysis/facts';
import { indexTree } from '../server/src/index/indexer';
import { createCParser, type SyntaxNode, type Tree } from '../server/src/parse/parser';

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const [tree, countArg] = args.filter((a) => !a.startsWith('--'));
const COUNT = Number(countArg ?? 10);

interface Measured {
	file: string;
	lines: number;
	callSites: number;
	errorLines: number;
	errorDeclLines: number;
	errors: { line: number; endLine: number; text: string }[];
}

function errorLines(root: SyntaxNode): { rows: Set<number>; errors: SyntaxNode[] } {
	const rows = new Set<number>();
	const errors: SyntaxNode[] = [];
	const visit = (n: SyntaxNode): void => {
		if (n.type === 'ERROR' || n.isMissing) {
			errors.push(n);
			for (let r = n.startPosition.row; r <= n.endPosition.row; r++) rows.add(r);
			return;
		}
		for (const c of n.children) if (c?.hasError) visit(c);
	};
	if (root.hasError) visit(root);
	return { rows, errors };
}

/** Lines of top-level declarations holding an error (inside top-level #if groups, such as a header's guard, their items). */
function declarationErrorLines(root: SyntaxNode): number {
	let n = 0;
	const visit = (parent: SyntaxNode): void => {
		for (const c of parent.children) {
			if (!c?.hasError) continue;
			if (/^preproc_(if|ifdef|else|elif|elifdef)$/.test(c.type) && c.type !== 'ERROR') visit(c);
			else n += c.endPosition.row - c.startPosition.row + 1;
		}
	};
	visit(root);
	return n;
}

async function main(): Promise<void> {
	// The files are ranked on the raw parse, so that both measurements name the same files.
	const rawParser = await createCParser({ raw: true });
	const parser = flags.has('--raw') ? rawParser : await createCParser();
	const rawParse = (text: string): Tree => rawParser.parse(text)!;
	const parse = (text: string): Tree => parser.parse(text)!;
	const sources = (await indexTree(tree, { jobs: 1 })).sources.map((s) => ({ file: s.file, text: s.read() }));
	const facts = sources.map((s) => {
		const t = rawParse(s.text);
		try {
			return extractFacts(s.file, t);
		} finally {
			t.delete();
		}
	});
	const users = new Set(facts.flatMap((f) => f.functions.filter((fn) => fn.usesGpc).map((fn) => fn.name)));
	const sites = facts.map((f) => f.apiCalls.length + f.functions.reduce((n, fn) => n + fn.callees.filter((c) => users.has(c)).length, 0));
	const ranked = sources.map((s, i) => ({ ...s, callSites: sites[i] })).sort((a, b) => b.callSites - a.callSites || b.text.length - a.text.length).slice(0, COUNT);
	const out: Measured[] = [];
	for (const s of ranked) {
		const t = parse(s.text);
		const { rows, errors } = errorLines(t.rootNode);
		const lines = s.text.split('\n');
		out.push({
			file: s.file,
			lines: lines.length,
			callSites: s.callSites,
			errorLines: rows.size,
			errorDeclLines: declarationErrorLines(t.rootNode),
			errors: errors.map((e) => ({ line: e.startPosition.row + 1, endLine: e.endPosition.row + 1, text: lines[e.startPosition.row].trim().slice(0, 100) })),
		});
		t.delete();
	}
	for (const m of out) {
		const pct = (x: number) => `${((100 * x) / m.lines).toFixed(1)}%`;
		console.log(`${m.file}\t${m.callSites} sites\t${m.lines} lines\tERROR ${m.errorLines} (${pct(m.errorLines)})\tdecls with errors ${m.errorDeclLines} (${pct(m.errorDeclLines)})\t${m.errors.length} error nodes`);
		if (flags.has('--causes')) for (const e of m.errors) console.log(`    ${e.line}-${e.endLine}: ${e.text}`);
	}
	const sum = (k: 'lines' | 'errorLines' | 'errorDeclLines') => out.reduce((n, m) => n + m[k], 0);
	console.log(`total\t${sum('lines')} lines\tERROR ${sum('errorLines')} (${((100 * sum('errorLines')) / sum('lines')).toFixed(1)}%)\tdecls ${sum('errorDeclLines')}`);
	if (flags.has('--json')) console.log(JSON.stringify(out.map(({ errors, ...m }) => ({ ...m, errorNodes: errors.length }))));
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});

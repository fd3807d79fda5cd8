// The import graph of server/src and client/src, from the import statements
// themselves: every file imports only from its own layer or the layers below it
// (docs/ARCHITECTURE.md), the extension only the protocol, and no two files import
// each other's values in a circle (type-only imports may: they vanish at build).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers';

/** Layers, lowest first; a file belongs to the first whose pattern matches its path under server/src. */
const LAYERS: [name: string, pattern: RegExp][] = [
	['protocol and shared data', /^(protocol|catalogue|vocabulary|version|packageRoot)\.ts$/],
	['parse', /^parse\//],
	['analysis', /^(analysis|usage)\//],
	['index', /^(index|report)\/|^config\.ts$/],
	['workspace', /^workspace\//],
	['front ends', /^(features|review|simulator)\/|^(kbuild|fix|findingFix)\.ts$/],
	['entry points', /^(server|serverMain|cli)\.ts$/],
];

interface Import {
	from: string;
	to: string;
	typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
	});
}

function importsOf(file: string): Import[] {
	const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
	const out: Import[] = [];
	for (const statement of source.statements) {
		if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) || !statement.moduleSpecifier) continue;
		const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
		if (!specifier.startsWith('.')) continue;
		let typeOnly: boolean;
		if (ts.isImportDeclaration(statement)) {
			const clause = statement.importClause;
			const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
			typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named?.length && named.every((e) => e.isTypeOnly)));
		} else {
			const named = statement.exportClause && ts.isNamedExports(statement.exportClause) ? statement.exportClause.elements : undefined;
			typeOnly = statement.isTypeOnly || (!!named?.length && named.every((e) => e.isTypeOnly));
		}
		const target = resolve(dirname(file), specifier);
		const to = [`${target}.ts`, join(target, 'index.ts'), target].find((p) => { try { return statSync(p).isFile(); } catch { return false; } }) ?? target;
		out.push({ from: relative(REPO, file), to: relative(REPO, to), typeOnly });
	}
	return out;
}

const files = [...sourceFiles(join(REPO, 'server', 'src')), ...sourceFiles(join(REPO, 'client', 'src'))];
const imports = files.flatMap(importsOf);

function layerOf(file: string): number {
	const rel = file.replace(/^server\/src\//, '');
	return LAYERS.findIndex(([, pattern]) => pattern.test(rel));
}

describe('the import graph', () => {
	it('places every server file in a layer', () => {
		expect(files.map((f) => relative(REPO, f)).filter((f) => f.startsWith('server/') && layerOf(f) < 0)).toEqual([]);
	});

	it('imports only from the same layer or below', () => {
		const upward = imports
			.filter((i) => i.from.startsWith('server/') && i.to.startsWith('server/') && layerOf(i.to) > layerOf(i.from))
			.map((i) => `${i.from} (${LAYERS[layerOf(i.from)][0]}) imports ${i.to} (${LAYERS[layerOf(i.to)][0]})`);
		expect(upward).toEqual([]);
	});

	it('lets the extension import only server/src/protocol.ts', () => {
		const client = imports.filter((i) => i.from.startsWith('client/') && !i.to.startsWith('client/')).map((i) => i.to);
		expect(new Set(client)).toEqual(new Set(['server/src/protocol.ts']));
		expect(imports.filter((i) => i.from.startsWith('server/') && i.to.startsWith('client/'))).toEqual([]);
	});

	it('has no circle of value imports', () => {
		const edges = new Map<string, string[]>();
		for (const i of imports) if (!i.typeOnly) edges.set(i.from, [...(edges.get(i.from) ?? []), i.to]);
		// Tarjan's strongly connected components: any with two files or more is a circle.
		const index = new Map<string, number>();
		const low = new Map<string, number>();
		const stack: string[] = [];
		const circles: string[][] = [];
		const visit = (v: string) => {
			index.set(v, index.size);
			low.set(v, index.get(v)!);
			stack.push(v);
			for (const w of edges.get(v) ?? []) {
				if (!index.has(w)) {
					visit(w);
					low.set(v, Math.min(low.get(v)!, low.get(w)!));
				} else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
			}
			if (low.get(v) === index.get(v)) {
				const component: string[] = [];
				let w: string;
				do {
					w = stack.pop()!;
					component.push(w);
				} while (w !== v);
				if (component.length > 1) circles.push(component.sort());
			}
		};
		for (const f of files.map((p) => relative(REPO, p))) if (!index.has(f)) visit(f);
		expect(circles).toEqual([]);
	});

	it('finds the imports it checks (the parser above is not blind)', () => {
		expect(imports.length).toBeGreaterThan(300);
		expect(imports).toContainEqual({ from: 'server/src/analysis/engine.ts', to: 'server/src/analysis/facts.ts', typeOnly: false });
		expect(imports).toContainEqual({ from: 'client/src/commands.ts', to: 'server/src/protocol.ts', typeOnly: false });
	});
});

describe('parsing', () => {
	// Every front end (check, the language server's documents and disk trees, the index's
	// workers, review, kbuild, fix, simulate --from) parses through the kernel normalisation
	// (parse/normalise.ts), which createCParser() puts under parse(): a parser made anywhere
	// else, or a raw one, would read the kernel's macro shapes as errors again.
	const server = files.filter((f) => relative(REPO, f).startsWith('server/'));
	const where = (pattern: RegExp) => server.filter((f) => pattern.test(readFileSync(f, 'utf8'))).map((f) => relative(REPO, f));

	it('makes parsers only in parse/parser.ts, and none raw', () => {
		expect(where(/\bnew\s+Parser\s*\(|\.setLanguage\s*\(/)).toEqual(['server/src/parse/parser.ts']);
		expect(where(/createCParser\s*\(\s*\{/)).toEqual([]);
	});
});

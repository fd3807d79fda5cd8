#!/usr/bin/env node
// `gpcscope` on the command line: the same engine as the language server.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { API_ERAS, type ApiEra } from './analysis/api';
import { Engine, type SourceFile } from './analysis/engine';
import { RULES } from './analysis/rules';
import { RULE_IDS, type RuleId } from './analysis/rules/types';
import { scanTree, type SkippedFile } from './index/scan';
import { startServer } from './server';
import { runSimulateCommand, type SimulateArgs } from './simulator/command';
import { simulateFromSource } from './simulator/fromSourceCommand';
import { packageRoot } from './packageRoot';
import { formatJson } from './report/json';
import { formatSarif } from './report/sarif';
import { formatText } from './report/text';
import { VERSION } from './version';

/** Exit codes of DESIGN.md §6. */
const EXIT_CLEAN = 0;
const EXIT_FINDINGS = 1;
const EXIT_BAD_INPUT = 2;

class UsageError extends Error {}

const ruleId = (value: string, previous: RuleId[] = []): RuleId[] => {
	if (!(RULE_IDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`unknown rule; known rules: ${RULE_IDS.join(', ')}`);
	return [...previous, value as RuleId];
};
const positiveInt = (value: string): number => {
	const n = Number(value);
	if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
	return n;
};

interface CheckOptions {
	format: 'text' | 'json' | 'sarif';
	rule?: RuleId[];
	jobs?: number;
	apiEra?: ApiEra;
	allFiles?: boolean;
	quiet?: boolean;
}

async function check(paths: string[], options: CheckOptions): Promise<number> {
	for (const p of paths) if (!existsSync(p)) throw new UsageError(`${p}: no such file or directory`);
	// Paths in reports are relative to the single path argument (DESIGN.md §6), or to the cwd.
	const single = paths.length === 1 ? resolve(paths[0]) : undefined;
	const sources: SourceFile[] = [];
	const skipped: SkippedFile[] = [];
	let scanned = 0;
	let root = process.cwd();
	for (const p of paths) {
		const scan = scanTree(p, { allFiles: options.allFiles });
		scanned += scan.scanned;
		if (single) root = scan.root;
		const prefix = single ? '' : relative(process.cwd(), scan.root).split('\\').join('/');
		const rebase = (file: string) => (prefix ? `${prefix}/${file}` : file);
		for (const s of scan.sources) sources.push({ file: rebase(s.file), read: s.read });
		for (const s of scan.skipped) skipped.push({ file: rebase(s.file), reason: s.reason });
	}
	for (const s of skipped) process.stderr.write(`gpcscope: skipped ${s.file}: ${s.reason}\n`);

	const engine = await Engine.create();
	let result;
	try {
		result = engine.analyze(sources, { era: options.apiEra, rules: options.rule ? new Set(options.rule) : undefined });
	} finally {
		engine.dispose();
	}
	const stats = {
		filesScanned: scanned,
		filesParsed: sources.length,
		filesSkipped: skipped.length,
		filesAnalysed: result.stats.filesAnalysed,
		functionsAnalysed: result.stats.functionsAnalysed,
		unparsedRegions: result.stats.unparsedRegions,
		apiCallSites: result.stats.apiCallSites,
		apiCallSitesAnalysed: result.stats.apiCallSitesAnalysed,
		findingsSuppressed: result.stats.findingsSuppressed,
		jobs: 1,
		ms: result.stats.ms,
	};
	if (options.format === 'json') process.stdout.write(formatJson(root, result, stats));
	else if (options.format === 'sarif') {
		const lineText = (file: string, line: number) => {
			try {
				return readFileSync(join(root, file), 'utf8').split('\n')[line] ?? '';
			} catch {
				return '';
			}
		};
		process.stdout.write(formatSarif(result.findings, VERSION, lineText));
	} else {
		process.stdout.write(formatText(result.findings));
		if (!options.quiet) {
			process.stderr.write(
				`gpcscope: ${scanned} files scanned, ${sources.length} parsed, ${stats.functionsAnalysed} functions analysed, ` +
					`${result.findings.length} findings, API era ${result.era.era} (${result.era.evidence}), ${(stats.ms / 1000).toFixed(2)} s\n`,
			);
		}
	}
	const serious = result.findings.some((f) => f.severity === 'error' || f.severity === 'warning');
	return serious ? EXIT_FINDINGS : EXIT_CLEAN;
}

function notYet(capability: string): never {
	process.stderr.write(`gpcscope: ${capability} is not implemented in this version yet.\n`);
	process.exit(EXIT_BAD_INPUT);
}

export function buildProgram(): Command {
	const program = new Command('gpcscope')
		.description('Checks the Linux kernel\'s KVM gfn→pfn cache (gpc) locking and lifetime contract.')
		.version(VERSION)
		.showHelpAfterError()
		.exitOverride();

	program
		.command('check')
		.description('analyse C sources (a kernel tree, a directory or files) and report gpc findings')
		.argument('<path...>', 'kernel tree, directory or file')
		.addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
		.option('-r, --rule <id>', 'run only this rule (repeatable)', ruleId)
		.option('-j, --jobs <n>', 'parallel workers', positiveInt)
		.addOption(new Option('--api-era <era>', 'override the API era detected from the tree').choices([...API_ERAS]))
		.option('--all-files', 'analyse every .c/.h, not only files that mention the gpc API')
		.option('-q, --quiet', 'no summary line on stderr')
		.action(async (paths: string[], options: CheckOptions) => {
			process.exitCode = await check(paths, options);
		});

	program
		.command('fix')
		.description('rewrite the tree to remove a rule\'s findings (gpc-dead-usage-flag)')
		.requiredOption('-r, --rule <id>', 'the rule whose fix to apply', (v) => ruleId(v)[0])
		.option('--dry-run', 'print a unified diff instead of writing')
		.argument('<tree>', 'kernel tree')
		.action(() => notYet('`gpcscope fix` (the dead usage flag rewrite)'));

	program
		.command('simulate')
		.description('explore interleavings of gpc refresh, invalidation and readers')
		.option('--variant <name>', 'algorithm variant')
		.option('--scenario <name>', 'workload scenario')
		.option('--from <file:line>', 'take the reader from the function at this line')
		.option('--matrix', 'run every scenario against every variant')
		.option('--emit-promela', 'print the model as Promela (for Spin) instead of exploring it')
		.addOption(new Option('-f, --format <format>').choices(['text', 'json']).default('text'))
		.action(async (options: SimulateArgs & { from?: string }) => {
			const out = (s: string) => process.stdout.write(s);
			process.exitCode = options.from
				? await simulateFromSource({ ...options, from: options.from }, out, (s) => process.stderr.write(s))
				: runSimulateCommand(options, out);
		});

	program
		.command('explain')
		.description('print a rule\'s documentation')
		.argument('<rule>', 'rule id', (v) => ruleId(v)[0])
		.action((rule: RuleId) => {
			process.stdout.write(readFileSync(join(packageRoot(), 'docs', 'rules', `${rule}.md`), 'utf8'));
		});

	program
		.command('rules')
		.description('list the rules with their default severity')
		.action(() => {
			for (const r of RULES.values()) process.stdout.write(`${r.id.padEnd(26)} ${r.severity.padEnd(8)} ${r.summary}\n`);
		});

	program
		.command('lsp')
		.description('run the language server (for any LSP editor)')
		.option('--stdio', 'talk LSP over stdin/stdout (default)')
		.option('--node-ipc', 'talk LSP over Node IPC (VS Code)')
		.option('--socket <port>', 'talk LSP over a socket')
		.action(() => {
			// vscode-languageserver reads the transport from process.argv itself.
			if (!process.argv.some((a) => a === '--stdio' || a === '--node-ipc' || a.startsWith('--socket'))) process.argv.push('--stdio');
			startServer();
		});
	return program;
}

export async function main(argv: string[]): Promise<number> {
	const program = buildProgram();
	try {
		await program.parseAsync(argv);
		return typeof process.exitCode === 'number' ? process.exitCode : EXIT_CLEAN;
	} catch (e) {
		const err = e as { code?: string; exitCode?: number; message?: string };
		if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_CLEAN;
		if (err.code?.startsWith('commander.')) return EXIT_BAD_INPUT;
		if (e instanceof UsageError) {
			process.stderr.write(`gpcscope: ${e.message}\n`);
			return EXIT_BAD_INPUT;
		}
		process.stderr.write(`gpcscope: internal error: ${(e as Error).stack ?? e}\n`);
		return EXIT_BAD_INPUT;
	}
}

if (require.main === module) {
	main(process.argv).then((code) => {
		process.exitCode = code;
	});
}

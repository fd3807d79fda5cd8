#!/usr/bin/env -S node --max-semi-space-size=4
// `gpcscope` on the command line: the same engine as the language server.
import { plural } from './report/plural';
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { checkRoot } from './index/root';
import { API_ERAS, type ApiEra } from './analysis/api';
import { Engine, type EngineResult } from './analysis/engine';
import { UNPARSED_CODE, type UnparsedNotice } from './analysis/findings';
import { IMPLEMENTED_RULES } from './analysis/rules';
import { RULE_IDS, ruleInfo, type RuleId } from './catalogue';
import { checkTrees, type TreeCheck } from './index/check';
import { defaultJobs } from './index/pool';
import { helperCount, prestartHelpers } from './index/signatures';
import { ProgressBar } from './index/progress';
import type { SimulateArgs } from './simulator/command';
import { packageRoot } from './packageRoot';
import { formatJson } from './report/json';
import { cachedLineText } from './report/fingerprint';
import { formatSarif } from './report/sarif';
import { formatText } from './report/text';
import type { ReviewCommandOptions } from './review';
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
	fileBudget?: number;
	/** false with --no-cache. */
	cache?: boolean;
	quiet?: boolean;
	/** Also list what was not searched (files over the size limit). */
	verbose?: boolean;
	/** Report only findings not in this earlier SARIF or JSON report. */
	baseline?: string;
	/** Report only findings the working tree adds over git HEAD. */
	newOnly?: boolean;
	/** rwlock_t sleeps, as on PREEMPT_RT: enables gpc-lock-in-hardirq. */
	preemptRt?: boolean;
}

async function check(paths: string[], options: CheckOptions): Promise<number> {
	for (const p of paths) if (!existsSync(p)) throw new UsageError(`${p}: no such file or directory`);
	// A warm cache's files are stat()ed on helper threads too: started now, they are ready when it is loaded.
	if (options.cache !== false) prestartHelpers(helperCount(options.jobs ?? defaultJobs()));
	// One file of a kernel tree is checked as kbuild checks it: the whole tree is analysed (the
	// tree-wide rules need its callers and teardown), that file's findings are reported.
	let only: string | undefined;
	let gitignore: boolean | undefined;
	if (paths.length === 1) {
		const file = statSync(paths[0]).isFile();
		const r = checkRoot(paths[0], { stay: !file });
		if (file && r.kernel) {
			only = relative(r.root, realpathSync(paths[0])).split(sep).join('/');
			paths = [r.root];
		}
		if (r.ignoreGitignore) gitignore = false;
		if (!options.quiet) for (const w of r.warnings) process.stderr.write(`gpcscope: warning: ${w}\n`);
	}
	// Paths in reports are relative to the single path argument (DESIGN.md §6), or to the cwd.
	const progress = ProgressBar.forStderr(!options.quiet);
	// Created only if something must be parsed or analysed: a warm check of an unchanged tree needs no parser.
	let engine: Promise<Engine> | undefined;
	let checked;
	try {
		checked = await checkTrees(() => (engine ??= Engine.create()), paths, {
			allFiles: options.allFiles,
			gitignore,
			jobs: options.jobs,
			cache: options.cache,
			engine: { era: options.apiEra, rules: options.rule ? new Set(options.rule) : undefined, fileBudgetMs: options.fileBudget, preemptRt: options.preemptRt },
			progress,
			log: (m) => process.stderr.write(`gpcscope: ${m}\n`),
		});
	} finally {
		progress?.done();
		(await engine?.catch(() => undefined))?.dispose();
	}
	const { root, result: tree, skipped } = checked;
	let result = only ? { ...tree, findings: tree.findings.filter((f) => f.file === only) } : tree;
	if (options.baseline || options.newOnly) {
		const { applyBaseline, ReviewError } = await import('./review/index.js');
		const lineText = cachedLineText((f) => readFileSync(join(root, f), 'utf8'));
		try {
			const r = await applyBaseline(result, root, lineText, { baseline: options.baseline, era: options.apiEra, rules: options.rule ? new Set(options.rule) : undefined });
			result = { ...result, findings: r.fresh };
			if (!options.quiet) process.stderr.write(`gpcscope: ${plural(r.known.length, 'finding')} already in ${r.source} not reported\n`);
		} catch (e) {
			if (e instanceof ReviewError) throw new UsageError(e.message);
			throw e;
		}
	}
	// Generated headers over the size limit (a kernel tree always has some) are one line with
	// --verbose; anything else skipped is listed, always.
	const large = skipped.filter((s) => s.reason.startsWith('larger than'));
	for (const s of skipped) if (!large.includes(s)) process.stderr.write(`gpcscope: skipped ${s.file}: ${s.reason}\n`);
	if (large.length && options.verbose && !options.quiet) process.stderr.write(`gpcscope: skipped ${plural(large.length, 'file')} over the size limit, not searched (e.g. ${large[0].file}: ${large[0].reason})\n`);
	for (const s of result.skipped) process.stderr.write(`gpcscope: skipped ${s.file}: ${s.reason}\n`);
	if (result.unparsed.length && !options.quiet) process.stderr.write(`gpcscope: ${unparsedSummary(result.unparsed)}\n`);
	const stats = {
		filesScanned: checked.stats.filesScanned,
		filesParsed: checked.stats.filesIndexed,
		filesParsedNow: checked.stats.filesParsedNow,
		factsFromCache: checked.stats.factsFromCache,
		resultFromCache: checked.stats.resultFromCache ? 1 : 0,
		cache: checked.stats.cache,
		filesSkipped: skipped.length,
		analysisSkipped: result.skipped.length,
		filesAnalysed: result.stats.filesAnalysed,
		functionsAnalysed: result.stats.functionsAnalysed,
		unparsedRegions: result.stats.unparsedRegions,
		unparsedGpcFiles: result.unparsed.length,
		unparsedGpcFunctions: result.unparsed.reduce((n, u) => n + u.functions.length, 0),
		apiCallSites: result.stats.apiCallSites,
		apiCallSitesAnalysed: result.stats.apiCallSitesAnalysed,
		findingsSuppressed: result.stats.findingsSuppressed,
		jobs: checked.stats.jobs,
		indexMs: checked.stats.indexMs,
		ms: checked.stats.ms,
	};
	// A cached result has no facts or knowledge: the reports read only the era and the findings.
	if (options.format === 'json') process.stdout.write(formatJson(root, result as EngineResult, stats));
	else if (options.format === 'sarif') {
		const lineText = (file: string, line: number) => {
			try {
				return readFileSync(join(root, file), 'utf8').split('\n')[line] ?? '';
			} catch {
				return '';
			}
		};
		process.stdout.write(formatSarif(result.findings, VERSION, lineText, { notices: result.unparsed }));
	} else {
		process.stdout.write(formatText(result.findings));
		if (!options.quiet) {
			process.stderr.write(
				`gpcscope: ${plural(stats.filesScanned, 'file')} scanned, ${stats.filesParsed} parsed, ${plural(stats.functionsAnalysed, 'function')} analysed, ` +
					`${plural(result.findings.length, 'finding')}${only ? ` in ${only}` : ''}, API era ${result.era.era} (${result.era.evidence}), ${(stats.ms / 1000).toFixed(2)} s` +
					` [cache: ${cacheSummary(checked.stats)}; ${stats.jobs} thread${stats.jobs > 1 ? 's' : ''}]\n`,
			);
		}
	}
	const serious = result.findings.some((f) => f.severity === 'error' || f.severity === 'warning');
	return serious ? EXIT_FINDINGS : EXIT_CLEAN;
}

/** One line for every file whose gpc code tree-sitter could not (all) parse: silence there is not a clean bill. */
function unparsedSummary(notices: readonly UnparsedNotice[]): string {
	const MAX_FILES = 6;
	const files = notices.slice(0, MAX_FILES).map((n) => `${n.file} (${n.functions.map((f) => f.name).join(', ')})`);
	const more = notices.length > MAX_FILES ? `, and ${notices.length - MAX_FILES} more files` : '';
	return `gpc code tree-sitter could not parse, not analysed there [${UNPARSED_CODE}]: ${files.join('; ')}${more}`;
}

function cacheSummary(s: TreeCheck['stats']): string {
	if (s.cache === 'off') return 'off';
	if (s.resultFromCache) return `${s.cache}, result reused`;
	return `${s.cache}, ${plural(s.filesParsedNow, 'file')} parsed, ${s.factsFromCache} from cache`;
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
		.option('-j, --jobs <n>', 'threads for scanning and parsing (default: the number of cores; 1: no workers)', positiveInt)
		.addOption(new Option('--api-era <era>', 'override the API era detected from the tree').choices([...API_ERAS]))
		.option('--all-files', 'analyse every .c/.h, not only files that mention the gpc API')
		.option('--no-cache', 'neither read nor write the index cache ($XDG_CACHE_HOME/gpcscope)')
		.option('--file-budget <ms>', 'time budget per file and pass; a file over it is skipped with a reason (default 20000)', positiveInt)
		.option('-q, --quiet', 'no summary line on stderr')
		.option('-v, --verbose', 'also say which files were not searched (over the size limit: generated headers)')
		.option('--baseline <file>', 'report only findings not in this earlier SARIF or JSON report')
		.option('--new-only', 'report only findings the working tree adds over git HEAD')
		.option('--preempt-rt', 'rwlock_t sleeps, as on PREEMPT_RT kernels: report gpc locks reachable from hard-IRQ context (gpc-lock-in-hardirq)')
		.action(async (paths: string[], options: CheckOptions) => {
			process.exitCode = await check(paths, options);
		});

	program
		.command('fix')
		.description('rewrite the tree to remove a rule\'s findings (gpc-dead-usage-flag, gpc-lock-in-sched-out)')
		.requiredOption('-r, --rule <id>', 'the rule whose fix to apply', (v) => ruleId(v)[0])
		.option('--dry-run', 'print a unified diff instead of writing')
		.argument('<tree>', 'kernel tree')
		.action(async (tree: string, options: { rule: RuleId; dryRun?: boolean }) => {
			const [{ fixCommand }, { FINDING_FIX_RULES, findingFixCommand }] = await Promise.all([import('./fix.js'), import('./findingFix.js')]);
			process.exitCode = FINDING_FIX_RULES.has(options.rule)
				? await findingFixCommand(tree, options, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) })
				: await fixCommand(tree, options);
		});

	program
		.command('simulate')
		.description('explore interleavings of gpc refresh, invalidation and readers')
		.option('--variant <name>', 'algorithm variant')
		.option('--scenario <name>', 'workload scenario')
		.option('--from <file:line>', 'simulate the function at this line, in each of its calling contexts')
		.option('--context <kind>', 'with --from: only the calling contexts of this kind (process, sched-out, atomic, hardirq)')
		.option('--matrix', 'run every scenario against every variant')
		.option('--emit-promela', 'print the model as Promela (for Spin) instead of exploring it')
		.addOption(new Option('-f, --format <format>').choices(['text', 'json']).default('text'))
		.action(async (options: SimulateArgs & { from?: string; context?: string }) => {
			const out = (s: string) => process.stdout.write(s);
			const [{ runSimulateCommand }, { simulateFromSource }] = await Promise.all([import('./simulator/command.js'), import('./simulator/fromSourceCommand.js')]);
			process.exitCode = options.from
				? await simulateFromSource({ ...options, from: options.from }, out, (s) => process.stderr.write(s))
				: runSimulateCommand(options, out);
		});

	program
		.command('explain')
		.description('print a rule\'s documentation')
		.argument('<rule>', 'rule id', (v) => ruleId(v)[0])
		.action((rule: RuleId) => {
			process.stdout.write(readFileSync(join(packageRoot(), ruleInfo(rule).doc), 'utf8'));
		});

	program
		.command('rules')
		.description('list the rules with their default severity')
		.action(() => {
			for (const r of [...IMPLEMENTED_RULES].map(ruleInfo)) process.stdout.write(`${r.id.padEnd(26)} ${r.severity.padEnd(8)} ${r.summary}\n`);
		});

	program
		.command('kbuild')
		.description('checker for kbuild: make C=1 CHECK="gpcscope kbuild" (compiler flags are ignored; findings of the file on stderr; exit 0)')
		.argument('[args...]', '$(CHECKFLAGS) $(c_flags) file.c, plus --tree DIR, --api-era ERA, --werror, --verbose, --cache-dir DIR')
		.helpOption(false)
		.allowUnknownOption()
		.allowExcessArguments()
		.action(async (_args: string[], _options: unknown, command: Command) => {
			// Raw arguments: kbuild's compiler flags are not ours to parse.
			const { runKbuild } = await import('./kbuild.js');
			process.exitCode = await runKbuild(command.args, { stderr: (s) => process.stderr.write(s) });
		});

	program
		.command('review')
		.description('report the findings a patch series introduces and fixes (a patch or mbox file, or a git revision range)')
		.argument('<patch|range>', 'patch or mbox file, or git revisions A..B, A...B, or one commit')
		.option('--tree <dir>', 'the tree the series applies to (default: the current directory)')
		.addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
		.option('-r, --rule <id>', 'run only this rule (repeatable)', ruleId)
		.addOption(new Option('--api-era <era>', 'override the API era detected from the tree').choices([...API_ERAS]))
		.option('--all-files', 'analyse every .c/.h, not only files that mention the gpc API')
		.option('-q, --quiet', 'no progress and summary on stderr')
		.action(async (input: string, options: ReviewCommandOptions) => {
			const { runReviewCommand } = await import('./review/index.js');
			process.exitCode = await runReviewCommand(input, options, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
		});

	program
		.command('lsp')
		.description('run the language server (for any LSP editor)')
		.option('--stdio', 'talk LSP over stdin/stdout (default)')
		.option('--node-ipc', 'talk LSP over Node IPC (VS Code)')
		.option('--socket <port>', 'talk LSP over a socket')
		.action(async () => {
			// Loaded only here: the language server's modules are most of what the CLI would load.
			const { keepServerAlive, startServer } = await import('./server.js');
			// vscode-languageserver reads the transport from process.argv itself.
			if (!process.argv.some((a) => a === '--stdio' || a === '--node-ipc' || a.startsWith('--socket'))) process.argv.push('--stdio');
			keepServerAlive();
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

// `gpcscope fix --rule gpc-lock-in-sched-out <tree> [--dry-run]`: applies the
// rewrite each finding of the rule carries (the same edit its quick fix makes),
// in place through temporaries and renames, or as a unified diff. Findings
// without a rewrite (the context is not decided by a parameter) are listed and
// left alone.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from './analysis/engine';
import type { Finding, Range } from './analysis/findings';
import type { RuleId } from './catalogue';
import { EXIT_BAD_INPUT, EXIT_DONE, EXIT_REFUSED, type FixIo } from './fix';
import { checkTrees } from './index/check';
import { applyChanges, RewriteError } from './usage/apply';
import { unifiedDiff, type FileChange } from './usage/diff';

/** Rules whose findings carry a rewrite. */
export const FINDING_FIX_RULES: ReadonlySet<RuleId> = new Set(['gpc-lock-in-sched-out']);


export async function findingFixCommand(path: string, options: { rule: RuleId; dryRun?: boolean; cache?: boolean }, io: FixIo): Promise<number> {
	try {
		if (!statSync(path).isDirectory()) throw new Error('not a directory');
	} catch {
		io.stderr(`gpcscope: ${path}: not a kernel tree (a directory)\n`);
		return EXIT_BAD_INPUT;
	}
	const engine = await Engine.create();
	let findings: Finding[];
	let root: string;
	try {
		const checked = await checkTrees(engine, [path], { cache: options.cache, engine: { rules: new Set([options.rule]) } });
		findings = checked.result.findings.filter((f) => f.rule === options.rule);
		root = checked.root;
	} finally {
		engine.dispose();
	}
	for (const f of findings.filter((x) => !x.fix)) io.stderr(`${f.file}:${f.range.start.line + 1}:${f.range.start.character + 1}: note: no automatic rewrite for this finding (its context is not decided by a parameter of the function) [${f.rule}]\n`);
	const fixable = findings.filter((f) => f.fix);
	if (!fixable.length) {
		io.stderr(`gpcscope: no ${options.rule} finding with a rewrite in ${root}\n`);
		return EXIT_DONE;
	}
	const encodings = new Map<string, BufferEncoding>();
	const changes: FileChange[] = [];
	for (const file of [...new Set(fixable.map((f) => f.file))].sort()) {
		const bytes = readFileSync(join(root, file));
		const utf8 = bytes.toString('utf8');
		const encoding: BufferEncoding = utf8.includes('\uFFFD') ? 'latin1' : 'utf8';
		encodings.set(file, encoding);
		const before = bytes.toString(encoding);
		const edits = fixable.filter((f) => f.file === file).flatMap((f) => f.fix!.edits);
		const after = applyEdits(before, edits);
		if (after === undefined) {
			io.stderr(`gpcscope: not rewriting ${root}, nothing was changed: two rewrites in ${file} overlap\n`);
			return EXIT_REFUSED;
		}
		changes.push({ file, before, after, groups: [] });
	}
	if (options.dryRun) io.stdout(unifiedDiff(changes));
	else {
		try {
			applyChanges(root, changes, (file) => encodings.get(file) ?? 'utf8');
		} catch (e) {
			if (!(e instanceof RewriteError)) throw e;
			io.stderr(`gpcscope: not rewriting ${root}, ${e.intact ? 'nothing was changed' : 'PARTLY REWRITTEN'}: ${e.message}\n`);
			return EXIT_REFUSED;
		}
	}
	io.stderr(`gpcscope: ${options.dryRun ? 'would rewrite' : 'rewrote'} ${fixable.length} ${options.rule} finding${fixable.length > 1 ? 's' : ''} in ${changes.length} file${changes.length > 1 ? 's' : ''}\n`);
	return EXIT_DONE;
}

/** `text` with the edits applied (last first); undefined when two overlap. */
export function applyEdits(text: string, edits: readonly { range: Range; newText: string }[]): string | undefined {
	const starts = [0];
	for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
	const offset = (p: Range['start']) => (starts[p.line] ?? text.length) + p.character;
	const spans = edits.map((e) => ({ start: offset(e.range.start), end: offset(e.range.end), text: e.newText })).sort((a, b) => b.start - a.start);
	let out = text;
	let limit = Infinity;
	for (const s of spans) {
		if (s.end > limit) return undefined;
		out = out.slice(0, s.start) + s.text + out.slice(s.end);
		limit = s.start;
	}
	return out;
}

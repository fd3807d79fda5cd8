// gpc-dead-usage-flag: the usage machinery, reported where it stands, when
// the census says no caller in the tree needs it.
import type { Parser } from 'web-tree-sitter';
import type { ApiEra } from '../api';
import type { SourceFile } from '../engine';
import type { FileFacts } from '../facts';
import type { Finding } from '../findings';
import type { Severity } from '../../catalogue';
import type { UsageCensus } from '../../usage/census';
import { errorAt, ParsedFiles } from '../../usage/files';
import { UsagePlanMemo } from '../../usage/memo';
import { planUsageRemoval } from '../../usage/plan';

export const RULE = 'gpc-dead-usage-flag';
const IGNORE_COMMENT = /gpcscope-ignore:\s*([\w-]+(?:\s*,\s*[\w-]+)*)/;

/** The census of the last analysis over these facts (hover: why the rule fires or is silent). */
const censuses = new WeakMap<readonly FileFacts[], UsageCensus>();

export function censusOf(result: { facts: readonly FileFacts[] }): UsageCensus | undefined {
	return censuses.get(result.facts);
}

export function deadUsageFindings(
	sources: readonly SourceFile[], facts: readonly FileFacts[], era: ApiEra, parser: Parser, severity: Severity, memo = new UsagePlanMemo(),
): Finding[] {
	// Nothing to say about a tree without the enum (6.9+, or a lone file).
	if (!facts.some((f) => f.hasUsageEnum)) {
		censuses.set(facts, { functions: new Map(), sites: [], guest: [], unknown: [], dead: false });
		return [];
	}
	const files = new ParsedFiles(parser);
	try {
		const plan = planUsageRemoval(files, sources.filter((s) => !s.summariesOnly), { era, reportsOnly: true, memo });
		censuses.set(facts, plan.census);
		if (!plan.census.dead) return [];
		const out: Finding[] = [];
		const linesOf = new Map<string, string[]>();
		for (const r of plan.reports) {
			const f = files.get(r.file);
			if (!f) continue;
			const lines = linesOf.get(f.file) ?? f.text.split('\n');
			linesOf.set(f.file, lines);
			const ignored = [r.range.start.line, r.range.start.line - 1].some((l) => {
				const m = IGNORE_COMMENT.exec(lines[l] ?? '');
				return !!m && m[1].split(/\s*,\s*/).includes(RULE);
			});
			const offset = lines.slice(0, r.range.start.line).reduce((n, l) => n + l.length + 1, 0) + r.range.start.character;
			// The file's ERROR regions are remembered with its text, so a file planned earlier is not parsed for them.
			if (ignored || errorAt({ errors: memo.part('errors', f, '', () => f.errors) }, offset, offset + 1)) continue;
			out.push({ rule: RULE, severity, file: r.file, range: r.range, message: r.message, related: [] });
		}
		return out;
	} finally {
		files.dispose();
	}
}

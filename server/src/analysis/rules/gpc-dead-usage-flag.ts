// gpc-dead-usage-flag: the usage machinery, reported where it stands, when the
// census says no caller in the tree needs it. The census and the removal plan
// are usage/'s; this rule keeps the plan's per-file parts between analyses (an
// edit re-plans the edited file) and leaves the census for the hover.
import type { Parser } from 'web-tree-sitter';
import { offsetAt } from '../../parse/positions';
import { errorAt, ParsedFiles } from '../../usage/files';
import { UsagePlanMemo } from '../../usage/memo';
import { planUsageRemoval } from '../../usage/plan';
import { isSuppressed } from '../suppressions';
import type { RuleNotes, SourceRule, SourceRuleContext } from './types';

export const gpcDeadUsageFlag: SourceRule = {
	id: 'gpc-dead-usage-flag',
	create: (parser: Parser) => {
		const memo = new UsagePlanMemo();
		return {
			check(ctx: SourceRuleContext): RuleNotes {
				// Nothing to say about a tree without the enum (6.9+, or a lone file).
				if (!ctx.facts.some((f) => f.hasUsageEnum)) return { usageCensus: { functions: new Map(), sites: [], guest: [], unknown: [], dead: false } };
				const files = new ParsedFiles(parser);
				try {
					const plan = planUsageRemoval(files, ctx.sources, { era: ctx.era, reportsOnly: true, memo });
					if (!plan.census.dead) return { usageCensus: plan.census };
					const linesOf = new Map<string, string[]>();
					for (const r of plan.reports) {
						const f = files.get(r.file);
						if (!f) continue;
						const lines = linesOf.get(f.file) ?? f.text.split('\n');
						linesOf.set(f.file, lines);
						const offset = offsetAt(f.text, r.range.start);
						// The file's ERROR regions are remembered with its text, so a file planned earlier is not parsed for them.
						if (isSuppressed('gpc-dead-usage-flag', r.range.start.line, (row) => lines[row]) || errorAt({ errors: memo.part('errors', f, '', () => f.errors) }, offset, offset + 1)) continue;
						// The quick fix plans the whole tree as it is applied: the finding carries only its title.
						const title = plan.groups.get(r.group)?.title;
						ctx.report(r.file, r.range, r.message, title ? { title, edits: [] } : undefined);
					}
					return { usageCensus: plan.census };
				} finally {
					files.dispose();
				}
			},
		};
	},
};

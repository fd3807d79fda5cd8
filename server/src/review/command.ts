// `gpcscope review <patch|mbox|rev-range> [--tree DIR] [--format text|json|sarif]`.
// Exit codes as `check`: 0 when the series introduces nothing at warning level or
// above, 1 when it does, 2 on bad input (a patch that does not apply, no such range).
import type { ApiEra } from '../analysis/api';
import type { RuleId } from '../catalogue';
import { VERSION } from '../version';
import { formatReviewJson, formatReviewSarif, formatReviewText, reviewSummary } from './format';
import { review } from './review';
import { ReviewError } from './tree';

export interface ReviewCommandOptions {
	tree?: string;
	format: 'text' | 'json' | 'sarif';
	rule?: RuleId[];
	apiEra?: ApiEra;
	allFiles?: boolean;
	quiet?: boolean;
}

export async function runReviewCommand(input: string, options: ReviewCommandOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
	let r;
	try {
		r = await review(input, {
			tree: options.tree,
			era: options.apiEra,
			rules: options.rule ? new Set(options.rule) : undefined,
			allFiles: options.allFiles,
			log: options.quiet ? undefined : (m) => err(`gpcscope review: ${m}\n`),
		});
	} catch (e) {
		if (e instanceof ReviewError) {
			err(`gpcscope: ${e.message}\n`);
			return 2;
		}
		throw e;
	}
	if (options.format === 'json') out(formatReviewJson(r));
	else if (options.format === 'sarif') out(formatReviewSarif(r, VERSION));
	else out(formatReviewText(r));
	if (!options.quiet) err(reviewSummary(r));
	return r.introduced.some((x) => x.finding.severity === 'error' || x.finding.severity === 'warning') ? 1 : 0;
}

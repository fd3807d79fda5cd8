// `gpcscope-ignore: rule-a, rule-b` comments: a finding is not reported when such
// a comment on its line, or on the line above, names its rule.
import type { RuleId } from '../catalogue';

const IGNORE_COMMENT = /gpcscope-ignore:\s*([\w-]+(?:\s*,\s*[\w-]+)*)/;

/** Whether a finding of `rule` at `row` is suppressed; `line(r)` is the text of row r (undefined past either end). */
export function isSuppressed(rule: RuleId, row: number, line: (row: number) => string | undefined): boolean {
	return [row, row - 1].some((r) => {
		const m = IGNORE_COMMENT.exec(line(r) ?? '');
		return !!m && m[1].split(/\s*,\s*/).includes(rule);
	});
}

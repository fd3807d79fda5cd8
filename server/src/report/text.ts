// gcc-style text: `file:line:col: severity: message [rule-id]`, 1-based.
// A finding's related locations follow it as `note:` lines, as gcc's do; a
// finding of its own at hint or information level is `info:` (Emacs's
// compilation mode and Vim's gcc errorformat read it as information), so it is
// never read as a note of the error above it.
import type { Finding } from '../analysis/findings';

const GCC_SEVERITY = { error: 'error', warning: 'warning', information: 'info', hint: 'info' } as const;

export function formatText(findings: readonly Finding[], prefix = ''): string {
	const lines: string[] = [];
	for (const f of findings) {
		lines.push(`${prefix}${f.file}:${f.range.start.line + 1}:${f.range.start.character + 1}: ${GCC_SEVERITY[f.severity]}: ${f.message} [${f.rule}]`);
		for (const r of f.related) {
			lines.push(`${prefix}${r.file}:${r.range.start.line + 1}:${r.range.start.character + 1}: note: ${r.message}`);
		}
	}
	return lines.length ? lines.join('\n') + '\n' : '';
}

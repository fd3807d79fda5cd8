// Patches as developers send them, for the review tests (unit and kernel tiers).
import { createTwoFilesPatch } from 'diff';

/** One file's change as `git format-patch` writes it. */
export function fileDiff(path: string, before: string, after: string): string {
	const body = createTwoFilesPatch(`a/${path}`, `b/${path}`, before, after, '', '', { context: 3 })
		.split('\n')
		.filter((l) => !l.startsWith('Index:') && !l.startsWith('===='))
		.map((l) => (l.startsWith('--- ') || l.startsWith('+++ ') ? l.replace(/\t$/, '') : l))
		.join('\n');
	return `diff --git a/${path} b/${path}\n${body}`;
}

/** An mbox of patches (`git format-patch --stdout`), each `{subject, diffs}`. */
export function mbox(patches: { subject: string; diffs: string[] }[]): string {
	return patches
		.map((p, i) =>
			`From ${String(i + 1).repeat(40)} Mon Sep 17 00:00:00 2001\nFrom: A Developer <dev@example.invalid>\n` +
			`Subject: [PATCH ${i + 1}/${patches.length}] ${p.subject}\n\nWhy this change.\n---\n${p.diffs.join('')}-- \n2.39.2\n\n`)
		.join('');
}

/** Replaces `from` (which must occur exactly once) by `to`. */
export function replaceOnce(text: string, from: string, to: string): string {
	if (text.split(from).length !== 2) throw new Error(`expected exactly one occurrence of ${JSON.stringify(from.slice(0, 60))}`);
	return text.replace(from, () => to);
}

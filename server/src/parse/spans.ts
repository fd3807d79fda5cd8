// Where an edited text differs from the text before it, found by comparison: the language
// server's incremental steps (facts, outlines) work from this span.

/** Compared a block at a time (one string comparison) before character by character. */
const BLOCK = 4096;

/** The changed span: [start, oldEnd) of the old text became [start, newEnd) of the new one. */
export function changedSpan(oldText: string, newText: string): { start: number; oldEnd: number; newEnd: number } {
	const min = Math.min(oldText.length, newText.length);
	let start = 0;
	while (start + BLOCK <= min && oldText.slice(start, start + BLOCK) === newText.slice(start, start + BLOCK)) start += BLOCK;
	while (start < min && oldText.charCodeAt(start) === newText.charCodeAt(start)) start++;
	let suffix = 0;
	while (suffix + BLOCK <= min - start && oldText.slice(oldText.length - suffix - BLOCK, oldText.length - suffix) === newText.slice(newText.length - suffix - BLOCK, newText.length - suffix)) suffix += BLOCK;
	while (suffix < min - start && oldText.charCodeAt(oldText.length - 1 - suffix) === newText.charCodeAt(newText.length - 1 - suffix)) suffix++;
	return { start, oldEnd: oldText.length - suffix, newEnd: newText.length - suffix };
}

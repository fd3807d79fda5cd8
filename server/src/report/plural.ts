// "1 finding", "2 findings": counts in messages agree with their noun.

/** `count` and `noun`, with `plural` (default noun + "s") unless count is 1. */
export function plural(count: number, noun: string, pluralNoun = `${noun}s`): string {
	return `${count} ${count === 1 ? noun : pluralNoun}`;
}

// Step locations name a function and a code snippet, not a line, so one model
// serves every tree; these helpers find the line in the tree at hand, and give
// historical steps a link to the version they come from.
import type { Location, RunResult, Step } from './types';

/** Lines [start, end] (1-based) of the definition of `fn` in C source text, if any. */
export function findFunction(text: string, fn: string): { start: number; end: number } | undefined {
	const lines = text.split('\n');
	const def = new RegExp(`^[A-Za-z_][^;=]*\\b${fn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\(`);
	for (let i = 0; i < lines.length; i++) {
		if (!def.test(lines[i])) continue;
		// A definition opens its body before the next ';' at column 0 or the next prototype.
		for (let j = i; j < lines.length; j++) {
			if (lines[j].startsWith('{')) {
				for (let k = j + 1; k < lines.length; k++) if (lines[k].startsWith('}')) return { start: i + 1, end: k + 1 };
				return undefined;
			}
			if (/;\s*$/.test(lines[j]) && !lines[j].startsWith('\t')) break;
		}
	}
	return undefined;
}

/** Line of the occurrence-th appearance of hint inside fn, compared without whitespace differences. */
export function locateHint(text: string, fn: string, hint: string, occurrence = 1): number | undefined {
	const span = findFunction(text, fn);
	if (!span) return undefined;
	const norm = (s: string) => s.replace(/\s+/g, '');
	const want = norm(hint);
	if (!want) return span.start;
	const lines = text.split('\n');
	let seen = 0;
	for (let i = span.start - 1; i < span.end; i++) {
		// Hints may span two lines (a call broken after its first argument).
		const here = norm(lines[i]);
		const two = here + norm(lines[i + 1] ?? '');
		if (here.includes(want) || (!here.includes(want) && two.includes(want) && two.indexOf(want) < here.length)) {
			if (++seen === occurrence) return i + 1;
		}
	}
	return undefined;
}

/** The kernel.org page of `file` in a released tree ('linux-5.18' → tag v5.18), at `line` when known. */
export function historicalUrl(tree: string, file: string, line?: number): string | undefined {
	const m = /^linux-(\d+\.\d+)$/.exec(tree);
	if (!m) return undefined;
	return `https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/tree/${file}?h=v${m[1]}${line ? `#n${line}` : ''}`;
}

/**
 * Fills `line` in every step location of today's tree (locations without
 * `tree`, or with the tree named by `tree`) from `read(file)`, and gives every
 * historical step the link to its version, with the line when `history(tree,
 * file)` has that tree's text.
 */
export function resolveLines(
	result: RunResult,
	read: (file: string) => string | undefined,
	tree?: string | string[],
	history?: (tree: string, file: string) => string | undefined,
): RunResult {
	const local = new Set(tree === undefined ? [] : Array.isArray(tree) ? tree : [tree]);
	const cache = new Map<string, string | undefined>();
	const text = (key: string, get: () => string | undefined) => {
		if (!cache.has(key)) cache.set(key, get());
		return cache.get(key);
	};
	const fix = (l: Location): Location => {
		if (l.line !== undefined) return l;
		if (l.tree && !local.has(l.tree)) {
			const src = history ? text(`${l.tree}:${l.file}`, () => history(l.tree!, l.file)) : undefined;
			const line = src === undefined ? undefined : locateHint(src, l.function, l.hint, l.occurrence);
			const url = historicalUrl(l.tree, l.file, line);
			return url ? { ...l, url } : l;
		}
		const src = text(l.file, () => read(l.file));
		const line = src === undefined ? undefined : locateHint(src, l.function, l.hint, l.occurrence);
		return line === undefined ? l : { ...l, line };
	};
	const steps = (list?: Step[]) => list?.map((s) => ({ ...s, location: fix(s.location) }));
	const out: RunResult = { ...result, trace: steps(result.trace) };
	if (result.lasso) out.lasso = { ...result.lasso, stem: steps(result.lasso.stem)!, cycle: steps(result.lasso.cycle)! };
	return out;
}

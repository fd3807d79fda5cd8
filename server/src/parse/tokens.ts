// The kernel C text as normalise.ts reads it: code tokens (comments skipped) and the
// preprocessor directives between them, found in one pass without a parser.
export const IDENT = 0;
export const NUMBER = 1;
export const STRING = 2;
export const PUNCT = 3;

export interface Directive {
	start: number;
	/** End of the directive's last line, before its newline. */
	end: number;
	keyword: string;
	/** Index of the first code token after it. */
	token: number;
}

/** The tokens of a text: kind, [start, end), and its directives. */
export interface Tokens {
	kind: Uint8Array;
	start: Uint32Array;
	end: Uint32Array;
	count: number;
	directives: Directive[];
}

const isIdentStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36;
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57);
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;

/** The length of the punctuator at i: `...`, `<<=`, `>>=`, two-character ones, or 1. */
function punctLength(text: string, i: number, c: number): number {
	const d = text.charCodeAt(i + 1);
	switch (c) {
		case 46: // .
			return d === 46 && text.charCodeAt(i + 2) === 46 ? 3 : 1;
		case 60: // <
		case 62: // >
			if (d === c) return text.charCodeAt(i + 2) === 61 ? 3 : 2;
			return d === 61 ? 2 : 1;
		case 45: // -
			return d === 62 || d === 45 || d === 61 ? 2 : 1;
		case 43: // +
		case 38: // &
		case 124: // |
			return d === c || d === 61 ? 2 : 1;
		case 61: // =
		case 33: // !
		case 42: // *
		case 47: // /
		case 37: // %
		case 94: // ^
			return d === 61 ? 2 : 1;
		case 35: // #
			return d === 35 ? 2 : 1;
		default:
			return 1;
	}
}

/** Code tokens (comments skipped) and preprocessor directives, in one pass. */
export function tokenize(text: string): Tokens {
	const n = text.length;
	let cap = Math.max(64, n >> 2);
	let kind = new Uint8Array(cap);
	let start = new Uint32Array(cap);
	let end = new Uint32Array(cap);
	let count = 0;
	const directives: Directive[] = [];
	const push = (k: number, s: number, e: number) => {
		if (count === cap) {
			cap *= 2;
			const k2 = new Uint8Array(cap);
			k2.set(kind);
			kind = k2;
			const s2 = new Uint32Array(cap);
			s2.set(start);
			start = s2;
			const e2 = new Uint32Array(cap);
			e2.set(end);
			end = e2;
		}
		kind[count] = k;
		start[count] = s;
		end[count] = e;
		count++;
	};
	let lineStart = true;
	let i = 0;
	// Skips a comment at i, if any; returns the index after it.
	const comment = (at: number): number => {
		if (text.charCodeAt(at) !== 47) return at;
		const next = text.charCodeAt(at + 1);
		if (next === 42) {
			const close = text.indexOf('*/', at + 2);
			return close < 0 ? n : close + 2;
		}
		if (next === 47) {
			let j = at + 2;
			for (;;) {
				const nl = text.indexOf('\n', j);
				if (nl < 0) return n;
				// A line comment continues past a backslash-newline.
				let k = nl - 1;
				if (text.charCodeAt(k) === 13) k--;
				if (text.charCodeAt(k) !== 92) return nl;
				j = nl + 1;
			}
		}
		return at;
	};
	while (i < n) {
		const c = text.charCodeAt(i);
		if (c === 10) {
			lineStart = true;
			i++;
			continue;
		}
		if (isSpace(c)) {
			i++;
			continue;
		}
		if (c === 47) {
			const after = comment(i);
			if (after !== i) {
				i = after;
				continue;
			}
		}
		if (c === 35 && lineStart) {
			// A directive: to the end of its line, past backslash-newlines and comments.
			let j = i + 1;
			while (j < n && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
			let k = j;
			while (k < n && isIdentPart(text.charCodeAt(k))) k++;
			const keyword = text.slice(j, k);
			let e = k;
			while (e < n) {
				const d = text.charCodeAt(e);
				if (d === 10) {
					let b = e - 1;
					if (text.charCodeAt(b) === 13) b--;
					if (text.charCodeAt(b) === 92) {
						e++;
						continue;
					}
					break;
				}
				if (d === 47) {
					const after = comment(e);
					if (after !== e) {
						// A line comment ends at the newline, which ends the directive too.
						e = after;
						continue;
					}
				}
				if (d === 34 || d === 39) {
					e = quoted(text, e);
					continue;
				}
				e++;
			}
			let last = e;
			if (text.charCodeAt(last - 1) === 13) last--;
			directives.push({ start: i, end: last, keyword, token: count });
			i = e;
			continue;
		}
		lineStart = false;
		if (isIdentStart(c)) {
			let j = i + 1;
			while (j < n && isIdentPart(text.charCodeAt(j))) j++;
			// String and character prefixes: L"", u8"", u'', U"".
			const q = text.charCodeAt(j);
			if ((q === 34 || q === 39) && j - i <= 2 && (c === 76 || c === 117 || c === 85) && (j - i === 1 || (c === 117 && text.charCodeAt(i + 1) === 56))) {
				const e = quoted(text, j);
				push(STRING, i, e);
				i = e;
				continue;
			}
			push(IDENT, i, j);
			i = j;
			continue;
		}
		if ((c >= 48 && c <= 57) || (c === 46 && text.charCodeAt(i + 1) >= 48 && text.charCodeAt(i + 1) <= 57)) {
			let j = i + 1;
			for (;;) {
				const d = text.charCodeAt(j);
				if (isIdentPart(d) || d === 46) j++;
				else if (d === 43 || d === 45) {
					const e = text.charCodeAt(j - 1) | 32;
					if (e === 101 || e === 112) j++;
					else break;
				} else break;
			}
			push(NUMBER, i, j);
			i = j;
			continue;
		}
		if (c === 34 || c === 39) {
			const e = quoted(text, i);
			push(STRING, i, e);
			i = e;
			continue;
		}
		const len = punctLength(text, i, c);
		push(PUNCT, i, i + len);
		i += len;
	}
	return { kind, start, end, count, directives };
}

/** The index after the string or character literal opening at i (an unterminated one ends at its line). */
function quoted(text: string, i: number): number {
	const q = text.charCodeAt(i);
	let j = i + 1;
	while (j < text.length) {
		const d = text.charCodeAt(j);
		if (d === 92) {
			j += 2;
			continue;
		}
		if (d === q) return j + 1;
		if (d === 10) return j;
		j++;
	}
	return j;
}

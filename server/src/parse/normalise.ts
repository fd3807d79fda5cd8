// What tree-sitter-c cannot see through in kernel sources, rewritten before parsing without
// moving a byte: every replacement has the length of what it replaces and every newline stays,
// so rows, columns and offsets in the tree are the original file's. The parser (parser.ts)
// hands the tree the original text, so node.text, findings, hovers and edits read what the
// user wrote; only the tree's shape comes from the normalised text.
//
// The shapes (measured on the gpc files of 6.1 and 6.12, docs/BENCHMARKS.md):
// - a conditional directive inside an expression or a split statement
//   (`a ||\n#ifdef X\n b ||\n#endif\n c`, `} else\n#endif\n{`): its directive lines are
//   blanked and its first branch kept (the build where the condition holds); the other
//   branches are blanked too and reported as hidden, so that nothing is reported from them
//   and no rewrite touches them. A group whose hidden branch mentions a lock or the gpc API
//   is left alone (an ERROR region, opaque to the analysis, as before);
// - annotation macros (`__user`, `__read_mostly`, `__always_inline`, `__must_hold(x)`): blanked;
// - type arguments of macros (`container_of(p, struct kvm, arch)`, `min_t(unsigned int, …)`,
//   `DEFINE_PER_CPU(struct kvm_vcpu *, v)`): the keywords and stars blanked, the name kept;
// - `offsetof(struct s, a.b)`, `__alignof__(expr)`: renamed to a call, `sizeof`;
// - GNU case ranges `case A ... B:`: `case A | B:`;
// - macro loops (`list_for_each_entry(pos, head, member) {`, `kvm_for_each_vcpu(i, v, kvm)\n\tstmt;`):
//   the macro's name becomes `while` and blanks, its arguments the loop's condition.

/** The normalised text (the same string when nothing changed) and the code it hid. */
export interface Normalised {
	text: string;
	/** [start, end) of branches blanked as code the build with the first branch does not compile. */
	hidden: [number, number][];
}

const IDENT = 0;
const NUMBER = 1;
const STRING = 2;
const PUNCT = 3;

/** Annotations that expand to nothing tree-sitter needs; those taking arguments lose them too. */
const ANNOTATIONS = new Set([
	'__read_mostly', '__ro_after_init', '__user', '__kernel', '__iomem', '__percpu', '__rcu', '__force', '__bitwise',
	'__safe', '__private', '__nocast', '__must_check', '__always_inline', 'noinline', '__noinline', '__weak', '__visible',
	'noinstr', '__init', '__exit', '__initdata', '__initconst', '__exitdata', '__refdata', '__ref', '__cold', '__hot',
	'__pure', '__maybe_unused', '__always_unused', '__used', '__noreturn', 'notrace', '__flatten', '__cacheline_aligned',
	'__cacheline_aligned_in_smp', '____cacheline_aligned', '____cacheline_aligned_in_smp', '__randomize_layout',
	'__latent_entropy', 'asmlinkage', '__sched', '__kprobes', '__noclone', '__no_kcsan', '__nonstring',
	'__attribute_const__', '__malloc', '__naked', '__init_or_module', '__irq_entry', '__noinstr_section',
]);
const ANNOTATIONS_WITH_ARGUMENTS = new Set([
	'__aligned', '__section', '__printf', '__scanf', '__acquires', '__releases', '__must_hold', '__cond_acquires',
	'__cond_releases', '__alloc_size', '__realloc_size', '__assume_aligned', '__counted_by', '__free', '__cleanup',
]);
/** Keywords of a type an argument may be made of. */
const TYPE_KEYWORDS = new Set(['struct', 'union', 'enum', 'const', 'volatile', 'signed', 'unsigned', 'short', 'long', 'int', 'char', 'void', 'float', 'double', '_Bool', 'bool']);
const TAG_KEYWORDS = new Set(['struct', 'union', 'enum']);
const QUALIFIERS = new Set(['const', 'volatile']);
const MACRO_LOOP = /for_each|foreach/;
/**
 * Macros whose arguments may be types: upper-case ones (`DEFINE_PER_CPU(struct x *, v)`) and these.
 * A function's own prototype (`void f(unsigned int);`) is never one of them.
 */
const TYPE_MACRO = /^[A-Z_][A-Z0-9_]*$/;
const TYPE_MACROS = new Set([
	'container_of', 'container_of_const', 'min_t', 'max_t', 'clamp_t', 'clamp_val', 'sizeof_field', 'offsetofend', 'alloc_percpu',
	'alloc_percpu_gfp', 'list_entry', 'list_first_entry', 'list_first_entry_or_null', 'list_last_entry', 'hlist_entry',
	'hlist_entry_safe', 'rb_entry', 'rb_entry_safe', 'llist_entry', 'typecheck', 'per_cpu_ptr', 'this_cpu_ptr', 'kzalloc_obj',
	'kmalloc_obj', 'struct_size_t', '__same_type', 'is_signed_type', 'type_max', 'type_min', 'sizeof_member',
]);
/** Code worth analysing; a branch mentioning it is never hidden. */
const RELEVANT = /gpc|khva|pfn_cache|USES_PFN|lock|refresh|guard/i;

interface Directive {
	start: number;
	/** End of the directive's last line, before its newline. */
	end: number;
	keyword: string;
	/** Index of the first code token after it. */
	token: number;
}

interface Tokens {
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
function tokenize(text: string): Tokens {
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

/**
 * A top-level declaration's end in kernel style: a line that is only `}` or `};`. The text is
 * normalised in chunks between such lines, each on its own, so that an edit re-normalises the
 * chunk it touches and no other (normaliseEdited); a construct spanning one (an `#ifdef` around
 * several functions, which tree-sitter parses anyway) is left as it is.
 */
const CHUNK_END = /^\};?[ \t]*\r?\n/gm;

/** The offsets where chunks start: 0, then the start of each line after a CHUNK_END line, then text.length. */
function chunkStarts(text: string, from = 0, to = text.length): number[] {
	const out: number[] = [];
	CHUNK_END.lastIndex = from;
	for (let m = CHUNK_END.exec(text); m && m.index < to; m = CHUNK_END.exec(text)) {
		if (m.index + m[0].length <= to) out.push(m.index + m[0].length);
	}
	return out;
}

/** A text, its normalisation, and the chunks it was normalised in (for the next edit). */
export interface NormalisedText extends Normalised {
	original: string;
	/** Chunk starts, ascending, beginning with 0 and ending with original.length. */
	chunks: number[];
}

export function normaliseText(text: string): NormalisedText {
	const chunks = [0, ...chunkStarts(text).filter((c) => c < text.length), text.length];
	return assemble(text, chunks, 0, chunks.length - 1, { original: '', text: '', hidden: [], chunks: [] }, 0, 0);
}

export function normaliseC(text: string): Normalised {
	const { text: out, hidden } = normaliseText(text);
	return { text: out, hidden };
}

/**
 * The normalisation of `text`, which is `before.original` with [start, oldEnd) replaced by
 * [start, newEnd): the chunks the edit touched are normalised again, the others copied (and
 * moved). Equal to normaliseText(text), property-tested.
 */
export function normaliseEdited(before: NormalisedText, text: string, start: number, oldEnd: number, newEnd: number): NormalisedText {
	const delta = newEnd - oldEnd;
	const old = before.chunks;
	// The last chunk start at or before the edit: its line above is untouched, so it still is one.
	let first = 0;
	while (first + 1 < old.length - 1 && old[first + 1] <= start) first++;
	// The first chunk start whose CHUNK_END line lies wholly after the edit (and after the
	// newline before it, so that the line still starts a line).
	let last = old.length - 1;
	for (let k = first + 1; k < old.length - 1; k++) {
		const lineStart = before.original.lastIndexOf('\n', old[k] - 2) + 1;
		if (lineStart > oldEnd) {
			last = k;
			break;
		}
	}
	const from = old[first];
	const to = old[last] + delta;
	const inner = chunkStarts(text, from, to).filter((c) => c > from && c < to);
	const chunks = [...old.slice(0, first + 1), ...inner, ...old.slice(last).map((c) => c + delta)];
	return assemble(text, chunks, first, first + 1 + inner.length, before, from, delta);
}

/**
 * `chunks[lo..hi)` normalised afresh; the chunks before `lo` and from `hi` on copied from
 * `before` (those after moved by `delta`; `from` is where chunk `lo` starts).
 */
function assemble(text: string, chunks: number[], lo: number, hi: number, before: NormalisedText, from: number, delta: number): NormalisedText {
	const parts: string[] = [before.text.slice(0, from)];
	const hidden: [number, number][] = before.hidden.filter(([, e]) => e <= from);
	for (let k = lo; k < hi; k++) {
		const piece = normaliseChunk(text.slice(chunks[k], chunks[k + 1]));
		parts.push(piece.text);
		for (const [s, e] of piece.hidden) hidden.push([s + chunks[k], e + chunks[k]]);
	}
	const rest = chunks[hi];
	if (rest < text.length) {
		parts.push(before.text.slice(rest - delta));
		for (const [s, e] of before.hidden) if (s >= rest - delta) hidden.push([s + delta, e + delta]);
	}
	const out = parts.join('');
	return { original: text, text: out === text ? text : out, hidden, chunks };
}

/** One chunk's normalisation (see the top of the file). */
function normaliseChunk(text: string): Normalised {
	const t = tokenize(text);
	const edits: [number, number, string][] = [];
	const hidden: [number, number][] = [];
	// Tokens inside blanked branches take part in no other rewrite.
	const dead = new Uint8Array(t.count);
	const tok = (i: number) => text.slice(t.start[i], t.end[i]);
	const blank = (s: number, e: number) => edits.push([s, e, 'blank']);
	const replace = (s: number, e: number, by: string) => edits.push([s, e, by]);

	conditionalGroups(text, t, tok, blank, hidden, dead);

	// Paren matching over live code tokens.
	const match = new Int32Array(t.count).fill(-1);
	const stack: number[] = [];
	for (let i = 0; i < t.count; i++) {
		if (dead[i] || t.kind[i] !== PUNCT) continue;
		const c = text.charCodeAt(t.start[i]);
		if (t.end[i] - t.start[i] !== 1) continue;
		if (c === 40 || c === 91 || c === 123) stack.push(i);
		else if (c === 41 || c === 93 || c === 125) {
			const open = stack.pop();
			if (open === undefined) continue;
			match[open] = i;
			match[i] = open;
		}
	}
	const live = (i: number): number => {
		while (i < t.count && dead[i]) i++;
		return i;
	};
	const prevLive = (i: number): number => {
		while (i >= 0 && dead[i]) i--;
		return i;
	};
	const isPunct = (i: number, p: string) => i >= 0 && i < t.count && t.kind[i] === PUNCT && t.end[i] - t.start[i] === p.length && text.startsWith(p, t.start[i]);

	const directiveBefore = new Set(t.directives.map((d) => d.token));
	let caseOpen = false;
	for (let i = 0; i < t.count; i++) {
		if (dead[i]) continue;
		const kind = t.kind[i];
		if (kind === PUNCT) {
			if (caseOpen && isPunct(i, ':')) caseOpen = false;
			else if (caseOpen && (isPunct(i, ';') || isPunct(i, '{') || isPunct(i, '}'))) caseOpen = false;
			else if (caseOpen && isPunct(i, '...')) replace(t.start[i], t.end[i], ' | ');
			continue;
		}
		if (kind !== IDENT) continue;
		// Most names are none of the words below: skip them without reading them.
		const first = text.charCodeAt(t.start[i]);
		if (first !== 95 && first !== 97 && first !== 99 && first !== 110 && first !== 115 && !(first >= 65 && first <= 90) && !isPunct(live(i + 1), '(')) continue;
		const word = tok(i);
		if (word === 'case') {
			caseOpen = true;
			continue;
		}
		if (word === 'static') {
			// `static DEFINE_PER_CPU(struct x *, v);`: without `static` it parses as a call.
			const name = live(i + 1);
			const open = live(name + 1);
			if (t.kind[name] === IDENT && TYPE_MACRO.test(tok(name)) && isPunct(open, '(') && match[open] > open && isPunct(live(match[open] + 1), ';')) blank(t.start[i], t.end[i]);
			continue;
		}
		if (word === 'asm' || word === '__asm__' || word === '__asm') {
			asmTemplateMacros(i);
			continue;
		}
		if (ANNOTATIONS.has(word)) {
			blank(t.start[i], t.end[i]);
			continue;
		}
		const next = live(i + 1);
		const opens = isPunct(next, '(') && match[next] > next;
		if (ANNOTATIONS_WITH_ARGUMENTS.has(word) && opens) {
			blank(t.start[i], t.end[match[next]]);
			i = match[next];
			continue;
		}
		if (!opens) continue;
		const close = match[next];
		if (word === '__alignof__' || word === '__alignof' || word === '_Alignof') {
			// alignof of an expression (GNU) is not in the grammar; sizeof takes both.
			replace(t.start[i], t.end[i], 'sizeof'.padEnd(word.length));
			continue;
		}
		if (word === 'offsetof') {
			const args = splitArguments(t, match, next, close, text);
			if (args.length === 2 && !(args[1][1] - args[1][0] === 1 && t.kind[args[1][0]] === IDENT)) {
				// A member path (`a.b`, `a[1]`) is not in the grammar's offsetof: read it as a call.
				replace(t.start[i], t.start[i] + 1, '_');
				typeArgument(args[0], t, tok, blank);
			}
			continue;
		}
		if (MACRO_LOOP.test(word) && !word.startsWith('scoped_') && word.length >= 5 && isLoopHead(i, close)) {
			replace(t.start[i], t.end[i], 'while'.padEnd(word.length));
			continue;
		}
		if (TYPE_MACRO.test(word) || TYPE_MACROS.has(word)) {
			for (const arg of splitArguments(t, match, next, close, text)) typeArgument(arg, t, tok, blank);
		}
	}

	/** A macro loop's head: in statement position, and followed by its body rather than `;` or an operator. */
	function isLoopHead(name: number, close: number): boolean {
		const before = prevLive(name - 1);
		const afterDirective = directiveBefore.has(name);
		const startsStatement = before < 0 || afterDirective || [')', ';', '{', '}', ':'].some((p) => isPunct(before, p)) || (t.kind[before] === IDENT && ['else', 'do'].includes(tok(before)));
		if (!startsStatement) return false;
		const after = live(close + 1);
		if (after >= t.count) return false;
		return isPunct(after, '{') || t.kind[after] === IDENT;
	}

	/** `asm("…" _ASM_EXTABLE_UA(1b, 2b) : …)`: a macro in the template becomes a string of its length. */
	function asmTemplateMacros(at: number): void {
		let open = live(at + 1);
		while (t.kind[open] === IDENT) open = live(open + 1); // volatile, goto, inline
		if (!isPunct(open, '(') || match[open] < open) return;
		for (let i = open + 1; i < match[open]; i++) {
			if (isPunct(i, ':')) return;
			const paren = i + 1;
			if (t.kind[i] !== IDENT || !isPunct(paren, '(') || match[paren] < paren) continue;
			const s = t.start[i];
			const e = t.end[match[paren]];
			if (t.kind[i - 1] === STRING && !/[\n\r]/.test(text.slice(s, e))) replace(s, e, `"${' '.repeat(e - s - 2)}"`);
			i = match[paren];
		}
	}

	// `#define X2(x...)`: a named variadic parameter is not in the grammar.
	for (const d of t.directives) {
		if (d.keyword !== 'define') continue;
		const m = /^#\s*define\s+\w+\(([^)]*)\)/.exec(text.slice(d.start, d.end));
		if (!m) continue;
		const params = d.start + m[0].length - 1 - m[1].length;
		for (const v of m[1].matchAll(/\w\s*(\.\.\.)/g)) replace(params + v.index + v[0].length - 3, params + v.index + v[0].length, '   ');
	}

	if (!edits.length) return { text, hidden };
	return { text: apply(text, edits), hidden };
}

/** [first token, end token) of each argument between the parentheses at open and close. */
function splitArguments(t: Tokens, match: Int32Array, open: number, close: number, text: string): [number, number][] {
	const out: [number, number][] = [];
	let from = open + 1;
	for (let i = open + 1; i < close; i++) {
		if (t.kind[i] !== PUNCT) continue;
		const c = text.charCodeAt(t.start[i]);
		if ((c === 40 || c === 91 || c === 123) && match[i] > i) {
			i = match[i];
			continue;
		}
		if (c === 44 && t.end[i] - t.start[i] === 1) {
			out.push([from, i]);
			from = i + 1;
		}
	}
	if (close > from) out.push([from, close]);
	return out;
}

/**
 * An argument that is a type (`struct kvm`, `unsigned long`, `struct kvm_vcpu *`): tree-sitter
 * reads only a plain name there, so the keywords and stars are blanked and one name is kept.
 */
function typeArgument([from, to]: [number, number], t: Tokens, tok: (i: number) => string, blank: (s: number, e: number) => void): void {
	if (to <= from) return;
	let i = from;
	while (i < to && t.kind[i] === IDENT && QUALIFIERS.has(tok(i))) i++;
	let keep: number;
	if (i < to && t.kind[i] === IDENT && TAG_KEYWORDS.has(tok(i))) {
		if (i + 1 >= to || t.kind[i + 1] !== IDENT || TYPE_KEYWORDS.has(tok(i + 1))) return;
		keep = i + 1;
		i += 2;
	} else {
		const first = i;
		while (i < to && t.kind[i] === IDENT && TYPE_KEYWORDS.has(tok(i)) && !TAG_KEYWORDS.has(tok(i))) i++;
		if (i === first) return;
		keep = i - 1;
	}
	const stars = i;
	while (i < to && t.kind[i] === PUNCT && tok(i) === '*') i++;
	if (i !== to) return;
	// A single keyword or name alone already parses.
	if (keep === from && stars === to) return;
	for (let j = from; j < to; j++) if (j !== keep) blank(t.start[j], t.end[j]);
}

/**
 * `#if` groups that sit inside an expression or a statement: blank their directives and keep
 * their first branch (the second after `#if 0`); see the top of the file.
 */
function conditionalGroups(
	text: string, t: Tokens, tok: (i: number) => string, blank: (s: number, e: number) => void, hidden: [number, number][], dead: Uint8Array,
): void {
	interface Group { directives: Directive[] }
	const groups: Group[] = [];
	const open: Group[] = [];
	for (const d of t.directives) {
		if (d.keyword === 'if' || d.keyword === 'ifdef' || d.keyword === 'ifndef') {
			const g = { directives: [d] };
			open.push(g);
			continue;
		}
		const g = open[open.length - 1];
		if (!g) continue;
		if (d.keyword === 'elif' || d.keyword === 'else' || d.keyword === 'elifdef' || d.keyword === 'elifndef') g.directives.push(d);
		else if (d.keyword === 'endif') {
			g.directives.push(d);
			open.pop();
			groups.push(g);
		}
	}
	// Outer groups first: a group inside a hidden branch is gone with it.
	groups.sort((a, b) => a.directives[0].start - b.directives[0].start);
	const isPunct = (i: number, p: string) => i >= 0 && i < t.count && t.kind[i] === PUNCT && tok(i) === p;
	const continues = (i: number): boolean => {
		// The token after a directive continues what came before it.
		if (i >= t.count) return false;
		if (t.kind[i] === IDENT) return tok(i) === 'else';
		if (t.kind[i] !== PUNCT) return false;
		return [')', ']', ',', ';', '||', '&&', '|', '?', ':', '.', '->', '=', '==', '!=', '<', '>', '<=', '>=', '/', '%', '^', '<<', '>>'].includes(tok(i));
	};
	const ended = (i: number): boolean => {
		// The token before a directive ends a statement or declaration.
		while (i >= 0 && dead[i]) i--;
		if (i < 0) return true;
		if (isPunct(i, ':')) {
			// A label needs a statement after it; a case label does not.
			const label = i - 1 >= 0 && t.kind[i - 1] === IDENT && tok(i - 1) !== 'default' && (i - 2 < 0 || isPunct(i - 2, ';') || isPunct(i - 2, '{') || isPunct(i - 2, '}'));
			return !label;
		}
		return isPunct(i, ';') || isPunct(i, '{') || isPunct(i, '}');
	};
	/** A branch that opens what it does not close, or closes what it did not open (`} else {`). */
	const balanced = (from: number, to: number): boolean => {
		let paren = 0;
		let brace = 0;
		for (let i = from; i < to; i++) {
			if (t.kind[i] !== PUNCT) continue;
			const p = tok(i);
			if (p === '(' || p === '[') paren++;
			else if (p === ')' || p === ']') paren--;
			else if (p === '{') brace++;
			else if (p === '}') brace--;
			if (paren < 0 || brace < 0) return false;
		}
		return paren === 0 && brace === 0;
	};
	const hiddenUntil: number[] = [];
	for (const g of groups) {
		const first = g.directives[0];
		if (hiddenUntil.some((e) => first.start < e)) continue;
		const ds = g.directives;
		let inside = false;
		for (let k = 0; k < ds.length && !inside; k++) {
			const d = ds[k];
			if (!ended(d.token - 1) || continues(d.token)) inside = true;
			if (k + 1 < ds.length && !balanced(d.token, ds[k + 1].token)) inside = true;
		}
		if (!inside) continue;
		const keep = ds.length > 2 && /^#\s*if\s+0\s*(?:\/[*/].*)?$/.test(text.slice(first.start, first.end)) ? 1 : 0;
		const drop: [number, number, number, number][] = [];
		for (let k = 0; k + 1 < ds.length; k++) {
			if (k === keep) continue;
			drop.push([ds[k].end, ds[k + 1].start, ds[k].token, ds[k + 1].token]);
		}
		if (drop.some(([s, e]) => RELEVANT.test(text.slice(s, e)))) continue;
		for (const d of ds) blank(d.start, d.end);
		for (const [s, e, from, to] of drop) {
			blank(s, e);
			for (let i = from; i < to; i++) dead[i] = 1;
			if (to > from) hidden.push([t.start[from], t.end[to - 1]]);
			hiddenUntil.push(e);
		}
	}
	hidden.sort((a, b) => a[0] - b[0]);
}

/** The text with each edit applied; `blank` keeps newlines and carriage returns. */
function apply(text: string, edits: [number, number, string][]): string {
	edits.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
	const parts: string[] = [];
	let at = 0;
	for (const [s, e, by] of edits) {
		if (s < at) continue;
		parts.push(text.slice(at, s));
		parts.push(by === 'blank' ? text.slice(s, e).replace(/[^\n\r]/g, ' ') : by);
		at = e;
	}
	parts.push(text.slice(at));
	return parts.join('');
}

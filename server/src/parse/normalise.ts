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

import { conditionalGroups } from './conditionals';
import { IDENT, PUNCT, STRING, tokenize, type Tokens } from './tokens';

/** The normalised text (the same string when nothing changed) and the code it hid. */
export interface Normalised {
	text: string;
	/** [start, end) of branches blanked as code the build with the first branch does not compile. */
	hidden: [number, number][];
}

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

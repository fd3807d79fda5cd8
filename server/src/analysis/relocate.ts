// A remembered function result whose recorded answers changed only in where other
// functions sit: an edit above a caller moves the lines of a calling context's chain
// (`kvm_arch_vcpu_put()` at x86.c:4671 → 4672), of a caller's call site, and the
// `file:line` inside an entry's reason. The dataflow does not read those positions; only
// the locations and messages built from them do. So instead of analysing the function
// again (kvm_xen_update_runstate_guest(): 20 ms), the old result gets the new positions.
//
// Sound only where a position can be traced back to one answer: a line or offset that
// appears both moved and unmoved among the answers, or moved to two places, or a reason
// that another unchanged answer contains, makes the result be computed afresh.
import type { Finding } from './findings';
import type { CallSummary, FunctionResult } from './memo';
import type { AtomicContext } from './observations';

const LINE_KEYS = new Set(['line', 'callLine', 'row']);
const OFFSET_KEYS = new Set(['startIndex', 'endIndex']);
const POSITIONS = /"(line|callLine|row|column|startIndex|endIndex)":\d+/g;
const FILE_LINES = /(\.[ch]):\d+/g;

/** The answer with every position blanked: equal for two answers that differ only in positions. */
function positionFree(json: string): string {
	return json.replace(POSITIONS, '"$1":0').replace(FILE_LINES, '$1:#');
}

/**
 * `result` (computed with the answers `before`) as it would be with the answers `after`, or
 * undefined when they differ in more than positions, or a position cannot be moved safely.
 */
export function relocated(before: ReadonlyMap<string, string | undefined>, after: ReadonlyMap<string, string | undefined>, result: FunctionResult): FunctionResult | undefined {
	const moves = new Moves();
	let changed = false;
	for (const [question, old] of before) {
		const now = after.get(question);
		if (now === old) continue;
		if (old === undefined || now === undefined || positionFree(old) !== positionFree(now)) return undefined;
		if (!moves.pair(JSON.parse(old), JSON.parse(now))) return undefined;
		changed = true;
	}
	if (!changed) return undefined;
	for (const [question, old] of before) if (old !== undefined && after.get(question) === old) moves.keep(JSON.parse(old));
	if (!moves.consistent()) return undefined;
	return moves.apply(result);
}

class Moves {
	private readonly lines = new Map<number, number>();
	private readonly offsets = new Map<number, number>();
	/** Reasons and other strings that changed (their `file:line`), longest first when applied. */
	private readonly texts = new Map<string, string>();
	private readonly keptLines = new Set<number>();
	private readonly keptOffsets = new Set<number>();
	private readonly keptTexts: string[] = [];
	private ambiguous = false;

	/** Records what moved between `old` and `now`; false when they differ otherwise. */
	pair(old: unknown, now: unknown, key = ''): boolean {
		if (typeof old === 'number' && typeof now === 'number') {
			if (old === now) {
				this.keep(old, key);
				return true;
			}
			if (LINE_KEYS.has(key)) return this.record(this.lines, old, now);
			if (OFFSET_KEYS.has(key)) return this.record(this.offsets, old, now);
			return false;
		}
		if (typeof old === 'string' && typeof now === 'string') {
			if (old !== now) this.record(this.texts, old, now);
			else this.keep(old);
			return true;
		}
		if (Array.isArray(old) && Array.isArray(now)) return old.length === now.length && old.every((o, i) => this.pair(o, now[i], key));
		if (old && now && typeof old === 'object' && typeof now === 'object') {
			const keys = Object.keys(old);
			const nowKeys = Object.keys(now);
			if (keys.length !== nowKeys.length || keys.some((k, i) => k !== nowKeys[i])) return false;
			return keys.every((k) => this.pair((old as Record<string, unknown>)[k], (now as Record<string, unknown>)[k], k));
		}
		return old === now;
	}

	/** Positions and strings of an answer that did not change. */
	keep(value: unknown, key = ''): void {
		if (typeof value === 'number') {
			if (LINE_KEYS.has(key)) this.keptLines.add(value);
			else if (OFFSET_KEYS.has(key)) this.keptOffsets.add(value);
		} else if (typeof value === 'string') this.keptTexts.push(value);
		else if (Array.isArray(value)) for (const v of value) this.keep(v, key);
		else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) this.keep(v, k);
	}

	consistent(): boolean {
		if (this.ambiguous) return false;
		if ([...this.lines.keys()].some((l) => this.keptLines.has(l))) return false;
		if ([...this.offsets.keys()].some((o) => this.keptOffsets.has(o))) return false;
		return ![...this.texts.keys()].some((t) => this.keptTexts.some((k) => k.includes(t)));
	}

	apply(result: FunctionResult): FunctionResult {
		return {
			...result,
			findings: result.findings.map((f, i) => this.finding(f, result.localRelated[i])),
			summary: { ...result.summary, calls: result.summary.calls.map((c) => this.call(c)) },
			hover: result.hover.map((h) => ({ ...h, ...(h.atomic ? { atomic: this.atomic(h.atomic) } : {}), ...(h.context ? { context: this.deep(h.context) } : {}) })),
		};
	}

	private record<T>(map: Map<T, T>, old: T, now: T): boolean {
		const known = map.get(old);
		if (known !== undefined && known !== now) this.ambiguous = true;
		map.set(old, now);
		return true;
	}

	private finding(f: Finding, local: boolean[]): Finding {
		return {
			...f,
			message: this.text(f.message),
			related: f.related.map((r, j) => {
				const message = this.text(r.message);
				if (local[j]) return { ...r, message };
				const by = (this.lines.get(r.range.start.line) ?? r.range.start.line) - r.range.start.line;
				return { ...r, message, range: { start: { ...r.range.start, line: r.range.start.line + by }, end: { ...r.range.end, line: r.range.end.line + by } } };
			}),
		};
	}

	/** A call's atomic context: a caller's site (with its file) and a calling context come from answers; a local site does not. */
	private call(c: CallSummary): CallSummary {
		return c.atomic ? { ...c, atomic: this.atomic(c.atomic) } : c;
	}

	private atomic(a: AtomicContext): AtomicContext {
		const { site, file, context, why } = a;
		return {
			...a,
			why: this.text(why),
			...(site && file ? { site: this.deep(site) } : {}),
			...(context ? { context: this.deep(context) } : {}),
		};
	}

	private text(s: string): string {
		for (const [old, now] of [...this.texts].sort((a, b) => b[0].length - a[0].length)) if (s.includes(old)) s = s.split(old).join(now);
		return s;
	}

	private deep<T>(value: T, key = ''): T {
		if (typeof value === 'number') {
			const map = LINE_KEYS.has(key) ? this.lines : OFFSET_KEYS.has(key) ? this.offsets : undefined;
			return (map?.get(value) ?? value) as T;
		}
		if (typeof value === 'string') return this.text(value) as T;
		if (Array.isArray(value)) return value.map((v) => this.deep(v, key)) as T;
		if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.deep(v, k)])) as T;
		return value;
	}
}

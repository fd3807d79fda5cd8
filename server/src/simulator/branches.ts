// Tidying an extracted thread's program (fromSource.ts): branches whose ways lead to
// programs of the same shape are one way, and the labels an op may continue at.
import type { ReaderOp } from './reader';

/** Labels an op may continue at. */
export function labelsOf(o: ReaderOp): string[] {
	switch (o.op) {
		case 'goto':
			return [o.target];
		case 'choose':
			return o.ways.map((w) => w.target);
		case 'check':
		case 'trylock':
		case 'refresh':
		case 'activate':
		case 'test':
		case 'active':
		case 'checkRequest':
			return o.else ? [o.else] : [];
		default:
			return [];
	}
}

/** An op without where it is (text, line): what it does, for comparing program points. */
function shapeOf(o: ReaderOp, cls: (label: string) => number): string {
	const { text: _t, line: _l, loc: _c, ...rest } = o as ReaderOp & { text?: string; line?: number; loc?: unknown };
	const r = rest as Record<string, unknown>;
	if (o.op === 'goto') return `goto ${cls(o.target)}`;
	if (o.op === 'choose') return `choose ${o.ways.map((w) => cls(w.target)).join(',')}`;
	if ('else' in r && typeof r.else === 'string') r.else = cls(r.else);
	return JSON.stringify(r);
}

/**
 * Branches the model need not take: both ways run the same operations on the
 * same caches (`IS_ENABLED(CONFIG_64BIT) && long_mode` choosing between the
 * 64-bit and the compat layout of the same page). Program points are
 * partitioned by what they do from there on (Moore's refinement, lines
 * ignored); a nondeterministic branch whose ways fall into one class becomes
 * a jump to its first way. Returns the branches kept.
 */
export function collapseEquivalentBranches(bodies: Map<string, ReaderOp[]>): number {
	/** A point that only jumps on is the point it jumps to (CFG joins, statements without a gpc operation). */
	const resolve = (label: string): string => {
		const seen = new Set<string>();
		let l = label;
		for (;;) {
			const b = bodies.get(l)!;
			if (b.length !== 1 || b[0].op !== 'goto' || seen.has(l)) return l;
			seen.add(l);
			l = b[0].target;
		}
	};
	const labels = [...bodies.keys()].filter((l) => resolve(l) === l);
	for (;;) {
		let cls = new Map(labels.map((l) => [l, 0]));
		const of = (x: string) => cls.get(resolve(x))!;
		for (;;) {
			const sig = new Map<string, number>();
			const next = new Map<string, number>();
			for (const l of labels) {
				const key = `${cls.get(l)}|${bodies.get(l)!.map((o) => shapeOf(o, of)).join(';')}`;
				if (!sig.has(key)) sig.set(key, sig.size);
				next.set(l, sig.get(key)!);
			}
			const stable = new Set(next.values()).size === new Set(cls.values()).size;
			cls = next;
			if (stable) break;
		}
		let changed = false;
		let kept = 0;
		for (const l of labels) {
			const body = bodies.get(l)!;
			body.forEach((o, i) => {
				if (o.op !== 'choose') return;
				if (new Set(o.ways.map((w) => of(w.target))).size === 1) {
					body[i] = { op: 'goto', target: o.ways[0].target };
					changed = true;
				} else kept++;
			});
		}
		if (!changed) return kept;
	}
}

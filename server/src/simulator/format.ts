// Text rendering of a run: the verdict line, then one line per step with the
// thread, the action and where it is in the kernel, and a short state summary.
import type { MatrixCell, MutantResult, RunContext, RunResult, Snapshot, Step } from './types';
import { findVariant } from './variants';

const where = (s: Step) => {
	const l = s.location;
	const line = l.line ? `:${l.line}` : '';
	const tree = l.tree ? ` [${l.tree}]` : '';
	return `${l.file}${line} ${l.function}()${tree}`;
};

export function summarize(st: Snapshot): string {
	const caches = st.caches
		.map((c) => {
			const holders = [c.lock.writer ? `W:${c.lock.writer}` : '', ...c.lock.readers.map((r) => `R:${r}`), c.lock.queued ? `Q:${c.lock.queued}` : ''];
			// A count that disagrees with the holders means the lock was re-initialised under them.
			if (c.lock.count !== c.lock.readers.length) holders.push(`count=${c.lock.count}`);
			const lock = holders.filter(Boolean).join(',');
			return `${c.name}{${c.active ? '' : 'inactive '}${c.valid ? 'valid' : 'invalid'} pfn=${c.pfn ?? '-'} khva=${c.khva ?? '-'} gen=${c.generation}${lock ? ` lock=${lock}` : ''}}`;
		})
		.join(' ');
	const vm = st.vm;
	const host = Object.entries(st.host.backing)
		.map(([h, p]) => `${h}→${p}`)
		.join(' ');
	const freed = st.host.pages.filter((p) => p.freed).map((p) => p.page);
	const sched = `${vm.rqLock ? ` rq=${vm.rqLock}` : ''}${vm.piLock ? ` pi=${vm.piLock}` : ''}`;
	return `${caches} ${host}${freed.length ? ` freed=${freed.join(',')}` : ''}${sched} seq=${vm.mmuInvalidateSeq} in_progress=${vm.mmuInvalidateInProgress} mn_active=${vm.mnActiveInvalidateCount} memslots.gen=${vm.memslotGeneration}`;
}

function steps(lines: string[], list: Step[], width: number, first: number, property?: string): void {
	list.forEach((s, i) => {
		const mark = s.violation ? '!!' : '  ';
		lines.push(`${mark}${String(first + i).padStart(3)}. ${s.thread.padEnd(width)}  ${s.action}`);
		lines.push(`${' '.repeat(7 + width)}  at ${where(s)}: ${s.location.hint.trim()}`);
		if (s.violation && s.note) lines.push(`${' '.repeat(7 + width)}  ${property}: ${s.note}`);
		lines.push(`${' '.repeat(7 + width)}  ${summarize(s.state)}`);
	});
}

export function formatTrace(r: RunResult): string {
	const lines: string[] = [];
	const head = `${r.scenario} × ${r.variant}: ${r.verdict.toUpperCase()}`;
	lines.push(r.verdict === 'safe' ? `${head} (${r.states} states, ${r.transitions} transitions, ${r.ms} ms)` : `${head}: ${r.property} — ${r.message} (${r.states} states, ${r.ms} ms)`);
	if (r.liveness) lines.push(`liveness: ${r.liveness === 'holds' ? 'holds (every thread that is not an adversary finishes under weak fairness)' : `VIOLATED — ${r.lasso?.message ?? 'a fair schedule keeps a thread from finishing'}`}`);
	if (r.context) lines.push(...contextLines(r.context));
	if (r.pfncache) lines.push(`pfncache: ${r.pfncache.variant} (${r.pfncache.how === 'detected' ? 'detected' : r.pfncache.how === 'given' ? 'asked for' : 'default'}): ${r.pfncache.why}`);
	if (r.explanation) lines.push(`why: ${r.explanation}`);
	if (r.trace) {
		lines.push(`threads: ${r.threads.join(', ')}`);
		lines.push(`   initial  ${summarize(r.initial)}`);
		steps(lines, r.trace, Math.max(...r.trace.map((s) => s.thread.length)), 1, r.property);
	}
	if (r.lasso && r.property === 'deadlock' && !r.lasso.cycle.length) {
		lines.push('lasso (refresh-terminates): the deadlock above; no thread can move, the last state repeats forever');
	} else if (r.lasso) {
		const all = [...r.lasso.stem, ...r.lasso.cycle];
		const width = Math.max(4, ...all.map((s) => s.thread.length));
		lines.push(`lasso (refresh-terminates): stem of ${r.lasso.stem.length} steps, then a cycle of ${r.lasso.cycle.length} steps that repeats forever`);
		steps(lines, r.lasso.stem, width, 1);
		if (r.lasso.cycle.length) {
			lines.push(`  ↻ cycle (back to the state after step ${r.lasso.stem.length}, forever):`);
			steps(lines, r.lasso.cycle, width, r.lasso.stem.length + 1);
		} else lines.push('  ↻ no thread can move: the last state repeats forever');
	}
	return lines.join('\n') + '\n';
}

/** `simulate --matrix` as text: per variant the scenarios with safety and liveness, then the mutation score. */
export function formatMatrix(cells: MatrixCell[], mutants: MutantResult[]): string {
	const variants = [...new Set(cells.map((c) => c.variant))];
	const scenarios = [...new Set(cells.map((c) => c.scenario))];
	const w = Math.max(...scenarios.map((s) => s.length));
	const safety = (c: MatrixCell) => (c.verdict === 'safe' ? `safe, ${c.states} states` : `VIOLATION ${c.property}, ${c.states} states`);
	const liveness = (c: MatrixCell) => (c.liveness === 'holds' ? 'terminates' : 'LIVELOCK');
	const lines: string[] = ['Each scenario against each algorithm variant: safety (states explored), liveness under weak fairness, time.'];
	for (const v of variants) {
		lines.push(`${v}:`);
		for (const s of scenarios) {
			const c = cells.find((x) => x.scenario === s && x.variant === v)!;
			lines.push(`  ${s.padEnd(w)}  ${safety(c).padEnd(38)} ${liveness(c).padEnd(10)} ${String(c.ms).padStart(6)} ms`);
		}
	}
	// The verdicts a reader wants first: where upstream fails, and whether every historical race is found again.
	const upstream = cells.filter((c) => c.variant === 'upstream');
	const unsafe = upstream.filter((c) => c.verdict !== 'safe').map((c) => c.scenario);
	const livelocks = upstream.filter((c) => c.liveness !== 'holds').map((c) => c.scenario);
	const others = variants.filter((v) => v !== 'upstream');
	const historical = others.filter((v) => findVariant(v)?.expect === 'refuted');
	const references = others.filter((v) => !historical.includes(v));
	const refuted = historical.filter((v) => cells.some((c) => c.variant === v && c.verdict === 'violation'));
	const upstreamSafe = new Set(upstream.filter((c) => c.verdict === 'safe').map((c) => c.scenario));
	const referencesFail = references.filter((v) => cells.some((c) => c.variant === v && upstreamSafe.has(c.scenario) && c.verdict !== 'safe'));
	lines.push('');
	lines.push(unsafe.length ? `upstream: VIOLATION in ${unsafe.join(', ')}; safe in the other ${upstream.length - unsafe.length} scenarios` : `upstream: safe in all ${upstream.length} scenarios`);
	if (livelocks.length) lines.push(`upstream liveness: LIVELOCK in ${livelocks.join(', ')} (safety holds there)`);
	lines.push(`variants with a known race (historical or missing a part): ${refuted.length} of ${historical.length} refuted somewhere${refuted.length < historical.length ? `; never refuted: ${historical.filter((v) => !refuted.includes(v)).join(', ')}` : ''}`);
	if (references.length) lines.push(`reference designs (${references.join(', ')}): ${referencesFail.length ? `VIOLATION where upstream is safe: ${referencesFail.join(', ')}` : 'safe wherever upstream is'}`);
	const live = mutants.filter((m) => !m.equivalent);
	const killed = live.filter((m) => m.killedBy.length);
	lines.push('', `mutation score: ${killed.length}/${live.length} non-equivalent mutants of the 6.12 model killed (${mutants.length - live.length} equivalent)`);
	const mw = Math.max(...mutants.map((m) => m.id.length));
	for (const m of mutants) {
		const what = m.equivalent ? `equivalent: ${m.reason}` : m.killedBy.length ? `killed by ${m.killedBy.join(', ')}` : 'SURVIVED every scenario';
		lines.push(`  ${m.id.padEnd(mw)}  ${what}`);
	}
	return lines.join('\n') + '\n';
}

/** The calling context of a function's run: what kind, why, and the chain with its file:line per call. */
function contextLines(c: RunContext): string[] {
	const lines = [`context: ${c.label}${c.why ? ` — ${c.why}` : ''}`];
	(c.chain ?? []).forEach((l, i) => {
		const bound = Object.entries(l.bound).map(([k, v]) => `${k} = ${v}`).join(', ');
		const call = i > 0 && l.callLine ? `called at ${c.chain![i - 1].file}:${l.callLine}, ` : '';
		lines.push(`  ${i === 0 ? '  ' : '→ '}${l.fn}()  ${call}defined at ${l.file}:${l.line}${bound ? `  with ${bound}` : ''}`);
	});
	return lines;
}

/** `simulate --from`: every run of the function (per calling context and adversaries), then a summary. */
export function formatFunctionRuns(fn: string, runs: RunResult[]): string {
	const parts = runs.map(formatTrace);
	const summary = runs.map((r) => {
		const verdict = r.verdict === 'safe' ? 'safe' : `VIOLATION ${r.property}`;
		const live = r.liveness === 'violated' ? ', LIVELOCK' : '';
		return `  ${r.scenario.replace(/^\S+\(\) in /, '')}: ${verdict}${live} (${r.states} states)`;
	});
	return `${parts.join('\n')}\n${fn}(): ${runs.length} run${runs.length === 1 ? '' : 's'}\n${summary.join('\n')}\n`;
}

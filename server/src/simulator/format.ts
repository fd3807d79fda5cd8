// Text rendering of a run: the verdict line, then one line per step with the
// thread, the action and where it is in the kernel, and a short state summary.
import type { RunResult, Snapshot, Step } from './types';

const where = (s: Step) => {
	const l = s.location;
	const line = l.line ? `:${l.line}` : '';
	const tree = l.tree ? ` [${l.tree}]` : '';
	return `${l.file}${line} ${l.function}()${tree}`;
};

export function summarize(st: Snapshot): string {
	const caches = st.caches
		.map((c) => {
			const holders = [c.lock.writer ? `W:${c.lock.writer}` : '', ...c.lock.readers.map((r) => `R:${r}`)];
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
	return `${caches} ${host}${freed.length ? ` freed=${freed.join(',')}` : ''} seq=${vm.mmuInvalidateSeq} in_progress=${vm.mmuInvalidateInProgress} mn_active=${vm.mnActiveInvalidateCount} memslots.gen=${vm.memslotGeneration}`;
}

export function formatTrace(r: RunResult): string {
	const lines: string[] = [];
	const head = `${r.scenario} × ${r.variant}: ${r.verdict.toUpperCase()}`;
	lines.push(r.verdict === 'safe' ? `${head} (${r.states} states, ${r.transitions} transitions, ${r.ms} ms)` : `${head}: ${r.property} — ${r.message} (${r.states} states, ${r.ms} ms)`);
	if (!r.trace) return lines.join('\n') + '\n';
	lines.push(`threads: ${r.threads.join(', ')}`);
	lines.push(`   initial  ${summarize(r.initial)}`);
	const width = Math.max(...r.trace.map((s) => s.thread.length));
	r.trace.forEach((s, i) => {
		const mark = s.violation ? '!!' : '  ';
		lines.push(`${mark}${String(i + 1).padStart(3)}. ${s.thread.padEnd(width)}  ${s.action}`);
		lines.push(`${' '.repeat(7 + width)}  at ${where(s)}: ${s.location.hint.trim()}`);
		if (s.violation && s.note) lines.push(`${' '.repeat(7 + width)}  ${r.property}: ${s.note}`);
		lines.push(`${' '.repeat(7 + width)}  ${summarize(s.state)}`);
	});
	return lines.join('\n') + '\n';
}

// Prints a model as Promela for Spin. Each step becomes one guarded d_step in a
// do-loop over the thread's pc, so Spin interleaves exactly the same atomic
// actions as explorer.ts; assertions and the end-of-run leak check are asserts,
// deadlocks are Spin's invalid end states. For liveness the same model is
// printed without its assertions and with the LTL formula "<> every
// non-adversary thread is done", which pan checks under weak fairness (-a -f).
import type { BuiltModel } from './build';
import { END, type Expr, type Instr, type Stmt, type ThreadProgram, type VarRef } from './ir';

const gname = (v: string) => `g_${v}`;
const lname = (v: string) => `l_${v}`;

function expr(e: Expr): string {
	if (typeof e === 'number') return e < 0 ? `(${e})` : String(e);
	if ('v' in e) return ref(e);
	switch (e.op) {
		case '!':
			return `(!${expr(e.a)})`;
		case '?':
			return `(${expr(e.c)} -> ${expr(e.a)} : ${expr(e.b)})`;
		default:
			return `(${expr(e.a)} ${e.op} ${expr(e.b)})`;
	}
}

const ref = (r: VarRef): string => (r.local ? lname(r.v) : r.i === undefined ? gname(r.v) : `${gname(r.v)}[${expr(r.i)}]`);

interface Emit {
	/** global names that Spin does not see (write-only history variables) */
	ghosts: Set<string>;
	liveness: boolean;
}

function stmts(list: Stmt[], ind: string, o: Emit): string[] {
	const out: string[] = [];
	for (const s of list) {
		if ('set' in s) {
			if (!s.set.local && o.ghosts.has(s.set.v)) continue;
			out.push(`${ind}${ref(s.set)} = ${expr(s.to)};`);
		} else if ('assert' in s) {
			if (!o.liveness) out.push(`${ind}assert(${expr(s.assert)}); /* ${s.prop}: ${s.msg.replace(/\*\//g, '* /')} */`);
		} else {
			out.push(`${ind}if`);
			out.push(`${ind}:: ${expr(s.if)} ->`);
			out.push(...stmts(s.then, ind + '\t', o), `${ind}\tskip;`);
			out.push(`${ind}:: else ->`);
			out.push(...stmts(s.else ?? [], ind + '\t', o), `${ind}\tskip;`);
			out.push(`${ind}fi;`);
		}
	}
	return out;
}

function thread(th: ThreadProgram, t: number, o: Emit): string {
	const index = new Map(th.instrs.map((ins, i) => [ins.label, i]));
	const end = th.instrs.length;
	const pcOf = (label: string) => (label === END ? end : index.get(label)!);
	const goto = (label: string, ind: string): string[] => {
		const k = pcOf(label);
		const lines = [`${ind}pc = ${k};`];
		if (k === end) lines.push(`${ind}g_ndone = g_ndone + 1;`, `${ind}g_fin[${t}] = 1;`);
		return lines;
	};
	const next = (ins: Instr, ind: string): string[] => {
		if (typeof ins.next === 'string') return goto(ins.next, ind);
		if ('choice' in ins.next) throw new Error('a nondeterministic step is printed one option per branch');
		const out: string[] = [];
		let cur = ind;
		for (const c of ins.next.cases) {
			out.push(`${cur}if`, `${cur}:: ${expr(c.when)} ->`, ...goto(c.goto, cur + '\t'), `${cur}:: else ->`);
			cur += '\t';
		}
		out.push(...goto(ins.next.else, cur));
		for (let i = ins.next.cases.length - 1; i >= 0; i--) out.push(`${ind}${'\t'.repeat(i)}fi;`);
		return out;
	};
	const lines: string[] = [`proctype t${t}_${th.name.replace(/[^A-Za-z0-9_]/g, '_')}() {`];
	for (const n of th.locals) lines.push(`\tint ${lname(n)} = 0;`);
	lines.push('\tint pc = 0;', '\tdo');
	th.instrs.forEach((ins, i) => {
		const guard = ins.guard === undefined ? '' : ` && ${expr(ins.guard)}`;
		// A nondeterministic branch is one option per way it can go, with the same guard and body.
		const ways: Instr[] = typeof ins.next !== 'string' && 'choice' in ins.next ? ins.next.choice.map((c) => ({ ...ins, next: c.goto })) : [ins];
		for (const way of ways) {
			const label = way === ins ? '' : ` → ${way.next as string}`;
			lines.push(`\t/* ${ins.action.replace(/\*\//g, '* /')}${label} (${ins.loc.file}: ${ins.loc.function}) */`);
			lines.push(`\t:: d_step { (pc == ${i}${guard}) ->`);
			lines.push(...stmts(ins.body, '\t\t', o));
			lines.push(...next(way, '\t\t'));
			if (th.locals.includes('br')) lines.push('\t\tl_br = 0;');
			lines.push('\t}');
		}
	});
	lines.push(`\t:: (pc == ${end}) -> break`, '\tod', '}');
	return lines.join('\n');
}

export interface PromelaOptions {
	/** print the liveness model: no assertions, no end check, the LTL formula `live` */
	liveness?: boolean;
}

export function emitPromelaModel(m: BuiltModel, opts: PromelaOptions = {}): string {
	const o: Emit = { ghosts: new Set(m.globals.filter((d) => d.ghost).map((d) => d.name)), liveness: opts.liveness === true };
	const globals = m.globals.filter((d) => !d.ghost);
	const out: string[] = [
		`/* gpcscope simulator model: scenario ${m.scenario}, variant ${m.variant}${o.liveness ? ' (liveness)' : ''}.`,
		'   Generated from the same program text the TypeScript explorer runs. */',
		'',
	];
	for (const d of globals) out.push(d.size ? `int ${gname(d.name)}[${d.size}];` : `int ${gname(d.name)};`);
	out.push(`int g_fin[${m.threads.length}];`, '');
	m.threads.forEach((th, t) => out.push(thread(th, t, o), ''));
	if (o.liveness) {
		const done = m.threads.map((th, t) => (th.adversary ? '' : `g_fin[${t}] == 1`)).filter(Boolean);
		out.push(`ltl live { <> (${done.length ? done.join(' && ') : 'true'}) }`, '');
	} else {
		const checks = m.endChecks.map((c) => `\t\tassert(${expr(c.assert)}); /* ${c.prop} */`);
		out.push('proctype end_check() {', `\t(g_ndone == ${m.threads.length}) ->`, '\td_step {', ...checks, '\t\tskip', '\t}', '}', '');
	}
	out.push('init {', '\td_step {');
	for (const d of globals) {
		const n = d.size ?? 0;
		if (!n) out.push(`\t\t${gname(d.name)} = ${d.init as number};`);
		else for (let i = 0; i < n; i++) out.push(`\t\t${gname(d.name)}[${i}] = ${Array.isArray(d.init) ? d.init[i] : d.init};`);
	}
	out.push('\t};', '\tatomic {');
	m.threads.forEach((th, t) => out.push(`\t\trun t${t}_${th.name.replace(/[^A-Za-z0-9_]/g, '_')}();`));
	if (!o.liveness) out.push('\t\trun end_check()');
	else out[out.length - 1] = out[out.length - 1].replace(/;$/, '');
	out.push('\t}', '}', '');
	return out.join('\n');
}

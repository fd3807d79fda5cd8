// Hover: the gpc contract and the state the engine computes at the cursor —
// which lock is held since which line, whether the cache is validated and by
// which check, whether the path is atomic and why; lifecycle sites of a cache
// instance; the rule behind a diagnostic and how to fix it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hover, Position } from 'vscode-languageserver';
import { URI } from 'vscode-uri';
import { gpcFunctionsFor, RWLOCK_PRIMITIVES, type ApiEra, type GpcFunction, type GpcRole } from '../analysis/api';
import { chainText, contextLabel } from '../analysis/contexts';
import type { EngineResult } from '../analysis/engine';
import { analyzeFunction } from '../analysis/flow';
import { functionName, variableTypes } from '../parse/declarations';
import type { NodeSpan } from '../parse/positions';
import type { AtomicContext } from '../analysis/observations';
import { hoverFact, placedFact, type HoverFact } from '../analysis/hoverFacts';
import { canonicalPath, displayPath } from '../analysis/paths';
import { ruleInfo, type RuleId } from '../catalogue';
import { packageRoot } from '../packageRoot';
import { usageCensusExplanation } from '../usage/explain';
import { enclosingDefinition } from '../parse/definitions';
import type { SyntaxNode, Tree } from '../parse/parser';
import { isUsageName } from '../vocabulary';

export interface HoverContext {
	tree: Tree;
	/** Root-relative path of the document, as findings name it. */
	file: string;
	result: EngineResult;
	uriOf(file: string): string;
}

const CONTRACT: Record<GpcRole, string> = {
	check: 'Needs `gpc->lock` held for read. Returns true when the cache maps `len` bytes and the mapping is valid: `khva` and `pfn` are then stable **until the lock is dropped**. Does not sleep. On false: drop the lock, `REFRESH()`, re-take the lock and check again, in a loop; atomic paths bail out instead.',
	refresh: '**May sleep** (takes `gpc->refresh_lock`, may fault the page in): call without `gpc->lock` and never on an atomic path. Returns 0 on success; then re-take the lock and **check again** — another invalidation may land in between.',
	activate: '**May sleep.** Maps the range and puts the cache on the invalidation list; `offset_in_page(gpa) + len` must not exceed a page. Pair it with `kvm_gpc_deactivate()` in the owner\'s teardown.',
	deactivate: '**May sleep.** Unmaps and takes the cache off the invalidation list; later checks fail until it is activated again.',
	init: 'Initialises the locks once, before any activation. Maps nothing.',
	unmap: '**May sleep.** Drops the mapping.',
	markDirty: 'Marks the page behind the cache dirty in its memslot (dirty logging, live migration). Call **while `gpc->lock` is held**, after writing through `khva`.',
};

/** The contract in the era's own names: 6.1 refreshes with kvm_gfn_to_pfn_cache_refresh(); kvm_gpc_refresh() came in 6.2. */
function contract(role: GpcRole, era: ApiEra): string {
	const refresh = [...gpcFunctionsFor(era).values()].find((f) => f.role === 'refresh')?.name ?? 'kvm_gpc_refresh';
	return CONTRACT[role].replace('REFRESH', refresh);
}

export function hover(ctx: HoverContext, position: Position): Hover | null {
	const { tree, result } = ctx;
	const node = tree.rootNode.descendantForPosition({ row: position.line, column: position.character });
	if (!node) return null;
	const sections: string[] = [];

	const call = node.parent?.type === 'call_expression' && node.parent.childForFieldName('function')?.id === node.id ? node.parent : undefined;
	const api = call ? result.knowledge.api.get(node.text) : undefined;
	if (call && api) sections.push(apiHover(ctx, call, api));
	else if (call && isLockCall(guardOf(call))) {
		const text = lockHover(ctx, guardOf(call));
		if (text) sections.push(text);
	}
	else if (node.type === 'field_identifier' && (node.text === 'khva' || node.text === 'pfn') && node.parent?.type === 'field_expression') {
		const text = mappingHover(ctx, node.parent);
		if (text) sections.push(text);
	} else if (isUsageName(node.text)) {
		const census = result.notes.usageCensus;
		if (census) sections.push(usageCensusExplanation(census));
	} else {
		const text = instanceHover(ctx, node);
		if (text) sections.push(text);
	}

	for (const f of result.findings) {
		if (f.file !== ctx.file || !contains(f.range, position)) continue;
		sections.push(ruleHover(f.rule));
	}
	return sections.length ? { contents: { kind: 'markdown', value: sections.join('\n\n---\n\n') } } : null;
}

function contains(range: { start: Position; end: Position }, p: Position): boolean {
	const after = p.line > range.start.line || (p.line === range.start.line && p.character >= range.start.character);
	const before = p.line < range.end.line || (p.line === range.end.line && p.character <= range.end.character);
	return after && before;
}

/**
 * What the analysis saw at `target` on every path that reaches it: kept from the last
 * analysis when the function still has the text it saw, else from its dataflow run now.
 */
function observationsAt(ctx: HoverContext, target: SyntaxNode): HoverFact[] {
	const fn = enclosingDefinition(target);
	if (!fn) return [];
	const origin = { row: fn.startPosition.row, index: fn.startIndex };
	const name = functionName(fn);
	let facts = name !== undefined ? ctx.result.hoverFacts(ctx.file, name, fn.text) : undefined;
	if (!facts) {
		const seen: HoverFact[] = [];
		analyzeFunction(fn, ctx.result.knowledgeFor(ctx.file), (o) => {
			const fact = hoverFact(o, origin);
			if (fact) seen.push(fact);
		});
		facts = seen;
	}
	const [start, end] = [target.startIndex - origin.index, target.endIndex - origin.index];
	return facts.filter((f) => f.start === start && f.end === end).map((f) => placedFact(f, origin));
}

const line = (n: NodeSpan) => n.startPosition.row + 1;

function link(ctx: HoverContext, file: string, row: number, label?: string): string {
	return `[${label ?? `${file.split('/').pop()}:${row}`}](${ctx.uriOf(file)}#L${row})`;
}

/** The site that makes a path atomic: in this file "line N", in a caller's file "file.c:N". */
function atomicSiteLink(ctx: HoverContext, site: NodeSpan, file = ctx.file): string {
	return link(ctx, file, line(site), file === ctx.file ? `line ${line(site)}` : undefined);
}

function apiHover(ctx: HoverContext, call: SyntaxNode, api: GpcFunction): string {
	const decl = ctx.result.facts.flatMap((f) => f.declarations).find((d) => d.name === api.name);
	const signature = decl
		? `${api.name}(${decl.params.map((p) => p.name).join(', ')})`
		: api.name + '(…)';
	const where = decl ? ` — declared at ${link(ctx, decl.file, decl.line + 1)}` : '';
	const lines = [`**${signature}** · API era ${ctx.result.era.era}${where}`, contract(api.role, ctx.result.era.era)];
	const obs = observationsAt(ctx, call).filter((o) => o.kind === 'gpcCall');
	if (obs.length) lines.push(stateSummary(ctx, obs[0].instance, obs, obs.map((o) => o.atomic)));
	else if (!enclosingDefinition(call)) lines.push('_Not inside a function: no state to show._');
	else lines.push('_This call is not reached by the analysis (unreachable code or an unparsed region)._');
	return lines.join('\n\n');
}

/** `guard(read_lock)` inside `guard(read_lock)(&gpc->lock)`: the whole call. */
function guardOf(call: SyntaxNode): SyntaxNode {
	return call.childForFieldName('function')?.text === 'guard' && call.parent?.type === 'call_expression' ? call.parent : call;
}

/** `read_lock_irqsave(&gpc->lock, flags)`, `guard(read_lock)(&gpc->lock)`, `scoped_guard(read_lock, &gpc->lock)`. */
function isLockCall(call: SyntaxNode): boolean {
	const callee = call.childForFieldName('function');
	if (!callee) return false;
	if (RWLOCK_PRIMITIVES[callee.text]?.op === 'lock' || callee.text === 'scoped_guard') return true;
	return callee.type === 'call_expression' && callee.childForFieldName('function')?.text === 'guard';
}

/** A gpc lock: the calling contexts it is taken in (sched-out, hard-IRQ, atomic), each with its chain. */
function lockHover(ctx: HoverContext, call: SyntaxNode): string | undefined {
	const obs = observationsAt(ctx, call).filter((o) => o.kind === 'lock');
	if (!obs.length) return undefined;
	const inst = displayPath(obs[0].instance);
	const blocking = !!obs[0].blocking;
	const lines = [`**\`${inst}.lock\`** taken ${blocking ? 'with a blocking primitive (it spins while a writer holds or waits for the lock)' : 'with a trylock (never waits)'}`];
	const order = { 'sched-out': 0, hardirq: 1, atomic: 2 } as const;
	const contexts = [...new Map(obs.map((o) => o.context).filter((c) => !!c).map((c) => [c!.why, c!])).values()].sort((a, b) => order[a.kind] - order[b.kind]);
	for (const c of contexts) {
		const risk = blocking && c.kind === 'sched-out' ? ' — a blocking gpc lock here can deadlock against the scheduler: take it with `read_trylock()`'
			: blocking && c.kind === 'hardirq' ? ' — on PREEMPT_RT this rwlock sleeps: take it with `read_trylock()`' : '';
		lines.push(`- **Calling context:** ${contextLabel(c.kind)} via ${chainText(c.chain)}${risk}`);
	}
	if (obs.some((o) => !o.context)) lines.push(`- **Calling context:** ${contexts.length ? 'also ' : ''}called from process context or contexts not known to be atomic`);
	return lines.join('\n');
}

function mappingHover(ctx: HoverContext, use: SyntaxNode): string | undefined {
	const obs = observationsAt(ctx, use).filter((o) => o.kind === 'use');
	if (!obs.length) return undefined;
	const inst = displayPath(obs[0].instance);
	const states = obs;
	const safe = states.every((s) => s.held === 'yes' && s.valid === 'yes');
	const unsafe = states.some((s) => s.held === 'no' || (s.held === 'yes' && s.valid === 'no'));
	const verdict = safe
		? `**Safe:** \`${inst}.lock\` is held and the cache was validated under this hold, so the mapping cannot be invalidated here.`
		: unsafe
			? `**Not safe on every path:** the mapping of \`${inst}\` may be invalidated here (see the state below).`
			: `**Unknown:** the state of \`${inst}\` depends on the callers here.`;
	return [verdict, stateSummary(ctx, obs[0].instance, states, [])].join('\n\n');
}

function stateSummary(ctx: HoverContext, instance: string, states: HoverFact[], atomic: (AtomicContext | undefined)[]): string {
	const inst = displayPath(instance);
	const out: string[] = [];
	// The number of merged path states says nothing to a reader; "some paths only" below does.
	const paths = '';
	if (states.every((s) => s.held === 'yes')) {
		const holds = [...new Map(states.map((s) => [s.hold?.startIndex, s.hold])).values()].filter((h) => h);
		const how = holds.map((h) => `\`${h!.text.split('(')[0].trim()}\` at ${link(ctx, ctx.file, line(h!), `line ${line(h!)}`)}`).join(' or ');
		out.push(`- **Lock:** \`${inst}.lock\` held${how ? ` since ${how}` : ''}${paths}`);
	} else if (states.every((s) => s.held === 'no')) out.push(`- **Lock:** \`${inst}.lock\` not held${paths}`);
	else if (states.some((s) => s.held === 'yes')) out.push(`- **Lock:** \`${inst}.lock\` held on some paths only${paths}`);
	else out.push(`- **Lock:** \`${inst}.lock\` state comes from the callers`);

	if (states.every((s) => s.valid === 'yes')) {
		const checks = [...new Set(states.map((s) => s.checkSite).filter((c) => c).map((c) => line(c!)))];
		out.push(`- **Validated:** yes, by the check at ${checks.map((l) => link(ctx, ctx.file, l, `line ${l}`)).join(', ')}`);
	} else if (states.some((s) => s.failedSite)) {
		const failed = states.find((s) => s.failedSite)!.failedSite!;
		out.push(`- **Validated:** no — the check at ${link(ctx, ctx.file, line(failed), `line ${line(failed)}`)} failed on this path`);
	} else if (states.every((s) => s.valid === 'no')) out.push('- **Validated:** no successful check under the current hold');
	else out.push('- **Validated:** on some paths only');

	const why = atomic.find((a) => a);
	const some = atomic.some((a) => !a) ? ' on some paths' : '';
	if (why) out.push(`- **Atomic${some}:** ${why.why}${why.site ? ` (${atomicSiteLink(ctx, why.site, why.file)})` : ''} — must not sleep there`);
	else if (atomic.length) out.push('- **Atomic:** no atomic context known on this path');
	return out.join('\n');
}

function instanceHover(ctx: HoverContext, node: SyntaxNode): string | undefined {
	const fn = enclosingDefinition(node);
	let expr: SyntaxNode | undefined;
	if (node.type === 'field_identifier' && node.parent?.type === 'field_expression') expr = node.parent;
	else if (node.type === 'identifier' && fn) expr = node;
	if (!expr) return undefined;
	const types = fn ? variableTypes(fn) : new Map<string, string>();
	let path = canonicalPath(expr, {});
	if (path && expr.type === 'identifier' && fn) {
		// A local alias: `struct gfn_to_pfn_cache *gpc = &vcpu->arch.xen.vcpu_info_cache;`
		for (const init of fn.descendantsOfType('init_declarator')) {
			const value = init?.childForFieldName('value');
			if (init?.childForFieldName('declarator')?.text.replace(/^\*\s*/, '') === expr.text && value?.text.startsWith('&')) path = canonicalPath(value, {});
		}
	}
	const id = path && ctx.result.instanceId(path, types);
	const sites = id ? ctx.result.lifecycle.get(id) : undefined;
	if (!id || !sites) return undefined;
	const order: Record<string, number> = { init: 0, activate: 1, deactivate: 2, check: 3, refresh: 4 };
	const lines = [`**gpc instance \`${id}\`**`];
	for (const role of ['init', 'activate', 'deactivate'] as const) {
		const at = sites.filter((s) => s.role === role).sort((a, b) => order[a.role] - order[b.role]);
		lines.push(`- **${role}:** ${at.length ? at.map((s) => `${link(ctx, s.file, s.range.start.line + 1)} in \`${s.functionName}()\``).join(', ') : '_none in the indexed tree_'}`);
	}
	const checks = sites.filter((s) => s.role === 'check' || s.role === 'refresh');
	lines.push(`- **checked/refreshed** at ${checks.length} site(s)`);
	return lines.join('\n');
}

const docsCache = new Map<string, string>();

/** The rule's one-line summary and its "How to fix" section, from docs/rules/<id>.md. */
export function ruleHover(rule: RuleId): string {
	const meta = ruleInfo(rule);
	if (!docsCache.has(rule)) {
		let page = '';
		try {
			page = readFileSync(join(packageRoot(), meta.doc), 'utf8');
		} catch {
			// A missing page leaves the summary alone.
		}
		const fix = /## How to fix\s*\n([\s\S]*?)(\n## |$)/.exec(page)?.[1].trim() ?? '';
		docsCache.set(rule, fix);
	}
	const fix = excerpt(docsCache.get(rule)!, HOVER_FIX_CHARS);
	const page = `[rule page](${URI.file(join(packageRoot(), meta.doc)).toString()})`;
	return [`**${rule}** (${meta.severity}): ${meta.summary}. ${page}`, fix ? `**How to fix:**\n\n${fix}` : ''].filter(Boolean).join('\n\n');
}

const HOVER_FIX_CHARS = 700;

/** The first lines of a section that fit in `max` characters, cut at a line boundary. */
function excerpt(text: string, max: number): string {
	if (text.length <= max) return text;
	const lines: string[] = [];
	let length = 0;
	for (const line of text.split('\n')) {
		if (length + line.length > max && lines.length) break;
		lines.push(line);
		length += line.length + 1;
	}
	return `${lines.join('\n').trimEnd()}\n\n…`;
}

// gpcscope simulator webview: draws one lane per thread, steps through a
// counterexample (or a liveness lasso: stem, then the cycle a fair schedule
// repeats forever), shows the model state after each step, and can put
// upstream's run of the same schedule beside it. No framework, no inline code
// (strict CSP); all DOM is built with textContent.
(function () {
	'use strict';

	const vscode = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : null;
	const $ = (id) => document.getElementById(id);

	/**
	 * @type {{ result: any, compare: any, mode: 'trace' | 'lasso', steps: any[], cycleFrom: number, index: number, timer: any,
	 *          delay: number, lanes: string[], cards: HTMLElement[], numbers: HTMLElement[], showCompare: boolean }}
	 */
	const view = { result: null, compare: null, mode: 'trace', steps: [], cycleFrom: -1, index: -1, timer: null, delay: 800, lanes: [], cards: [], numbers: [], showCompare: false, runs: null, shown: -1 };

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined && text !== null) e.textContent = String(text);
		return e;
	}

	function post(msg) {
		if (vscode) vscode.postMessage(msg);
	}

	function whereText(loc) {
		const line = loc.line ? ':' + loc.line : '';
		return loc.file + line + ' · ' + loc.function + '()';
	}

	// ---- trace loading -------------------------------------------------------

	function load(result, index, compare, mode) {
		stop();
		view.result = result;
		view.compare = compare || null;
		const hasTrace = !!(result.trace && result.trace.length);
		view.mode = mode === 'lasso' && result.lasso ? 'lasso' : mode === 'trace' && hasTrace ? 'trace' : hasTrace || !result.lasso ? 'trace' : 'lasso';
		if (view.mode === 'lasso') {
			view.steps = result.lasso.stem.concat(result.lasso.cycle);
			view.cycleFrom = result.lasso.stem.length;
		} else {
			view.steps = result.trace || [];
			view.cycleFrom = -1;
		}
		view.lanes = result.threads.slice();
		for (const s of view.steps) if (!view.lanes.includes(s.thread)) view.lanes.push(s.thread);
		renderHeader(result);
		view.cards = [];
		view.numbers = [];
		renderLanes($('lanes'), view.steps, view.lanes, { interactive: true, cycleFrom: view.cycleFrom, lasso: view.mode === 'lasso' ? result.lasso : null, result });
		renderCompare();
		select(index === undefined ? -1 : Math.min(index, view.steps.length - 1), false);
		$('lanes').focus();
	}

	function renderHeader(r) {
		$('title').textContent = r.scenario + ' × ' + r.variant;
		const badge = $('verdict');
		badge.hidden = false;
		badge.className = 'badge ' + r.verdict;
		badge.textContent = r.verdict === 'safe' ? 'safe' : 'violation: ' + r.property;
		const live = $('liveness');
		live.hidden = !r.liveness;
		if (r.liveness) {
			live.className = 'badge ' + r.liveness;
			live.textContent = r.liveness === 'holds' ? 'terminates' : 'livelock';
			live.title = r.liveness === 'holds' ? 'Every thread that is not an adversary finishes under weak fairness' : (r.lasso && r.lasso.message) || 'liveness violated';
		}
		const n = view.steps.length;
		$('stats').textContent = r.states + ' states · ' + r.ms + ' ms' + (n ? ' · ' + n + ' steps' : '');
		const message = view.mode === 'lasso' ? r.lasso.message : r.message || '';
		$('message').textContent = message;
		$('message').title = message;
		const why = $('why');
		why.hidden = !r.explanation;
		why.textContent = r.explanation || '';
		renderContext(r);
		const both = !!(r.trace && r.trace.length && r.lasso);
		$('views').hidden = !both;
		$('view-trace').setAttribute('aria-pressed', String(view.mode === 'trace'));
		$('view-lasso').setAttribute('aria-pressed', String(view.mode === 'lasso'));
		$('compare-toggle').hidden = !view.compare;
	}

	/**
	 * A function's run (simulate --from, Show interleaving): the calling context it is about, with
	 * the chain of calls from the entry point (each a link to its line), the pfncache algorithm it
	 * simulates and why, and the other runs of the same function (one per context and adversaries).
	 */
	function renderContext(r) {
		const box = $('context');
		const c = r.context;
		box.hidden = !c && !r.pfncache;
		if (box.hidden) return;
		const line = $('context-line');
		line.replaceChildren();
		if (c) {
			line.appendChild(el('span', 'ctx-kind ' + c.kind, c.label));
			if (c.why) line.appendChild(el('span', 'ctx-why', ' — ' + c.why.split('; it reaches this')[0]));
		}
		const chain = $('context-chain');
		chain.replaceChildren();
		const links = (c && c.chain) || [];
		links.forEach((l, i) => {
			if (i) chain.appendChild(el('span', 'arrow', ' → '));
			const a = el('a', 'link', l.fn + '()');
			a.tabIndex = 0;
			const at = i > 0 && l.callLine ? { file: links[i - 1].file, function: links[i - 1].fn, line: l.callLine } : { file: l.file, function: l.fn, line: l.line };
			a.title = (i > 0 && l.callLine ? 'called at ' : 'defined at ') + at.file + ':' + at.line;
			a.addEventListener('click', () => post({ type: 'reveal', location: at }));
			chain.appendChild(a);
			const bound = Object.entries(l.bound || {}).map(([k, v]) => k + ' = ' + v).join(', ');
			if (bound) chain.appendChild(el('span', 'bound', ' (' + bound + ')'));
		});
		chain.hidden = !links.length;
		const pf = $('pfncache');
		pf.hidden = !r.pfncache;
		if (r.pfncache) pf.textContent = 'pfncache: ' + r.pfncache.variant + ' (' + (r.pfncache.how === 'given' ? 'asked for' : r.pfncache.how) + ') — ' + r.pfncache.why;
		const runs = $('runs');
		runs.replaceChildren();
		runs.hidden = !(view.runs && view.runs.length > 1);
		if (!runs.hidden) {
			for (const run of view.runs) {
				const verdict = run.verdict === 'safe' ? 'safe' : run.property;
				const b = el('button', 'run ' + run.verdict, run.context + (run.adversaries.includes('memslot') ? ' + memslot' : '') + ': ' + verdict);
				b.setAttribute('aria-pressed', String(run.index === view.shown));
				b.title = 'against ' + run.adversaries + ' · ' + run.states + ' states';
				b.addEventListener('click', () => post({ type: 'run', index: run.index }));
				runs.appendChild(b);
			}
		}
	}

	/** One grid of lanes: a header per thread, a card per step; the lasso's cycle is marked where it starts. */
	function renderLanes(host, steps, lanes, opts) {
		host.replaceChildren();
		if (!steps.length) {
			const r = opts.result;
			host.appendChild(el('p', 'empty', r && r.verdict === 'safe' ? 'No violation within the bounds: nothing to replay.' : 'No trace.'));
			return;
		}
		const grid = el('div', 'grid');
		const extra = opts.cycleFrom >= 0 ? 1 : 0;
		grid.style.gridTemplateColumns = '34px repeat(' + lanes.length + ', minmax(' + (opts.interactive ? 230 : 170) + 'px, 1fr))';
		grid.style.gridTemplateRows = 'auto repeat(' + (steps.length + extra) + ', auto)';
		const corner = el('div', 'lane-head corner', '#');
		corner.style.gridColumn = '1';
		corner.style.gridRow = '1';
		grid.appendChild(corner);
		lanes.forEach((name, i) => {
			const head = el('div', 'lane-head');
			head.appendChild(el('span', '', name));
			const count = steps.filter((s) => s.thread === name).length;
			head.appendChild(el('span', 'kind', count + (count === 1 ? ' step' : ' steps')));
			head.style.gridColumn = String(i + 2);
			head.style.gridRow = '1';
			grid.appendChild(head);
			const bg = el('div', 'lane-bg');
			bg.style.gridColumn = String(i + 2);
			bg.style.gridRow = '2 / ' + (steps.length + extra + 2);
			bg.style.alignSelf = 'stretch';
			grid.appendChild(bg);
		});
		steps.forEach((s, i) => {
			const row = i + 2 + (opts.cycleFrom >= 0 && i >= opts.cycleFrom ? 1 : 0);
			if (i === opts.cycleFrom) grid.appendChild(cycleMark(i + 2, opts.lasso));
			const no = el('div', 'stepno', i + 1);
			no.style.gridColumn = '1';
			no.style.gridRow = String(row);
			grid.appendChild(no);
			const inCycle = opts.cycleFrom >= 0 && i >= opts.cycleFrom;
			const card = el('div', 'step' + (s.violation ? ' violation' : '') + (inCycle ? ' cycle' : ''));
			card.tabIndex = -1;
			card.dataset.index = String(i);
			card.setAttribute('role', 'button');
			card.setAttribute('aria-label', 'Step ' + (i + 1) + ', ' + s.thread + ': ' + s.action);
			card.appendChild(el('div', 'action', s.action));
			card.appendChild(whereOf(s.location));
			if (s.violation && s.note) card.appendChild(el('div', 'note', s.note));
			card.style.gridColumn = String(lanes.indexOf(s.thread) + 2);
			card.style.gridRow = String(row);
			card.addEventListener('click', () => {
				if (opts.interactive) select(i, true);
				post({ type: 'reveal', location: s.location, step: i });
			});
			card.addEventListener('keydown', (e) => {
				if (e.key === 'Enter') post({ type: 'reveal', location: s.location, step: i });
			});
			grid.appendChild(card);
			if (opts.interactive) {
				view.cards.push(card);
				view.numbers.push(no);
			}
		});
		if (opts.cycleFrom >= steps.length) grid.appendChild(cycleMark(steps.length + 2, opts.lasso));
		host.appendChild(grid);
	}

	function cycleMark(row, lasso) {
		const empty = lasso && !lasso.cycle.length;
		const mark = el('div', 'cycle-mark', empty ? '■ no thread can move any more: the last state repeats forever' : '↻ from here the cycle repeats forever (a fair schedule: every thread that stays enabled moves)');
		mark.style.gridRow = String(row);
		return mark;
	}

	/** file:line · function(), and for code of an older kernel the version it comes from (a link when known). */
	function whereOf(loc) {
		const where = el('div', 'where');
		where.appendChild(el('span', 'file', whereText(loc)));
		if (loc.url) {
			const a = el('a', 'version', (loc.tree || 'source') + ' ↗');
			a.tabIndex = 0;
			a.title = loc.url;
			a.addEventListener('click', (e) => {
				e.stopPropagation();
				post({ type: 'open', url: loc.url });
			});
			where.appendChild(a);
		} else if (loc.tree === 'design only') where.appendChild(el('span', 'design', 'design only'));
		else if (loc.tree) where.appendChild(el('span', 'tree', loc.tree));
		where.title = loc.hint;
		return where;
	}

	/** Upstream's run of the same thread order, beside the counterexample. */
	function renderCompare() {
		const box = $('compare');
		box.hidden = !(view.compare && view.showCompare);
		$('compare-toggle').setAttribute('aria-pressed', String(view.showCompare));
		if (box.hidden) return;
		const c = view.compare;
		const lanes = c.threads.slice();
		const inner = el('div');
		renderLanes(inner, c.trace || [], lanes, { interactive: false, cycleFrom: -1, result: c });
		const head = el('div', 'compare-head');
		head.appendChild(el('strong', '', c.variant + ', same schedule: ' + (c.verdict === 'safe' ? 'safe' : 'violation: ' + c.property)));
		const taken = (c.trace || []).length;
		const replayed = c.replayed || { steps: taken, skipped: 0 };
		head.appendChild(el('span', '', ' · ' + taken + ' of ' + replayed.steps + ' steps taken, ' + replayed.skipped + ' not possible in ' + c.variant));
		box.replaceChildren(head, inner);
	}

	// ---- stepping ------------------------------------------------------------

	function select(index, scroll) {
		const steps = view.steps;
		view.index = Math.max(-1, Math.min(index, steps.length - 1));
		view.cards.forEach((c, i) => {
			c.classList.toggle('current', i === view.index);
			c.classList.toggle('future', i > view.index);
		});
		view.numbers.forEach((n, i) => n.classList.toggle('current', i === view.index));
		const cur = view.cards[view.index];
		if (cur && scroll !== false) cur.scrollIntoView({ block: 'nearest', inline: 'nearest' });
		$('position').textContent = view.index < 0 ? 'initial state · ' + steps.length + ' steps' : 'step ' + (view.index + 1) + ' / ' + steps.length + (view.cycleFrom >= 0 && view.index >= view.cycleFrom ? ' (cycle)' : '');
		$('back').disabled = $('first').disabled = view.index < 0;
		$('fwd').disabled = $('last').disabled = view.index >= steps.length - 1;
		renderInspector();
		if (vscode) vscode.setState({ result: view.result, compare: view.compare, mode: view.mode, index: view.index, runs: view.runs, shown: view.shown });
	}

	function play() {
		const steps = view.steps;
		if (!steps.length) return;
		if (view.timer) return stop();
		if (view.index >= steps.length - 1) select(-1);
		$('play').textContent = '❚❚ pause';
		$('play').setAttribute('aria-label', 'Pause');
		const tick = () => {
			if (view.index >= steps.length - 1) return stop();
			select(view.index + 1);
			view.timer = setTimeout(tick, view.delay);
		};
		view.timer = setTimeout(tick, Math.min(view.delay, 300));
	}

	function stop() {
		if (view.timer) clearTimeout(view.timer);
		view.timer = null;
		$('play').textContent = '▶ play';
		$('play').setAttribute('aria-label', 'Play');
	}

	// ---- inspector -----------------------------------------------------------

	const yes = (b) => (b ? 'yes' : 'no');
	const orDash = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));

	function rows(state) {
		/** @type {{ section: string, title: string, pills: [string, string][], items: [string, string, boolean?][] }[]} */
		const groups = [];
		for (const c of state.caches) {
			const holders = c.lock.readers.map((r) => 'R ' + r);
			if (c.lock.writer) holders.push('W ' + c.lock.writer);
			if (c.lock.queued) holders.push('queued writer ' + c.lock.queued);
			const items = [
				['gpa', c.gpa],
				['uhva', orDash(c.uhva)],
				['generation', c.hvaBased ? 'not checked (HVA-based)' : c.generation + (c.generation === state.vm.memslotGeneration ? '' : ' ≠ ' + state.vm.memslotGeneration), !c.hvaBased && c.generation !== state.vm.memslotGeneration],
				['pfn', orDash(c.pfn)],
				['khva', orDash(c.khva)],
				['lock holders', holders.length ? holders.join(', ') : '—'],
				['refresh_lock', orDash(c.refreshLock)],
				['on gpc_list', yes(c.onList), !c.onList],
			];
			if (c.lock.count !== c.lock.readers.length) items.splice(6, 0, ['reader count', String(c.lock.count), true]);
			groups.push({
				section: 'caches',
				title: c.name,
				pills: [
					[c.active ? 'active' : 'inactive', c.active ? 'neutral' : 'off'],
					[c.valid ? 'valid' : 'invalid', c.valid ? 'on' : 'off'],
				],
				items,
			});
		}
		const vm = state.vm;
		const vmItems = [
			['mmu_invalidate_seq', String(vm.mmuInvalidateSeq)],
			['mmu_invalidate_in_progress', String(vm.mmuInvalidateInProgress)],
			['mn_active_invalidate_count', String(vm.mnActiveInvalidateCount)],
			['memslots generation', vm.memslotGeneration + (vm.memslotUpdateInProgress ? ' (update in progress)' : '')],
			['kvm->gpc_lock', orDash(vm.gpcListLock)],
			['rq->__lock', orDash(vm.rqLock)],
			['p->pi_lock', orDash(vm.piLock)],
		];
		if (vm.vcpuMode) vmItems.push(['vcpu->mode', vm.vcpuMode], ['request pending', yes(vm.vcpuRequest)]);
		groups.push({ section: 'vm', title: 'struct kvm', pills: [], items: vmItems });
		const host = [];
		for (const [gfn, hva] of Object.entries(state.host.memslots)) host.push(['memslot ' + gfn, '→ hva ' + hva]);
		const outside = state.host.outsideMemslots || [];
		for (const [hva, page] of Object.entries(state.host.backing)) {
			const notes = (state.host.retiredHvas.includes(hva) ? ' (retired)' : '') + (outside.includes(hva) ? ' (no memslot)' : '');
			host.push(['hva ' + hva + notes, '→ ' + page]);
		}
		for (const p of state.host.pages) {
			const what = p.freed ? 'freed' : p.backs ? 'backs ' + p.backs : 'stale copy';
			host.push([p.page, what + ' · kmaps ' + p.kmaps + (p.refs ? ' · refs ' + p.refs : ''), p.freed || !p.backs]);
		}
		groups.push({ section: 'host', title: 'host memory', pills: [], items: host });
		const threads = [];
		for (const [name, t] of Object.entries(state.threads)) {
			const flags = (t.irqsOff ? ' · irqs off' : '') + (t.interruptedBy ? ' · interrupted by ' + t.interruptedBy : '');
			threads.push([name, (t.done ? 'done' : 'next: ' + t.at) + flags]);
		}
		groups.push({ section: 'threads', title: 'threads', pills: [], items: threads });
		return groups;
	}

	function flat(state) {
		const out = new Map();
		if (!state) return out;
		for (const g of rows(state)) {
			for (const [k, v] of g.items) out.set(g.title + '/' + k, v);
			for (const [p] of g.pills) out.set(g.title + '/pill', (out.get(g.title + '/pill') || '') + p);
		}
		return out;
	}

	function renderInspector() {
		const box = $('inspector');
		box.replaceChildren();
		const r = view.result;
		if (!r) return;
		const steps = view.steps;
		const state = view.index < 0 ? r.initial : steps[view.index].state;
		const prev = flat(view.index < 0 ? null : view.index === 0 ? r.initial : steps[view.index - 1].state);
		const titles = { caches: 'gfn_to_pfn_cache', vm: 'VM', host: 'Host', threads: 'Threads' };
		let section = '';
		for (const g of rows(state)) {
			if (g.section !== section) {
				section = g.section;
				box.appendChild(el('h2', '', titles[section]));
			}
			const card = el('div', 'card');
			const head = el('div', 'head');
			head.appendChild(el('span', 'cname', g.title));
			const pills = el('span');
			for (const [text, kind] of g.pills) pills.appendChild(el('span', 'pill ' + kind, text));
			head.appendChild(pills);
			if (g.section === 'caches') card.appendChild(head);
			const table = el('table', 'kv');
			for (const [k, v, bad] of g.items) {
				const tr = el('tr');
				tr.appendChild(el('td', '', k));
				const changed = prev.size > 0 && prev.get(g.title + '/' + k) !== v;
				const td = el('td', (changed ? 'changed' : '') + (bad ? ' bad' : ''), v);
				if (changed) td.title = 'was ' + orDash(prev.get(g.title + '/' + k));
				tr.appendChild(td);
				table.appendChild(tr);
			}
			card.appendChild(table);
			box.appendChild(card);
		}
	}

	// ---- static call chains (optional, sent by the host) ----------------------

	function renderPaths(chains) {
		const box = $('paths');
		box.replaceChildren();
		if (!chains || !chains.length) {
			box.hidden = true;
			return;
		}
		box.hidden = false;
		box.appendChild(el('h2', '', 'Call chains in the indexed tree'));
		for (const c of chains) {
			const line = el('div', 'chain');
			line.appendChild(el('span', '', c.title + ': '));
			c.steps.forEach((s, i) => {
				if (i) line.appendChild(el('span', '', ' → '));
				const a = el('a', '', s.label);
				a.tabIndex = 0;
				a.addEventListener('click', () => post({ type: 'reveal', location: s.location }));
				line.appendChild(a);
			});
			box.appendChild(line);
		}
	}

	// ---- wiring --------------------------------------------------------------

	$('first').addEventListener('click', () => (stop(), select(-1)));
	$('back').addEventListener('click', () => (stop(), select(view.index - 1)));
	$('fwd').addEventListener('click', () => (stop(), select(view.index + 1)));
	$('last').addEventListener('click', () => (stop(), select(Number.MAX_SAFE_INTEGER)));
	$('play').addEventListener('click', play);
	$('speed').addEventListener('change', (e) => (view.delay = Number(e.target.value)));
	$('view-trace').addEventListener('click', () => view.result && load(view.result, -1, view.compare, 'trace'));
	$('view-lasso').addEventListener('click', () => view.result && load(view.result, -1, view.compare, 'lasso'));
	$('compare-toggle').addEventListener('click', () => {
		view.showCompare = !view.showCompare;
		renderCompare();
	});

	document.addEventListener('keydown', (e) => {
		if (!view.result || e.target instanceof HTMLSelectElement) return;
		const keys = {
			ArrowRight: () => (stop(), select(view.index + 1)),
			ArrowDown: () => (stop(), select(view.index + 1)),
			ArrowLeft: () => (stop(), select(view.index - 1)),
			ArrowUp: () => (stop(), select(view.index - 1)),
			Home: () => (stop(), select(-1)),
			End: () => (stop(), select(Number.MAX_SAFE_INTEGER)),
			' ': play,
		};
		const f = keys[e.key];
		if (!f) return;
		if (e.key === ' ' && e.target instanceof HTMLButtonElement) return;
		e.preventDefault();
		f();
	});

	window.addEventListener('message', (e) => {
		const msg = e.data;
		if (!msg || typeof msg !== 'object') return;
		if (msg.type === 'trace' && msg.result) {
			view.showCompare = !!msg.compare;
			view.runs = msg.runs || null;
			view.shown = typeof msg.shown === 'number' ? msg.shown : -1;
			load(msg.result, msg.step, msg.compare);
		} else if (msg.type === 'select' && typeof msg.step === 'number') select(msg.step);
		else if (msg.type === 'paths') renderPaths(msg.chains);
	});

	const saved = vscode && vscode.getState();
	if (saved && saved.result) {
		view.showCompare = !!saved.compare;
		view.runs = saved.runs || null;
		view.shown = typeof saved.shown === 'number' ? saved.shown : -1;
		load(saved.result, saved.index, saved.compare, saved.mode);
	}
	post({ type: 'ready' });
})();

// Renders the simulator webview in headless Debian Chromium on a real
// counterexample, drives it with the keyboard and the mouse, and saves a
// screenshot. Skips only when /usr/bin/chromium is missing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaySchedule, resolveLines, runScenario, type RunResult } from '../../server/src/simulator';
import { simulateAt } from '../../server/src/features/simulate';
import { analyzePath, engine, FIXTURES } from '../helpers';

const REPO = join(__dirname, '..', '..');
const WEBVIEW = join(REPO, 'client', 'webview');
const CHROMIUM = '/usr/bin/chromium';
const SHOT = join(REPO, 'test-results', 'simulator-webview.png');
const KERNEL = '/root/.cache/gpcscope/kernels/linux-6.12';

const read = (f: string) => (existsSync(join(KERNEL, f)) ? readFileSync(join(KERNEL, f), 'utf8') : undefined);

/** The counterexample of the 5.19 fix: a refresh that marks the cache valid before mapping. */
function counterexample(): RunResult {
	return resolveLines(runScenario('reader-vs-invalidation', 'valid-before-map'), read);
}

describe.skipIf(!existsSync(CHROMIUM))('simulator webview (headless chromium)', () => {
	let server: Server;
	let browser: Browser;
	let page: Page;
	const problems: string[] = [];
	const result = counterexample();

	beforeAll(async () => {
		const nonce = randomBytes(16).toString('base64');
		server = createServer((req, res) => {
			const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
			const file = req.url === '/' ? 'simulator.html' : (req.url ?? '').replace(/^\//, '');
			if (file === 'favicon.ico') {
				res.writeHead(204).end();
				return;
			}
			if (!['simulator.html', 'simulator.js', 'simulator.css'].includes(file)) {
				res.writeHead(404).end();
				return;
			}
			let body = readFileSync(join(WEBVIEW, file), 'utf8');
			if (file === 'simulator.html') body = body.replaceAll('{{nonce}}', nonce).replaceAll('{{cspSource}}', origin).replaceAll('{{baseUri}}', origin);
			const type = file.endsWith('.html') ? 'text/html' : file.endsWith('.js') ? 'text/javascript' : 'text/css';
			res.writeHead(200, { 'content-type': `${type}; charset=utf-8` }).end(body);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
		});
		page = await browser.newPage({ viewport: { width: 1500, height: 940 }, deviceScaleFactor: 1 });
		page.on('console', (m) => {
			if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
		});
		page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
		// The VS Code webview API, as the host provides it.
		await page.addInitScript(() => {
			const w = globalThis as unknown as { __posted: unknown[]; acquireVsCodeApi: () => unknown };
			w.__posted = [];
			let state: unknown;
			w.acquireVsCodeApi = () => ({
				postMessage: (m: unknown) => w.__posted.push(m),
				getState: () => state,
				setState: (s: unknown) => (state = s),
			});
		});
		await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
	}, 60_000);

	afterAll(async () => {
		await browser?.close();
		await new Promise((resolve) => server?.close(resolve));
	});

	// The test tsconfig has no DOM lib: the page's globals are typed by hand.
	const posted = () => page.evaluate(() => (globalThis as unknown as { __posted: { type: string }[] }).__posted);

	it('says ready and waits for a trace', async () => {
		await expect.poll(posted).toContainEqual({ type: 'ready' });
		expect(await page.textContent('#empty')).toMatch(/Waiting for a trace/);
	});

	it('draws one lane per thread and one card per step', async () => {
		expect(result.verdict).toBe('violation');
		await page.evaluate((r) => (globalThis as unknown as { postMessage(m: unknown, origin: string): void }).postMessage({ type: 'trace', result: r }, '*'), result);
		await page.waitForSelector('.step');
		expect(await page.locator('.lane-head:not(.corner)').count()).toBe(result.threads.length);
		expect(await page.locator('#lanes .step').count()).toBe(result.trace!.length);
		expect(await page.locator('#lanes .step.violation').count()).toBe(1);
		expect(await page.textContent('#verdict')).toBe('violation: stale-access');
		expect(await page.textContent('#position')).toMatch(/initial state/);
	});

	it('steps with the keyboard and updates the inspector', async () => {
		await page.keyboard.press('ArrowRight');
		expect(await page.textContent('#position')).toBe(`step 1 / ${result.trace!.length}`);
		expect(await page.locator('.step.current .action').textContent()).toBe(result.trace![0].action);
		expect(await page.textContent('#inspector')).toContain('mn_active_invalidate_count');
		await page.keyboard.press('ArrowRight');
		await page.keyboard.press('ArrowLeft');
		expect(await page.textContent('#position')).toBe(`step 1 / ${result.trace!.length}`);
		await page.keyboard.press('End');
		expect(await page.textContent('#position')).toBe(`step ${result.trace!.length} / ${result.trace!.length}`);
		await expect.poll(() => page.locator('#lanes .step.violation.current').count()).toBe(1);
		await page.keyboard.press('Home');
		expect(await page.textContent('#position')).toMatch(/initial state/);
	});

	it('plays and pauses with the space bar', async () => {
		await page.selectOption('#speed', '150');
		await page.locator('#lanes').focus();
		await page.keyboard.press(' ');
		await expect.poll(() => page.textContent('#position'), { timeout: 10_000 }).toMatch(/^step [3-9]/);
		await page.keyboard.press(' ');
		const at = await page.textContent('#position');
		await page.waitForTimeout(400);
		expect(await page.textContent('#position')).toBe(at);
	});

	it('posts a reveal with the source location when a step is clicked', async () => {
		const i = result.trace!.findIndex((s) => s.location.function === 'hva_to_pfn_retry');
		await page.locator('#lanes .step').nth(i).click();
		const reveals = (await posted()).filter((m) => m.type === 'reveal');
		expect(reveals.at(-1)).toEqual({ type: 'reveal', location: result.trace![i].location, step: i });
		expect(await page.textContent('#position')).toBe(`step ${i + 1} / ${result.trace!.length}`);
	});

	const send = (msg: unknown) => page.evaluate((m) => (globalThis as unknown as { postMessage(m: unknown, origin: string): void }).postMessage(m, '*'), msg);

	it('links each historical step to the version it comes from, and says why the variant breaks', async () => {
		const old = result.trace!.filter((s) => s.location.url);
		expect(old.length).toBeGreaterThan(0);
		expect(await page.locator('#lanes a.version').count()).toBe(old.length);
		expect(await page.locator('#lanes a.version').first().textContent()).toBe('linux-5.18 ↗');
		await page.locator('#lanes a.version').first().click();
		expect((await posted()).filter((m) => m.type === 'open').at(-1)).toEqual({ type: 'open', url: old[0].location.url });
		expect(await page.textContent('#why')).toBe(result.explanation);
		expect(await page.textContent('#liveness')).toBe('terminates');
	});

	it('puts upstream\'s run of the same schedule beside the counterexample, and hides it again', async () => {
		const compare = resolveLines(replaySchedule('reader-vs-invalidation', 'upstream', result.trace!.map((s) => s.thread)), read);
		await send({ type: 'trace', result, compare });
		await page.waitForSelector('#compare .step');
		expect(await page.locator('#lanes .step').count()).toBe(result.trace!.length);
		expect(await page.locator('#compare .step').count()).toBe(compare.trace!.length);
		expect(await page.textContent('#compare .compare-head')).toMatch(/^upstream, same schedule: safe · \d+ of \d+ steps taken, \d+ not possible in upstream$/);
		await page.click('#compare-toggle');
		expect(await page.isHidden('#compare')).toBe(true);
		await page.click('#compare-toggle');
		expect(await page.isVisible('#compare')).toBe(true);
	});

	it('draws a liveness violation as a lasso: the stem, a marker, the cycle', async () => {
		const storm = resolveLines(runScenario('refresh-vs-invalidation-storm'), read);
		const lasso = storm.lasso!;
		await send({ type: 'trace', result: storm });
		await page.waitForSelector('#lanes .step.cycle');
		expect(await page.locator('#lanes .step').count()).toBe(lasso.stem.length + lasso.cycle.length);
		expect(await page.locator('#lanes .step.cycle').count()).toBe(lasso.cycle.length);
		expect(await page.textContent('#lanes .cycle-mark')).toMatch(/^↻ from here the cycle repeats forever/);
		expect(await page.textContent('#verdict')).toBe('safe');
		expect(await page.textContent('#liveness')).toBe('livelock');
		expect(await page.textContent('#message')).toMatch(/retries hva_to_pfn_retry\(\) forever/);
		await page.keyboard.press('End');
		expect(await page.textContent('#position')).toMatch(/\(cycle\)$/);
		mkdirSync(join(REPO, 'test-results'), { recursive: true });
		await page.screenshot({ path: join(REPO, 'test-results', 'simulator-webview-lasso.png'), fullPage: false });
	});

	it('offers both runs when a cell breaks safety and liveness', async () => {
		const dead = runScenario('refresh-vs-deactivate', 'lock-init-on-activate');
		await send({ type: 'trace', result: dead });
		await page.waitForSelector('#views:not([hidden])');
		expect(await page.locator('#lanes .step').count()).toBe(dead.trace!.length);
		await page.click('#view-lasso');
		expect(await page.locator('#lanes .cycle-mark').textContent()).toMatch(/no thread can move any more/);
		expect(await page.locator('#lanes .step').count()).toBe(dead.lasso!.stem.length);
		await page.click('#view-trace');
		await send({ type: 'trace', result, compare: undefined });
	});

	it('shows a function\'s run in its calling context: the chain of calls as links, the pfncache, a button per run', async () => {
		const root = join(FIXTURES, 'simulator-trees', 'sched-out');
		const file = 'arch/x86/kvm/xen.c';
		const analysis = await analyzePath(root);
		const tree = (await engine()).parser.parse(readFileSync(join(root, file), 'utf8'))!;
		const response = simulateAt({ tree, file, result: analysis, root }, 14, { rule: 'gpc-lock-in-sched-out' });
		tree.delete();
		const run = response.result as RunResult;
		expect(run.property).toBe('deadlock');
		await send({ type: 'trace', result: run, runs: response.runs, shown: response.shown });
		await page.waitForSelector('#context:not([hidden])');
		expect(await page.textContent('#context-line')).toMatch(/^sched-out context \(rq lock held\)/);
		expect(await page.locator('#context-chain a').allTextContents()).toEqual(run.context!.chain!.map((l) => `${l.fn}()`));
		expect(await page.textContent('#pfncache')).toMatch(/^pfncache: upstream \(default\) — no virt\/kvm\/pfncache.c in the tree/);
		expect(await page.locator('#runs button').allTextContents()).toEqual(['process context: safe', 'sched-out context (rq lock held): deadlock']);
		expect(await page.getAttribute('#runs button:nth-child(2)', 'aria-pressed')).toBe('true');
		// the call site of the last link, in the caller's file
		await page.locator('#context-chain a').last().click();
		const last = run.context!.chain!.at(-1)!;
		const caller = run.context!.chain!.at(-2)!;
		expect((await posted()).filter((m) => m.type === 'reveal').at(-1)).toEqual({ type: 'reveal', location: { file: caller.file, function: caller.fn, line: last.callLine } });
		await page.locator('#runs button').first().click();
		expect((await posted()).at(-1)).toEqual({ type: 'run', index: 0 });
		await page.keyboard.press('End');
		const inspector = await page.textContent('#inspector');
		expect(inspector).toContain('queued writer invalidate');
		expect(inspector).toMatch(/p->pi_lock\s*evtchn/);
		mkdirSync(join(REPO, 'test-results'), { recursive: true });
		await page.screenshot({ path: join(REPO, 'test-results', 'simulator-webview-context.png'), fullPage: false });
		await send({ type: 'trace', result, compare: undefined });
		expect(await page.isHidden('#context')).toBe(true);
	});

	it('renders without CSP violations or script errors, and saves a screenshot at the violation', async () => {
		await page.keyboard.press('End');
		await page.waitForSelector('#lanes .step.violation');
		await page.locator('#lanes .step.violation').scrollIntoViewIfNeeded();
		await page.locator('#lanes').focus();
		mkdirSync(join(REPO, 'test-results'), { recursive: true });
		await page.screenshot({ path: SHOT, fullPage: false });
		expect(existsSync(SHOT)).toBe(true);
		expect(problems).toEqual([]);
	});
});

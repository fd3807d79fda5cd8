// The packaged VSIX in a real VS Code (code-server 4.100.3 = VS Code 1.100.3),
// driven like a person would through Chromium: a workspace made from the Debian
// 6.12 tree with a bug injected into arch/x86/kvm/xen.c, one from 6.1 for the
// usage-flag quick fix, and one without gpc code, where the server must not start
// until a command asks for it. Screenshots of every step land in test-results/e2e/;
// the numbers (activation time, idle memory with and without the server, time to
// first finding) in test-results/e2e/metrics.json.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kernelTree } from '../kernel/trees';
import {
	CodeServer, findProcesses, goTo, inject, launchBrowser, lineOf, makeWorkspace, openFile, openFolder, packageVsix, procStats, runCommand,
	setSideBar, setupCodeServer, shot, SHOTS, until, webviewFrame,
} from './harness';

/** The bug: the vcpu_info read moved below the unlock in __kvm_xen_has_interrupt(). */
const ORIGINAL = '\trc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;\n\tread_unlock_irqrestore(&gpc->lock, flags);\n';
const INJECTED = '\tread_unlock_irqrestore(&gpc->lock, flags);\n\trc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;\n';
/** What the indexer needs of a tree: the API headers, the x86 KVM users and the implementation. */
const DIRS = ['include', 'arch/x86/include', 'arch/x86/kvm', 'virt/kvm'];
const WORK = join(tmpdir(), 'gpcscope-e2e');

let server: CodeServer | undefined;
let browser: Browser | undefined;
let page: Page;
const metrics: Record<string, unknown> = {};
let injectedXen = '';
const ws = { nogpc: join(WORK, 'no-gpc'), v612: join(WORK, 'linux-6.12'), v61: join(WORK, 'linux-6.1') };

beforeAll(async () => {
	let t = Date.now();
	const codeServer = setupCodeServer();
	metrics.setupMs = Date.now() - t;
	t = Date.now();
	const vsix = packageVsix();
	metrics.vsixBytes = readFileSync(vsix).length;
	metrics.packageMs = Date.now() - t;

	t = Date.now();
	rmSync(WORK, { recursive: true, force: true });
	makeWorkspace(kernelTree('6.12'), ws.v612, DIRS);
	inject(join(ws.v612, 'arch/x86/kvm/xen.c'), ORIGINAL, INJECTED);
	injectedXen = readFileSync(join(ws.v612, 'arch/x86/kvm/xen.c'), 'utf8');
	// With the scheduler's core.c, so that the sched-out counterexample's first step has its line too.
	makeWorkspace(kernelTree('6.1'), ws.v61, [...DIRS, 'kernel/sched/core.c']);
	makeWorkspace(join(__dirname, 'no-gpc'), ws.nogpc, ['.']);
	metrics.workspacesMs = Date.now() - t;

	server = await CodeServer.start(codeServer, vsix);
	browser = await launchBrowser();
	page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
}, 25 * 60_000);

afterAll(async () => {
	await browser?.close().catch(() => undefined);
	server?.stop();
	rmSync(WORK, { recursive: true, force: true });
	writeFileSync(join(SHOTS, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
	console.log(`e2e metrics: ${JSON.stringify(metrics)}`);
});

afterEach(async (ctx) => {
	// What the screen showed when a step failed.
	if (ctx.task.result?.state === 'fail' && page) await shot(page, `failed-${ctx.task.name.replace(/\W+/g, '-').slice(0, 60)}`).catch(() => undefined);
});

/** The language status entry ("{ } C" in the status bar) lists gpcscope's item in its label. */
const languageStatus = async () => (await page.locator('#status\\.languageStatus').getAttribute('aria-label').catch(() => null)) ?? '';
const hoverTexts = async () => (await page.locator('.monaco-hover').allInnerTexts()).join('\n');
/** Clicking the "{ } C" entry pins its hover, which lists every language status item with its detail. */
async function showLanguageStatus(expected: string): Promise<void> {
	await page.locator('#status\\.languageStatus').click();
	await until(`the language status hover with ${expected}`, async () => (await hoverTexts()).includes(expected), 10_000);
}

/** The language server this window started (the newest, after a folder switch) and its extension host. */
function processes(): { server: number; extHost?: number } {
	return { server: serverPids()[0], extHost: newestFirst(findProcesses('--type=extensionHost'))[0] };
}
/** The gpcscope servers of this code-server's extensions folder, newest first. */
const serverPids = () => newestFirst(findProcesses(server!.extensions, 'gpcscope', 'dist/server.js'));
const newestFirst = (pids: number[]) => pids.sort((a, b) => startTime(b) - startTime(a));
function startTime(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

/**
 * RSS of the server (none: 0) and the shared extension host, and their CPU use over `ms` of
 * idling; measured again when a process was replaced meanwhile (the extension host of the
 * window a folder change closed may still be exiting when the new one is picked).
 */
async function idleCost(withServer = true, ms = 5000): Promise<Record<string, number>> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await idleCostOnce(withServer, ms);
		} catch (e) {
			if (attempt >= 3 || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
		}
	}
}

async function idleCostOnce(withServer: boolean, ms: number): Promise<Record<string, number>> {
	const p = withServer ? await until('the gpcscope server process', () => processes().server, 30_000) : undefined;
	const host = processes().extHost;
	const stats = (pid?: number) => (pid ? procStats(pid) : undefined);
	const before = [stats(p), stats(host)];
	await page.waitForTimeout(ms);
	const [server, extHost] = [stats(p), stats(host)];
	const mb = (kb: number) => Math.round(kb / 102.4) / 10;
	const cpu = (a: { cpuTicks: number }, b: { cpuTicks: number }) => Math.round(((b.cpuTicks - a.cpuTicks) / (ms / 10)) * 100) / 100;
	return {
		serverRssMb: server ? mb(server.rssKb) : 0,
		serverCpuPercentIdle: server ? cpu(before[0]!, server) : 0,
		extensionHostRssMb: extHost ? mb(extHost.rssKb) : -1,
		extensionHostCpuPercentIdle: extHost ? cpu(before[1]!, extHost) : -1,
	};
}

/** "Activation: 123ms" of gpcscope in Developer: Show Running Extensions. */
async function activationMs(name: string): Promise<number> {
	await runCommand(page, 'Developer: Show Running Extensions');
	const text = await until('the running extensions editor to list gpcscope', async () => {
		const t = (await page.locator('.runtime-extensions-editor').allInnerTexts()).join('\n');
		return /gpcscope[^\n]*\n[\s\S]*?Activation: \d+ms/.test(t) && t;
	}, 30_000);
	await shot(page, name);
	const m = /gpcscope — KVM pfncache checker[\s\S]*?Activation: (\d+)ms/.exec(text);
	return Number(m?.[1] ?? -1);
}

describe('gpcscope in VS Code 1.100 (code-server 4.100.3)', () => {
	it('the VSIX is small and declares an engine VS Code 1.100 satisfies', () => {
		expect(metrics.vsixBytes as number).toBeLessThan(5 * 1024 * 1024);
		const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
		const [major, minor] = /\^?(\d+)\.(\d+)/.exec(pkg.engines.vscode)!.slice(1).map(Number);
		expect(major === 1 && minor <= 100).toBe(true);
	});

	it('in a workspace without gpc code it says so and starts no server until a command asks', async () => {
		const t = Date.now();
		await openFolder(page, server!, ws.nogpc);
		await openFile(page, 'hello.c');
		await until('the status "no gpc code found"', async () => (await languageStatus()).includes('gpcscope: no gpc code found'), 60_000);
		const lazy: Record<string, unknown> = { readyMs: Date.now() - t, status: (await languageStatus()).replace(/, next:.*/, ''), ...(await idleCost(false)) };
		metrics.noGpc = lazy;
		expect(processes().server).toBeUndefined();
		expect(lazy.status).not.toMatch(/6\.9\+|API era/);
		await showLanguageStatus('the checker starts when a file uses the gpc API');
		await shot(page, '00-no-gpc-workspace');
		await page.keyboard.press('Escape');
		lazy.activationMs = await activationMs('00-no-gpc-running-extensions');
		expect(lazy.activationMs).toBeGreaterThanOrEqual(0);

		// A command starts the server on demand; what it costs is what an eager start cost.
		await runCommand(page, 'View: Close All Editors');
		await openFile(page, 'hello.c');
		await runCommand(page, 'gpcscope: Re-index');
		await until('the server started by Re-index', () => processes().server, 30_000);
		await showLanguageStatus('2 C files scanned');
		const started: Record<string, unknown> = { status: (await languageStatus()).replace(/, next:.*/, ''), ...(await idleCost(true)) };
		metrics.noGpcServerStarted = started;
		expect(started.status).toContain('gpcscope: no gpc code found');
		await shot(page, '00a-no-gpc-started-by-command');
		await page.keyboard.press('Escape');
		console.log(`no gpc code: activation ${lazy.activationMs} ms; idle extension host ${lazy.extensionHostRssMb} MB and no server; `
			+ `after "Re-index" started it: server ${started.serverRssMb} MB, extension host ${started.extensionHostRssMb} MB`);
	});

	it('renders the README and the CHANGELOG on the extension page', async () => {
		await page.keyboard.press('Control+Shift+X');
		const search = page.locator('.extensions-viewlet .suggest-input-container');
		await search.waitFor({ state: 'visible' });
		await page.keyboard.type('@installed gpcscope');
		await page.locator('.extensions-viewlet .monaco-list-row', { hasText: 'gpcscope' }).first().click();
		const readme = await webviewFrame(page, 'table');
		await until('the README in the Details tab', async () => (await readme.locator('body').innerText()).includes('What it checks'), 30_000);
		expect(await readme.locator('body').innerText()).toMatch(/gpc-use-after-unlock[\s\S]*Patch review/);
		await shot(page, '00b-extension-readme');
		await page.locator('.extension-editor .navbar a', { hasText: /changelog/i }).click();
		await until('the CHANGELOG tab', async () => {
			for (const f of page.frames()) if (/^Changelog\s+0\.1\.0/m.test(await f.locator('body').innerText().catch(() => ''))) return true;
			return false;
		}, 30_000);
		await shot(page, '00c-extension-changelog');
		await runCommand(page, 'View: Close All Editors');
		await page.keyboard.press('Control+Shift+E');
	});

	it('shows the injected bug in the Problems panel with its rule id', async () => {
		const t = Date.now();
		await openFolder(page, server!, ws.v612);
		await openFile(page, 'arch/x86/kvm/xen.c');
		await page.keyboard.press('Control+Shift+M');
		const problems = page.locator('.markers-panel');
		await until('the finding in the Problems panel', async () => (await problems.innerText().catch(() => '')).includes('gpc-use-after-unlock'), 180_000);
		metrics.firstFindingMs = Date.now() - t;
		const text = await problems.innerText();
		expect(text).toContain('gpcscope');
		expect(text).toMatch(/evtchn_upcall_pending read after v->arch\.xen\.vcpu_info_cache\.lock was dropped/);
		const line = lineOf(join(ws.v612, 'arch/x86/kvm/xen.c'), 'rc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;');
		expect(text).toContain(`[Ln ${line}, Col 7]`);
		// Pristine 6.12 is silent: the injected bug is the only finding.
		expect(await page.locator('#status\\.problems').getAttribute('aria-label')).toMatch(/Errors: 1\b/);
		await shot(page, '01-problems');
	});

	it('shows the indexing result in the language status item', async () => {
		const t = Date.now();
		const status = await until('"gpcscope: 6.9+ · N files"', async () => {
			const s = await languageStatus();
			return /gpcscope: 6\.9\+ · \d+ files/.test(s) && s;
		}, 180_000);
		metrics.v612 = { readyAfterFindingMs: Date.now() - t, status: status.replace(/, next:.*/, ''), ...(await idleCost()) };
		expect(status).toMatch(/files, 1 finding\b/);
		await showLanguageStatus('gpcscope: 6.9+');
		await shot(page, '02-status');
		await page.keyboard.press('Escape');
	});

	it('restarts a killed server by itself, says so, and the finding comes back', async () => {
		const killed = serverPids()[0];
		expect(killed).toBeGreaterThan(0);
		const problems = page.locator('.markers-panel');
		const findingAt = async (line: number) => (await problems.innerText().catch(() => '')).includes(`[Ln ${line}, Col 7]`);
		const line = lineOf(join(ws.v612, 'arch/x86/kvm/xen.c'), 'rc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;');
		process.kill(killed, 'SIGKILL');
		const t = Date.now();
		const restarted = await until('a new server process', () => serverPids().find((p) => p !== killed), 60_000);
		await until('the restart notification', async () => (await page.locator('.notifications-toasts').innerText().catch(() => '')).includes('stopped unexpectedly and was restarted'), 30_000);
		await shot(page, '02b-server-killed-restarted');
		// The client keeps the old diagnostics across a restart (vscode-languageclient clears them
		// only on stop): a line inserted above the bug shows whether the new server publishes it.
		// The line is written to disk (VS Code reloads the unmodified editor), so restoring the
		// file leaves nothing for an undo or a save to get wrong.
		const file = join(ws.v612, 'arch/x86/kvm/xen.c');
		writeFileSync(file, '\n' + injectedXen);
		await until('the finding one line lower, published by the new server', () => findingAt(line + 1), 180_000);
		metrics.serverRestart = { killed, restarted, findingRepublishedMs: Date.now() - t };
		expect(serverPids()).not.toContain(killed);
		await shot(page, '02c-problems-after-restart');
		writeFileSync(file, injectedXen);
		await until('the finding back at its line once the file is restored', () => findingAt(line), 60_000);
		expect(await page.locator('.tab.active.dirty').count()).toBe(0);
		expect(await page.locator('#status\\.problems').getAttribute('aria-label')).toMatch(/Errors: 1\b/);
	});

	it('explains the computed lock state when hovering kvm_gpc_check', async () => {
		const file = join(ws.v612, 'arch/x86/kvm/xen.c');
		const line = lineOf(file, 'while (!kvm_gpc_check(gpc, sizeof(struct vcpu_info)))', 'int __kvm_xen_has_interrupt(');
		const column = readFileSync(file, 'utf8').split('\n')[line - 1].indexOf('kvm_gpc_check') + 2;
		// The hover command from the palette, not the Ctrl+K Ctrl+I chord: a lost chord leaves Ctrl+I
		// alone, which asks for an inline suggestion instead.
		const text = await until('the hover with the lock state', async () => {
			await page.keyboard.press('Escape');
			await goTo(page, line, column);
			await runCommand(page, 'Show or Focus Hover');
			return await until('the hover', async () => {
				const h = await hoverTexts();
				return h.includes('held since') && h;
			}, 5_000).catch(() => false);
		}, 60_000);
		expect(text).toContain('kvm_gpc_check(gpc, len)');
		expect(text).toMatch(/Lock: v->arch\.xen\.vcpu_info_cache\.lock held since read_lock_irqsave at line \d+/);
		await shot(page, '03-hover');
		await page.keyboard.press('Escape');
	});

	it('opens the simulator from the command palette and steps through a counterexample', async () => {
		const file = join(ws.v612, 'arch/x86/kvm/xen.c');
		await goTo(page, lineOf(file, 'rc = ((struct vcpu_info *)gpc->khva)->evtchn_upcall_pending;'), 2);
		// Room for the swimlanes: no panel, no side bar.
		await runCommand(page, 'View: Hide Panel');
		await setSideBar(page, false);
		await runCommand(page, 'gpcscope: Simulate function at cursor');
		const frame = await webviewFrame(page, '#fwd');
		const header = await until('a verdict in the simulator', async () => {
			const b = await frame.locator('body').innerText();
			return /VIOLATION/i.test(b) && b;
		}, 60_000);
		expect(header).toMatch(/__kvm_xen_has_interrupt\(\) in process context × upstream/);
		expect(header).toMatch(/stale/i);
		await shot(page, '04-simulator');
		// "initial state · N steps" before the first step, then "step k / N".
		const counter = async () => Number(/step (\d+) \/ \d+/.exec(await frame.locator('body').innerText())?.[1] ?? 0);
		const total = Number(/(\d+) steps\b/.exec(header)?.[1]);
		const before = await counter();
		for (let i = 0; i < 3; i++) await frame.click('#fwd');
		await until('three steps forward', async () => (await counter()) === Math.min(before + 3, total), 10_000);
		await shot(page, '05-simulator-stepped');
		while ((await counter()) < total) await frame.click('#fwd');
		const end = await frame.locator('body').innerText();
		expect(end).toMatch(/evtchn_upcall_pending/);
		await shot(page, '06-simulator-last-step');
		// The focus back from the webview to the editor.
		await page.locator('.part.editor .tab', { hasText: 'xen.c' }).first().click();
		metrics.simulator = { steps: total };
		await setSideBar(page, true);
		(metrics.v612 as Record<string, unknown>).activationMs = await activationMs('07-running-extensions');
	});

	it('opens any cell of the matrix with the pickers, beside upstream\'s run of the same schedule', async () => {
		await setSideBar(page, false);
		await runCommand(page, 'gpcscope: Open simulator counterexample');
		const input = page.locator('.quick-input-widget .quick-input-box input');
		const firstRow = () => page.locator('.quick-input-list .monaco-list-row').first().getAttribute('aria-label').catch(() => null);
		const pick = async (what: string, text: string) => {
			await input.waitFor({ state: 'visible' });
			await input.fill(text);
			await until(`${what} "${text}" first in the picker`, async () => (await firstRow())?.startsWith(text), 30_000);
			await page.keyboard.press('Enter');
		};
		await pick('the scenario', 'reader-vs-invalidation');
		// The variant picker says what each variant does in this scenario.
		await until('the variants with their verdicts', async () => {
			const rows = (await page.locator('.quick-input-list').innerText().catch(() => '')) ?? '';
			return /valid-before-map[\s\S]*violation: stale-access/.test(rows);
		}, 60_000);
		await shot(page, '06a-simulator-variant-picker');
		await pick('the variant', 'valid-before-map');
		const frame = await webviewFrame(page, '#compare-toggle');
		await until('the counterexample in the panel', async () => /reader-vs-invalidation × valid-before-map/.test(await frame.locator('#title').innerText()), 60_000);
		await until('upstream\'s run beside it', async () => /^upstream, same schedule: safe/.test((await frame.locator('#compare .compare-head').innerText().catch(() => '')) ?? ''), 30_000);
		expect(await frame.locator('#lanes .step.violation').count()).toBe(1);
		expect(await frame.locator('#compare .step').count()).toBeGreaterThan(5);
		expect(await frame.locator('#why').innerText()).toMatch(/invalidate_start\(\) and mmu_invalidate_in_progress\+\+/);
		// today's steps carry lines of the indexed tree, the 5.18 ones a link naming their version
		expect(await frame.locator('#lanes .where .file', { hasText: /virt\/kvm\/pfncache\.c:\d+/ }).count()).toBeGreaterThan(0);
		expect(await frame.locator('#lanes a.version', { hasText: 'linux-5.18' }).count()).toBeGreaterThan(0);
		await shot(page, '06b-simulator-side-by-side');
		metrics.counterexample = { steps: await frame.locator('#lanes .step').count(), upstreamSteps: await frame.locator('#compare .step').count() };
		await page.locator('.part.editor .tab', { hasText: 'xen.c' }).first().click();
		await setSideBar(page, true);
	});

	it('Show interleaving on 6.1\'s sched-out finding opens the deadlock in its calling context, every step with its line', async () => {
		const file = join(ws.v61, 'arch/x86/kvm/xen.c');
		const line = lineOf(file, 'read_lock_irqsave(&gpc->lock, flags);', 'void kvm_xen_update_runstate_guest(');
		const column = readFileSync(file, 'utf8').split('\n')[line - 1].indexOf('read_lock_irqsave') + 2;
		await openFolder(page, server!, ws.v61);
		await openFile(page, 'arch/x86/kvm/xen.c');
		await until('the 6.1 index', async () => (await languageStatus()).includes('gpcscope: 6.1 ·'), 180_000);
		// Room for the lanes: no panel, no side bar.
		if (await page.locator('.monaco-workbench .part.panel').isVisible().catch(() => false)) await runCommand(page, 'View: Hide Panel');
		await setSideBar(page, false);
		await goTo(page, line, column);
		await until('the sched-out finding drawn', () => page.locator('.squiggly-error').count(), 60_000);
		const action = 'Show interleaving for gpc-lock-in-sched-out';
		let opened = false;
		for (let attempt = 0; attempt < 3 && !opened; attempt++) {
			await page.keyboard.press('Escape');
			await goTo(page, line, column);
			await page.keyboard.press('Control+.');
			const listed = await until('Show interleaving in the menu', () => page.locator('.action-widget .monaco-list-row', { hasText: action }).count(), 20_000).catch(() => 0);
			if (!listed) {
				await shot(page, `07a-show-interleaving-menu-missing-${attempt}`);
				continue;
			}
			for (let i = 0; i < 8 && !(await page.locator('.action-widget .monaco-list-row.focused', { hasText: action }).count()); i++) await page.keyboard.press('ArrowDown');
			await shot(page, '07a-show-interleaving-menu');
			await page.keyboard.press('Enter');
			opened = true;
		}
		expect(opened).toBe(true);
		const frame = await webviewFrame(page, '#context');
		const body = await until('the deadlock in the panel', async () => {
			const b = await frame.locator('body').innerText();
			return /sched-out context \(rq lock held\)/.test(b) && /deadlock/i.test(b) && b;
		}, 120_000);
		expect(await frame.locator('#title').innerText()).toMatch(/^kvm_xen_update_runstate_guest\(\) in sched-out context \(rq lock held\) × upstream$/);
		expect(await frame.locator('#context-chain a').allTextContents()).toEqual(['kvm_sched_out()', 'kvm_arch_vcpu_put()', 'kvm_xen_runstate_set_preempted()', 'kvm_xen_update_runstate_guest()']);
		expect(body).toMatch(/pfncache: upstream \(detected\)[^\n]*kvm_gfn_to_pfn_cache_refresh\(\)/);
		// The four runs of the function, the deadlock shown.
		expect(await frame.locator('#runs button[aria-pressed="true"]').innerText()).toBe('sched-out context (rq lock held): deadlock');
		await frame.click('#last');
		expect(await frame.locator('#lanes .step.violation').count()).toBe(1);
		const where = await frame.locator('#lanes .where .file').allInnerTexts();
		expect(where.length).toBeGreaterThanOrEqual(7);
		for (const w of where) expect(w, w).toMatch(/^[\w/.-]+\.[ch]:\d+ · \w+\(\)$/);
		expect(await frame.locator('#inspector').innerText()).toMatch(/queued writer invalidate/);
		// The panel on the whole editor area (closing xen.c closes its group) for the picture: every lane.
		const tab = page.locator('.part.editor .tab', { hasText: 'xen.c' }).first();
		await tab.hover();
		await tab.locator('.codicon-close').click();
		await until('the panel alone', async () => (await page.locator('.part.editor .tab', { hasText: 'xen.c' }).count()) === 0, 10_000);
		await frame.locator('#lanes .step.violation').scrollIntoViewIfNeeded();
		metrics.showInterleaving = { steps: where.length, screenshot: await shot(page, '08-show-interleaving-sched-out-6.1') };
		await setSideBar(page, true);
	});

	it('applies the quick fix on a 6.1 usage flag: the whole-tree rewrite, through the refactor preview', async () => {
		const file = join(ws.v61, 'arch/x86/kvm/xen.c');
		const original = readFileSync(file, 'utf8');
		const line = lineOf(file, 'kvm_gpc_activate(kvm, gpc, NULL, KVM_HOST_USES_PFN, gpa,', 'kvm_xen_shared_info_init(');
		const column = original.split('\n')[line - 1].indexOf('KVM_HOST_USES_PFN') + 2;
		await openFolder(page, server!, ws.v61);
		await openFile(page, 'arch/x86/kvm/xen.c');
		await until('the 6.1 index', async () => (await languageStatus()).includes('gpcscope: 6.1 ·'), 180_000);
		await goTo(page, line, column);
		// The dead flag is a hint with the Unnecessary tag: drawn faded, not in Problems.
		await until('the faded usage flag', () => page.locator('.squiggly-inline-unnecessary').count(), 60_000);
		const count = (t: string) => t.split('KVM_HOST_USES_PFN').length - 1;
		let changed = '';
		const fix = 'from this kvm_gpc_activate() call';
		for (let attempt = 0; attempt < 3 && !changed; attempt++) {
			await page.keyboard.press('Escape');
			await goTo(page, line, column);
			await page.keyboard.press('Control+.');
			// The first open can race the server's code action answer: try again, say so.
			const listed = await until('the quick fix in the menu', () => page.locator('.action-widget .monaco-list-row', { hasText: fix }).count(), 20_000).catch(() => 0);
			metrics.quickFixAttempts = attempt + 1;
			if (!listed) {
				await shot(page, `08-quickfix-menu-missing-${attempt}`);
				continue;
			}
			for (let i = 0; i < 4 && !(await page.locator('.action-widget .monaco-list-row.focused', { hasText: fix }).count()); i++) await page.keyboard.press('ArrowDown');
			await shot(page, '08-quickfix-menu');
			await page.keyboard.press('Enter');
			// The fix is the whole-tree rewrite, annotated as needing confirmation: VS Code shows its
			// refactor preview, applied with its Apply button. files.refactoring.autoSave saves what
			// the edit changed; Ctrl+S if it did not.
			changed = await until('the file to change', async () => {
				const now = readFileSync(file, 'utf8');
				if (now !== original) return now;
				const apply = page.locator('.monaco-workbench .part.panel .monaco-button', { hasText: /^Apply$/ });
				if (await apply.count()) {
					// Changes that need confirmation start unticked: tick every file (its changes follow), then Apply.
					const unticked = page.locator('.monaco-workbench .part.panel').locator('input.edit-checkbox:not(:checked), [role="checkbox"][aria-checked="false"]');
					for (let i = 0; i < 60 && (await unticked.count()); i++) await unticked.first().click();
					await shot(page, '08b-refactor-preview');
					await apply.first().click();
				}
				if (await page.locator('.tab.active.dirty').count()) await page.keyboard.press('Control+S');
				return undefined;
			}, 30_000).catch(() => '');
		}
		expect(changed).not.toBe('');
		// Not one call site alone (that would not build): every usage argument of the file goes, with the prototype's.
		expect(count(changed)).toBe(0);
		const after = changed.split('\n');
		expect(after[line - 1]).toMatch(/kvm_gpc_activate\(kvm, gpc, gpa,/);
		// The rewrite's other files are saved one after another (files.refactoring.autoSave): wait for the
		// header's prototype too, saving what is still dirty if the autosave did not.
		const header = join(ws.v61, 'include/linux/kvm_host.h');
		const prototypeGone = await until('kvm_host.h rewritten', async () => {
			if (!readFileSync(header, 'utf8').includes('enum pfn_cache_usage usage')) return true;
			if (await page.locator('.tab.dirty').count()) await runCommand(page, 'File: Save All Files');
			return false;
		}, 30_000).catch(() => false);
		expect(prototypeGone, 'include/linux/kvm_host.h still declares the usage parameter').toBe(true);
		await shot(page, '09-quickfix-applied');
	});
});

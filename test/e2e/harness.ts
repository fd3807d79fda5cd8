// A real VS Code for the e2e tier: code-server 4.100.3 (VS Code 1.100.3), set up
// by scripts/e2e-setup.sh into a cache outside the repo, with the packaged VSIX
// installed, driven through Debian's Chromium with playwright-core (../shared/E2E.md).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

export const REPO = join(__dirname, '..', '..');
export const SHOTS = join(REPO, 'test-results', 'e2e');

/** scripts/e2e-setup.sh: installs (once) and returns the code-server directory. */
export function setupCodeServer(): string {
	return execFileSync('bash', [join(REPO, 'scripts', 'e2e-setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 }).trim();
}

/**
 * The VSIX under test (GPCSCOPE_E2E_VSIX names a ready one): the vsce step of `npm run
 * package` on the dist/ that `npm test` / `npm run test:e2e` built. Not the build itself:
 * under `npm test` the other projects run from dist/ at the same time.
 */
export function packageVsix(): string {
	if (process.env.GPCSCOPE_E2E_VSIX) return process.env.GPCSCOPE_E2E_VSIX;
	if (!existsSync(join(REPO, 'dist', 'extension.js'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'inherit' });
	const script: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts.package;
	const vsce = script.split('&&').pop()!.trim();
	if (!/^vsce package .*--out gpcscope\.vsix/.test(vsce)) throw new Error(`unexpected package script: ${script}`);
	execFileSync('sh', ['-c', vsce], {
		cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'], timeout: 5 * 60_000,
		env: { ...process.env, PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH}` },
	});
	return join(REPO, 'gpcscope.vsix');
}

/**
 * A workspace of real copies (never hard links: VS Code saves in place, and a saved
 * quick fix would write through a link into the cached pristine tree).
 */
export function makeWorkspace(tree: string, dest: string, dirs: readonly string[]): string {
	rmSync(dest, { recursive: true, force: true });
	for (const d of dirs) {
		mkdirSync(dirname(join(dest, d)), { recursive: true });
		cpSync(join(tree, d), join(dest, d), { recursive: true });
	}
	return dest;
}

/** Replaces `from` by `to` in a workspace file (exactly once, or throws). */
export function inject(file: string, from: string, to: string): void {
	const text = readFileSync(file, 'utf8');
	if (text.split(from).length !== 2) throw new Error(`${file}: expected exactly one occurrence of the text to replace`);
	writeFileSync(file, text.replace(from, to));
}

/** 1-based line of the first line containing `needle`, after the line containing `after`. */
export function lineOf(file: string, needle: string, after?: string): number {
	const lines = readFileSync(file, 'utf8').split('\n');
	const start = after ? lines.findIndex((l) => l.includes(after)) : 0;
	const i = lines.findIndex((l, k) => k >= start && l.includes(needle));
	if (start < 0 || i < 0) throw new Error(`${file}: no line with ${needle}`);
	return i + 1;
}

async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const port = (s.address() as { port: number }).port;
			s.close(() => resolve(port));
		});
	});
}

const SETTINGS = {
	'workbench.startupEditor': 'none',
	'workbench.tips.enabled': false,
	'workbench.welcomePage.walkthroughs.openOnInstall': false,
	'workbench.enableExperiments': false,
	'telemetry.telemetryLevel': 'off',
	'extensions.autoCheckUpdates': false,
	'extensions.autoUpdate': false,
	'extensions.ignoreRecommendations': true,
	'update.mode': 'none',
	'security.workspace.trust.enabled': false,
	'editor.minimap.enabled': false,
	'editor.hover.delay': 300,
	'chat.commandCenter.enabled': false,
	'git.enabled': false,
};

export class CodeServer {
	private constructor(readonly dir: string, readonly port: number, private readonly child: ChildProcess, readonly userData: string, readonly extensions: string, readonly log: string[]) {}

	/** Installs `vsix` into fresh user-data/extensions folders and starts code-server on loopback. */
	static async start(codeServerDir: string, vsix: string): Promise<CodeServer> {
		const base = mkdtempSync(join(tmpdir(), 'gpcscope-e2e-'));
		const userData = join(base, 'user-data');
		const extensions = join(base, 'extensions');
		mkdirSync(join(userData, 'User'), { recursive: true });
		writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
		writeFileSync(join(userData, 'config.yaml'), 'auth: none\ncert: false\n');
		const entry = join(codeServerDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
		const common = ['--user-data-dir', userData, '--extensions-dir', extensions, '--config', join(userData, 'config.yaml')];
		execFileSync(process.execPath, [entry, ...common, '--install-extension', vsix, '--force'], { stdio: 'pipe', timeout: 120_000 });
		const port = await freePort();
		const child = spawn(process.execPath, [
			entry, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
			'--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
		], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
		const log: string[] = [];
		const server = new CodeServer(base, port, child, userData, extensions, log);
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`code-server did not start:\n${log.join('')}`)), 60_000);
			const onData = (b: Buffer) => {
				log.push(b.toString());
				if (b.toString().includes('HTTP server listening')) {
					clearTimeout(timer);
					resolve();
				}
			};
			child.stdout!.on('data', onData);
			child.stderr!.on('data', onData);
			child.once('exit', (code) => reject(new Error(`code-server exited (${code}):\n${log.join('')}`)));
		});
		return server;
	}

	get pid(): number {
		return this.child.pid!;
	}

	url(folder: string): string {
		return `http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(folder)}`;
	}

	/** Ends code-server and everything it started (its process group), by its PID. */
	stop(): void {
		try {
			process.kill(-this.child.pid!, 'SIGTERM');
		} catch {
			// already gone
		}
		rmSync(this.dir, { recursive: true, force: true });
	}
}

export async function launchBrowser(): Promise<Browser> {
	return chromium.launch({
		executablePath: process.env.GPCSCOPE_CHROMIUM ?? '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
}

/** Polls `fn` until it returns a truthy value (or throws with `what` after `ms`). */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, ms = 60_000, every = 250): Promise<T> {
	const deadline = Date.now() + ms;
	let last: unknown;
	for (;;) {
		try {
			const v = await fn();
			if (v) return v as T;
		} catch (e) {
			last = e;
		}
		if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
		await new Promise((r) => setTimeout(r, every));
	}
}

export async function shot(page: Page, name: string): Promise<string> {
	mkdirSync(SHOTS, { recursive: true });
	const path = join(SHOTS, `${name}.png`);
	await page.screenshot({ path });
	return path;
}

/** Opens the folder and waits for the workbench. */
export async function openFolder(page: Page, server: CodeServer, folder: string): Promise<void> {
	await page.goto(server.url(folder));
	await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
	// A folder opened again restores its layout, side bar hidden if a picture hid it.
	await setSideBar(page, true);
	// The explorer shows the folder once the workbench has restored.
	await until('the explorer', () => page.locator('.explorer-folders-view').isVisible(), 60_000);
}

/** Quick Open (Ctrl+P) a workspace-relative path. */
export async function openFile(page: Page, rel: string): Promise<void> {
	await page.keyboard.press('Control+P');
	const input = page.locator('.quick-input-widget input');
	await input.waitFor({ state: 'visible' });
	await input.fill(rel);
	const base = rel.split('/').pop()!;
	// The first result must be the file itself (file search runs on ripgrep).
	await until(`quick open to list ${rel}`, async () => {
		const first = page.locator('.quick-input-list .monaco-list-row').first();
		const label = await first.getAttribute('aria-label').catch(() => null);
		return label?.includes(base) && label.includes(dirname(rel).split('/').pop()!);
	}, 60_000);
	await page.keyboard.press('Enter');
	await until(`the editor tab of ${base}`, () => page.locator(`.tab[aria-label^="${base}"]`).first().isVisible(), 30_000);
	await page.locator('.monaco-editor .view-lines').first().click({ position: { x: 5, y: 5 } }).catch(() => undefined);
}

/** Ctrl+G to `line:column` (1-based). */
export async function goTo(page: Page, line: number, column = 1): Promise<void> {
	await page.keyboard.press('Control+G');
	const input = page.locator('.quick-input-widget input');
	await input.waitFor({ state: 'visible' });
	// Go to Line is Quick Open with a ":" prefix; fill() replaces the prefilled one.
	await input.fill(`:${line}:${column}`);
	await page.keyboard.press('Enter');
	// The status bar counts columns visually (a tab is 4): check the line only.
	await until('the cursor to move', async () => (await statusBarText(page)).includes(`Ln ${line},`), 10_000);
}

/** Runs a command by its palette title. */
export async function runCommand(page: Page, title: string): Promise<void> {
	const input = page.locator('.quick-input-widget .quick-input-box input');
	for (let attempt = 0; ; attempt++) {
		try {
			await page.keyboard.press('F1');
			await input.waitFor({ state: 'visible', timeout: 3000 });
			await input.fill(`>${title}`, { timeout: 3000 });
			await until(`the command "${title}" in the palette`, async () => {
				const label = await page.locator('.quick-input-list .monaco-list-row').first().getAttribute('aria-label').catch(() => null);
				return label?.toLowerCase().includes(title.toLowerCase());
			}, 15_000);
			await page.keyboard.press('Enter');
			return;
		} catch (e) {
			if (attempt === 2) throw e;
			// Keys typed while a webview has the focus stay in its iframe, and a webview can take
			// the focus back while the palette opens: give it to the workbench and try again.
			await page.keyboard.press('Escape');
			await page.locator('.part.editor .tab.active').first().click().catch(() => undefined);
		}
	}
}

/** Shows or hides the primary side bar (the toggle command, only when it is not already so). */
export async function setSideBar(page: Page, visible: boolean): Promise<void> {
	const shown = async () => page.locator('.part.sidebar').isVisible();
	if ((await shown()) !== visible) await runCommand(page, 'View: Toggle Primary Side Bar Visibility');
	await until(`the side bar ${visible ? 'shown' : 'hidden'}`, async () => (await shown()) === visible, 10_000);
}

export async function statusBarText(page: Page): Promise<string> {
	return page.locator('.statusbar').innerText();
}

export async function bodyText(page: Page): Promise<string> {
	return page.locator('body').innerText();
}

/** The frame of a webview whose document has `selector` (webviews nest two iframes). */
export async function webviewFrame(page: Page, selector: string): Promise<Frame> {
	return until(`a webview with ${selector}`, async () => {
		for (const f of page.frames()) {
			if (await f.$(selector).catch(() => null)) return f;
		}
		return undefined;
	}, 60_000);
}

/** RSS (kB) and CPU time (clock ticks) of a process, from /proc. */
export function procStats(pid: number): { rssKb: number; cpuTicks: number } {
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return { rssKb, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** PIDs whose command line contains every needle. */
export function findProcesses(...needles: string[]): number[] {
	const out: number[] = [];
	for (const d of readdirSync('/proc')) {
		if (!/^\d+$/.test(d)) continue;
		try {
			const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
			if (needles.every((n) => cmd.includes(n))) out.push(Number(d));
		} catch {
			// exited
		}
	}
	return out;
}

export function fileExists(p: string): boolean {
	try {
		return statSync(p).isFile();
	} catch {
		return false;
	}
}

export { copyFileSync, existsSync };

// Kernel roots (index/root.ts) for the CLI, kbuild and the server: the tree is found
// upward from a file or a sub-folder, a folder outside any kernel tree and a .gitignore
// that hides every C file are said, never reported as a clean tree.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URI } from 'vscode-uri';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkRoot, findKernelRoot } from '../../server/src/index/root';
import { DEMO, REPO } from '../helpers';
import { inProcessClient, type TestClient } from '../lsp-client';

const CLI = join(REPO, 'dist', 'cli.js');
const scratch = mkdtempSync(join(tmpdir(), 'gpcscope-root-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const run = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd });

/** The demo tree as Debian's linux-source ships it (a .gitignore ending in `/*`), after `git init`. */
function debianLike(): string {
	const root = join(scratch, `debian-${Math.random().toString(36).slice(2)}`);
	cpSync(DEMO, root, { recursive: true });
	writeFileSync(join(root, '.gitignore'), '#\n# Debian: everything is generated or unpacked here\n#\n/*\n');
	mkdirSync(join(root, '.git'));
	return root;
}

describe('kernel roots', () => {
	it('finds the tree from a file, a sub-folder and the top, and nothing outside one', () => {
		expect(findKernelRoot(join(DEMO, 'arch/x86/kvm/xen.c'))).toBe(DEMO);
		expect(findKernelRoot(join(DEMO, 'arch/x86/kvm'))).toBe(DEMO);
		expect(findKernelRoot(DEMO)).toBe(DEMO);
		const outside = mkdtempSync(join(scratch, 'plain-'));
		expect(findKernelRoot(outside)).toBeUndefined();
		const r = checkRoot(outside);
		expect(r).toMatchObject({ root: outside, kernel: false, ignoreGitignore: false });
		expect(r.warnings[0]).toMatch(/is not inside a kernel tree \(no include\/linux\/kvm_host\.h or MAINTAINERS in it or above it\)/);
		expect(checkRoot(join(DEMO, 'arch/x86/kvm'))).toEqual({ root: DEMO, kernel: true, ignoreGitignore: false, warnings: [] });
	});

	it('check FILE runs the tree-wide rules, as kbuild does (the usage census needs the whole tree)', () => {
		const file = join(DEMO, 'arch/x86/kvm/xen.c');
		const one = run(scratch, 'check', file, '--format', 'json', '--no-cache');
		const tree = run(scratch, 'check', DEMO, '--format', 'json', '--no-cache');
		const mine = JSON.parse(tree.stdout).diagnostics.filter((d: { file: string }) => d.file === 'arch/x86/kvm/xen.c');
		// xen.c's only findings are usage-flag hints: the census counts calls in other files.
		expect(mine.length).toBeGreaterThan(2);
		const report = JSON.parse(one.stdout);
		expect(report.root).toBe(DEMO);
		expect(report.diagnostics).toEqual(mine);
		const text = run(DEMO, 'check', 'arch/x86/kvm/xen.c', '--no-cache');
		expect(text.stdout.trim().split('\n')).toHaveLength(mine.length);
		expect(text.stderr).toMatch(/\d+ findings in arch\/x86\/kvm\/xen\.c, API era/);
	});

	it('a .gitignore that hides every C file is said and not obeyed, in the CLI', () => {
		const root = debianLike();
		const r = run(scratch, 'check', root, '--no-cache');
		expect(r.stderr).toMatch(/warning: \.gitignore hides every C file of .*\(Debian's linux-source tree ships one ending in "\/\*"\): indexing without \.gitignore/);
		expect(r.status).toBe(1);
		expect(r.stdout).toMatch(/demo_bugs\.c:\d+:\d+: error: /);
		const plain = run(scratch, 'check', mkdtempSync(join(scratch, 'notree-')), '--no-cache');
		expect(plain.stderr).toMatch(/warning: .* is not inside a kernel tree/);
	});
});

describe('kernel roots in the language server', () => {
	let client: TestClient | undefined;
	afterEach(async () => {
		await client?.close();
		client = undefined;
	});

	async function start(rootUri: string | null, messages: string[] = []): Promise<TestClient> {
		const c = inProcessClient({ messages, settings: { diagnostics: { debounceMs: 0 } } });
		await c.rpc.sendRequest('initialize', {
			processId: process.pid, rootUri, workspaceFolders: rootUri ? [{ uri: rootUri, name: 'root' }] : null,
			capabilities: { workspace: { configuration: true } },
		});
		c.rpc.sendNotification('initialized', {});
		client = c;
		return c;
	}
	const open = (c: TestClient, path: string) => {
		const uri = URI.file(path).toString();
		c.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: readFileSync(path, 'utf8') } });
		return uri;
	};
	const usageHints = (d: Diagnostic[]) => d.filter((x) => x.code === 'gpc-dead-usage-flag').length;

	it('indexes the whole tree when the editor opens arch/x86/kvm (Emacs without a VC root) or one file with no folder', async () => {
		const expected = 5;
		for (const rootUri of [URI.file(join(DEMO, 'arch/x86/kvm')).toString(), null]) {
			const c = await start(rootUri);
			const uri = open(c, join(DEMO, 'arch/x86/kvm/xen.c'));
			let d = await c.diagnostics(uri, true, 30_000);
			// The first publish may come from before the tree was indexed: wait for the tree's.
			while (usageHints(d) < expected) d = await c.diagnostics(uri, true, 30_000);
			expect(usageHints(d)).toBe(expected);
			await client!.close();
			client = undefined;
		}
	});

	it('warns once when the folder is no kernel tree, or when .gitignore hides everything, and indexes anyway', async () => {
		const messages: string[] = [];
		const root = debianLike();
		const c = await start(URI.file(root).toString(), messages);
		const uri = open(c, join(root, 'arch/x86/kvm/demo_bugs.c'));
		let d = await c.diagnostics(uri, true, 30_000);
		while (!d.some((x) => x.code === 'gpc-missing-deactivate')) d = await c.diagnostics(uri, true, 30_000);
		expect(messages.filter((m) => /\.gitignore hides every C file/.test(m))).toHaveLength(1);
		await c.close();
		client = undefined;
		const plain: string[] = [];
		await start(URI.file(mkdtempSync(join(scratch, 'notree-'))).toString(), plain);
		await new Promise((r) => setTimeout(r, 500));
		expect(plain.some((m) => /is not inside a kernel tree/.test(m))).toBe(true);
	});
});

// The VSIX that `npm run package` builds: only allow-listed files, small, and a
// Marketplace page for users (docs/marketplace.md), not the repository README,
// whose first lines stay the developer commands.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = join(__dirname, '..', '..');
/** What the extension needs at run time, and the pages VS Code shows. */
const ALLOWED = [
	/^extension\/package\.json$/, /^extension\/readme\.md$/, /^extension\/changelog\.md$/, /^extension\/LICENSE\.txt$/,
	/^extension\/dist\/(extension|server|cli|worker)\.js$/,
	/^extension\/grammars\/(tree-sitter-c\.wasm|web-tree-sitter\.wasm|provenance\.json)$/,
	/^extension\/docs\/rules\/[\w-]+\.md$/,
	/^extension\/client\/webview\/simulator\.(html|js|css)$/,
	/^extension\.vsixmanifest$/, /^\[Content_Types\]\.xml$/,
];

const out = mkdtempSync(join(tmpdir(), 'gpcscope-vsix-'));
const vsix = join(out, 'gpcscope.vsix');
const entry = (name: string) => execFileSync('unzip', ['-p', vsix, name], { encoding: 'utf8' });

beforeAll(() => {
	// The package script's vsce step (dist/ is built by the tier), writing elsewhere than the e2e's VSIX.
	const script: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts.package;
	const vsce = script.split('&&').pop()!.trim();
	expect(vsce).toMatch(/^vsce package .*--out gpcscope\.vsix$/);
	execFileSync('sh', ['-c', vsce.replace('--out gpcscope.vsix', `--out ${vsix}`)], {
		cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'],
		env: { ...process.env, PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH}` },
	});
}, 300_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the VSIX', () => {
	it('holds only allow-listed files, under 5 MB', () => {
		const files = execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8' }).trim().split('\n');
		expect(files.filter((f) => !ALLOWED.some((re) => re.test(f)))).toEqual([]);
		// The server's index pool parses in dist/worker.js threads.
		expect(files).toEqual(expect.arrayContaining(['extension/dist/extension.js', 'extension/dist/server.js', 'extension/dist/worker.js', 'extension/grammars/tree-sitter-c.wasm', 'extension/readme.md']));
		expect(statSync(vsix).size).toBeLessThan(5 * 1024 * 1024);
	});

	it('shows users docs/marketplace.md, while the repository README starts with the developer commands', () => {
		const readme = entry('extension/readme.md');
		expect(readme).toMatch(/^# gpcscope — KVM pfncache checker$/m);
		expect(readme).toContain('## What it checks');
		expect(readme).not.toMatch(/npm (ci|start|test)/);
		expect(readFileSync(join(REPO, 'README.md'), 'utf8')).toMatch(/^# gpcscope\n\n```sh\nnpm ci && npm start .*\nnpm test /);
	});

	it('has a CHANGELOG that names what 0.1.0 ships', () => {
		const changelog = entry('extension/changelog.md');
		for (const s of ['CHECK="gpcscope kbuild"', 'gpcscope review', '--new-only', '--baseline', 'SARIF', 'code scanning', 'simulate', 'gpc instances']) expect(changelog).toContain(s);
	});
});

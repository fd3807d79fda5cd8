// The README's own snippets, as the editors tier runs them: each is the fenced
// block right after a `<!-- snippet: NAME -->` marker, so what is tested is
// what a reader copies.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers';

export function snippet(name: string, readme = readFileSync(join(REPO, 'README.md'), 'utf8')): string {
	const marker = `<!-- snippet: ${name} -->`;
	const at = readme.indexOf(marker);
	if (at < 0) throw new Error(`README.md has no ${marker}`);
	const m = /^```[\w-]*\n([\s\S]*?)^```$/m.exec(readme.slice(at + marker.length));
	if (!m) throw new Error(`README.md: no fenced block after ${marker}`);
	return m[1];
}

/**
 * Runs the README's install step with npm's global prefix set to a fresh temporary folder
 * (`npm_config_prefix`), from the checkout; `npm ci` is left out (the suite runs in an
 * installed checkout already). Returns the folder whose bin/ holds the installed `gpcscope`.
 */
export function installAsReadmeSays(): string {
	const lines = snippet('install').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
	if (lines[0] !== 'npm ci') throw new Error(`the README's install step no longer starts with npm ci: ${lines[0]}`);
	const prefix = mkdtempSync(join(tmpdir(), 'gpcscope-prefix-'));
	const env = { ...process.env, npm_config_prefix: prefix, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` };
	execFileSync('bash', ['-euo', 'pipefail', '-c', lines.slice(1).join('\n')], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
	return prefix;
}

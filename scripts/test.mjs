#!/usr/bin/env node
// `npm test`: build, typecheck, then the test tiers in order, each timed; a
// table of the tiers' wall times and results at the end. A failing tier does not
// stop the others (the table shows them all); the exit code is 1 if any failed.
// The two slow tiers (the kernel build, which compiles arch/x86/kvm/ twice from a
// fresh cache, and the VS Code end-to-end run, which installs code-server) run
// with `--slow` (`npm run test:slow`, which CI runs after `npm test`) or `--all`.
// `node scripts/test.mjs unit editors` runs only the named tiers.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = (...projects) => ['node', [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...projects.flatMap((p) => ['--project', p])]];
const TIERS = [
	['build', ['npm', ['run', 'build', '--silent']]],
	['typecheck', ['npm', ['run', 'typecheck', '--silent']]],
	['unit', vitest('unit')],
	['kernel', vitest('kernel')],
	['spin+webview', vitest('spin', 'webview')],
	['editors', vitest('editors')],
	['build tier', vitest('build'), 'slow'],
	['e2e', vitest('e2e'), 'slow'],
];

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const selected = ([name, , slow]) =>
	wanted.length ? wanted.includes(name) : flags.includes('--all') || (flags.includes('--slow') ? !!slow || name === 'build' : !slow);
const unknown = wanted.filter((w) => !TIERS.some(([name]) => name === w));
if (unknown.length) {
	console.error(`unknown tier ${unknown.join(', ')}; tiers: ${TIERS.map(([n]) => n).join(', ')}`);
	process.exit(2);
}
const rows = [];
const started = Date.now();
for (const tier of TIERS) {
	const [name, [cmd, args]] = tier;
	if (!selected(tier)) continue;
	// Nothing else can run without a build.
	if (rows.some((r) => r.name === 'build' && !r.ok)) {
		rows.push({ name, ok: false, seconds: 0, load: '', note: 'not run: the build failed' });
		continue;
	}
	console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
	const t = Date.now();
	const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
	rows.push({ name, ok: r.status === 0, seconds: (Date.now() - t) / 1000, load: loadavg()[0].toFixed(1), note: r.status === 0 ? '' : r.error ? r.error.message : `exit ${r.status ?? r.signal}` });
}
const total = (Date.now() - started) / 1000;
const width = Math.max(...rows.map((r) => r.name.length), 'total'.length);
const line = (a, b, c, d) => `${a.padEnd(width)}  ${b.padStart(8)}  ${c.padEnd(6)}  ${d}`;
console.log(`\n${line('tier', 'seconds', 'result', 'load (1 min) at end')}`);
for (const r of rows) console.log(line(r.name, r.seconds.toFixed(0), r.ok ? 'pass' : 'FAIL', `${r.load}${r.note ? `  ${r.note}` : ''}`));
console.log(line('total', total.toFixed(0), rows.every((r) => r.ok) ? 'pass' : 'FAIL', `${(total / 60).toFixed(1)} min`));
process.exit(rows.every((r) => r.ok) ? 0 : 1);

#!/usr/bin/env node
// `npm test`: build, typecheck, then every test tier in order, each timed; a
// table of the tiers' wall times and results at the end. A failing tier does not
// stop the others (the table shows them all); the exit code is 1 if any failed.
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
	['build tier', vitest('build')],
	['e2e', vitest('e2e')],
	['editors', vitest('editors')],
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !TIERS.some(([name]) => name === w));
if (unknown.length) {
	console.error(`unknown tier ${unknown.join(', ')}; tiers: ${TIERS.map(([n]) => n).join(', ')}`);
	process.exit(2);
}
const rows = [];
const started = Date.now();
for (const [name, [cmd, args]] of TIERS) {
	if (wanted.length && !wanted.includes(name)) continue;
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

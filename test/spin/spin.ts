// Runs Spin on an emitted Promela model and reports its verdict.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpinVerdict {
	verdict: 'safe' | 'violation';
	/** 'assertion' | 'invalid end state' when a violation was found */
	kind?: string;
	states: number;
	output: string;
}

export function spinAvailable(): boolean {
	const r = spawnSync('spin', ['-V'], { encoding: 'utf8' });
	return r.status === 0 && spawnSync('gcc', ['--version']).status === 0;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
	return new Promise((resolve, reject) => {
		const p = spawn(cmd, args, { cwd });
		let out = '';
		p.stdout.on('data', (d) => (out += d));
		p.stderr.on('data', (d) => (out += d));
		p.on('error', reject);
		p.on('close', (code) => resolve({ code, out }));
	});
}

/** spin -a, gcc, ./pan: exhaustive safety search (assertions and invalid end states). */
export async function verifyWithSpin(promela: string): Promise<SpinVerdict> {
	const dir = mkdtempSync(join(tmpdir(), 'gpcscope-spin-'));
	try {
		writeFileSync(join(dir, 'model.pml'), promela);
		const gen = await run('spin', ['-a', 'model.pml'], dir);
		if (gen.code !== 0) throw new Error(`spin -a failed:\n${gen.out}`);
		const cc = await run('gcc', ['-O0', '-w', '-DSAFETY', '-DNOCLAIM', '-DVECTORSZ=4096', '-o', 'pan', 'pan.c'], dir);
		if (cc.code !== 0) throw new Error(`gcc pan.c failed:\n${cc.out}`);
		const pan = await run('./pan', ['-m1000000', '-w22'], dir);
		const out = pan.out;
		if (/max search depth too small/.test(out)) throw new Error(`pan search truncated:\n${out}`);
		const errors = /errors: (\d+)/.exec(out);
		if (!errors) throw new Error(`unexpected pan output:\n${out}`);
		const states = Number(/(\d+) states, stored/.exec(out)?.[1] ?? 0);
		if (errors[1] === '0') return { verdict: 'safe', states, output: out };
		const kind = /assertion violated/.test(out) ? 'assertion' : /invalid end state/.test(out) ? 'invalid end state' : 'other';
		return { verdict: 'violation', kind, states, output: out };
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

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
	return pan(promela, ['-DSAFETY', '-DNOCLAIM'], []);
}

/**
 * The liveness model (its `ltl live { <> ... }`): pan searches for acceptance
 * cycles under weak fairness (-a -f). A violation is an acceptance cycle, or a
 * deadlock before the formula holds (Spin's stutter extension).
 */
export async function verifyLivenessWithSpin(promela: string): Promise<SpinVerdict> {
	return pan(promela, ['-DNFAIR=3'], ['-a', '-f']);
}

async function pan(promela: string, cflags: string[], flags: string[]): Promise<SpinVerdict> {
	const dir = mkdtempSync(join(tmpdir(), 'gpcscope-spin-'));
	try {
		writeFileSync(join(dir, 'model.pml'), promela);
		const gen = await run('spin', ['-a', 'model.pml'], dir);
		if (gen.code !== 0) throw new Error(`spin -a failed:\n${gen.out}`);
		const cc = await run('gcc', ['-O0', '-w', ...cflags, '-DVECTORSZ=4096', '-o', 'pan', 'pan.c'], dir);
		if (cc.code !== 0) throw new Error(`gcc pan.c failed:\n${cc.out}`);
		const pan = await run('./pan', [...flags, '-m1000000', '-w22'], dir);
		const out = pan.out;
		if (/max search depth too small/.test(out)) throw new Error(`pan search truncated:\n${out}`);
		const errors = /errors: (\d+)/.exec(out);
		if (!errors) throw new Error(`unexpected pan output:\n${out}`);
		const states = Number(/(\d+) states, stored/.exec(out)?.[1] ?? 0);
		if (errors[1] === '0') return { verdict: 'safe', states, output: out };
		// pan's first error: "pan:1: assertion violated ...", "pan:1: invalid end state ...", "pan:1: acceptance cycle ..."
		const first = /pan:\d+: (assertion violated|invalid end state|acceptance cycle)/.exec(out)?.[1];
		const kind = first === 'assertion violated' ? 'assertion' : (first ?? 'other');
		return { verdict: 'violation', kind, states, output: out };
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

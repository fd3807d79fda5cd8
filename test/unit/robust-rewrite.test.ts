// Reliability of the whole-tree rewrite (`gpcscope fix --rule gpc-dead-usage-flag`): it is
// idempotent, and a failed write (disk full), a failed rename, a read-only file or a file
// changed on disk after the analysis must end with a clear error naming the file, every
// original byte intact and no temporary file left (server/src/usage/apply.ts).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyChanges } from '../../server/src/usage/apply';
import { fixCommand, planTree } from '../../server/src/fix';
import { FIXTURES, REPO } from '../helpers';

// Failure injection into the rewrite's file system calls (everything else is the real node:fs).
const inject = vi.hoisted(() => ({ writeSync: undefined as undefined | ((n: number) => void), renameSync: undefined as undefined | ((n: number) => void), noHardLinks: false, writes: 0, renames: 0 }));
vi.mock('node:fs', async (original) => {
	const real = await original<typeof import('node:fs')>();
	return {
		...real,
		writeSync: (...args: Parameters<typeof real.writeSync>) => {
			inject.writeSync?.(++inject.writes);
			return (real.writeSync as (...a: unknown[]) => number)(...args);
		},
		linkSync: (...args: Parameters<typeof real.linkSync>) => {
			if (inject.noHardLinks) throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
			return real.linkSync(...args);
		},
		renameSync: (...args: Parameters<typeof real.renameSync>) => {
			inject.renameSync?.(++inject.renames);
			return real.renameSync(...args);
		},
	};
});

const CLI = join(REPO, 'dist', 'cli.js');
const BEFORE = join(FIXTURES, 'gpc-dead-usage-flag', 'fix', 'era-6.1', 'before');

afterEach(() => {
	Object.assign(inject, { writeSync: undefined, renameSync: undefined, noHardLinks: false, writes: 0, renames: 0 });
});

function tree(): string {
	const dir = mkdtempSync(join(tmpdir(), 'gpcscope-rewrite-'));
	cpSync(BEFORE, dir, { recursive: true });
	return dir;
}

/** Every file's bytes (and names: a leftover temporary is a change too). */
function snapshot(root: string): Map<string, string> {
	const out = new Map<string, string>();
	const walk = (d: string) => {
		for (const e of readdirSync(d, { withFileTypes: true })) {
			const p = join(d, e.name);
			if (e.isDirectory()) walk(p);
			else out.set(relative(root, p), fs.readFileSync(p, 'latin1'));
		}
	};
	walk(root);
	return out;
}

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
const io = () => {
	const err: string[] = [];
	return { err, io: { stdout: () => undefined, stderr: (t: string) => void err.push(t) } };
};

describe('gpcscope fix under failure', () => {
	it('is idempotent: a second run changes nothing and says so', () => {
		const root = tree();
		const first = spawnSync(process.execPath, [CLI, 'fix', '--rule', 'gpc-dead-usage-flag', root], { encoding: 'utf8' });
		expect(first.status, first.stderr).toBe(0);
		const after = snapshot(root);
		expect(after).not.toEqual(snapshot(BEFORE));
		const second = spawnSync(process.execPath, [CLI, 'fix', '--rule', 'gpc-dead-usage-flag', root], { encoding: 'utf8' });
		expect(second.status).toBe(0);
		expect(second.stderr).toMatch(/no enum pfn_cache_usage|already gone|no usage flags/);
		expect(snapshot(root)).toEqual(after);
	}, 60_000);

	it('a disk full while writing the new files leaves every original byte and no temporary file', async () => {
		const root = tree();
		const before = snapshot(root);
		inject.writeSync = (n) => {
			if (n === 2) throw enospc();
		};
		const { err, io: out } = io();
		expect(await fixCommand(root, { rule: 'gpc-dead-usage-flag' }, out)).toBe(1);
		expect(err.join('')).toMatch(/nothing was changed: \S+\.[ch]: cannot write its new contents \(ENOSPC/);
		expect(snapshot(root)).toEqual(before);
	}, 60_000);

	it('a failure while renaming (after the first file was replaced) is rolled back', async () => {
		const root = tree();
		const before = snapshot(root);
		inject.renameSync = (n) => {
			if (n === 2) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
		};
		const { err, io: out } = io();
		expect(await fixCommand(root, { rule: 'gpc-dead-usage-flag' }, out)).toBe(1);
		expect(err.join('')).toMatch(/nothing was changed: \S+\.[ch]: cannot replace it \(EIO.*every file was restored/);
		expect(snapshot(root)).toEqual(before);
	}, 60_000);

	it('on a file system without hard links the originals are kept as copies, and a failed rename still rolls back', async () => {
		const root = tree();
		const before = snapshot(root);
		inject.noHardLinks = true;
		inject.renameSync = (n) => {
			if (n === 2) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
		};
		const { err, io: out } = io();
		expect(await fixCommand(root, { rule: 'gpc-dead-usage-flag' }, out)).toBe(1);
		expect(err.join('')).toMatch(/every file was restored/);
		expect(snapshot(root)).toEqual(before);
	}, 60_000);

	it('a rollback that fails too says so and keeps the original beside the file', async () => {
		const root = tree();
		const before = snapshot(root);
		// The second replacement fails, then so does putting back the first original.
		inject.renameSync = (n) => {
			if (n >= 2) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
		};
		const { err, io: out } = io();
		expect(await fixCommand(root, { rule: 'gpc-dead-usage-flag' }, out)).toBe(1);
		const message = err.join('');
		expect(message).toMatch(/PARTLY REWRITTEN: .*could not restore (\S+\.[ch]): their originals are kept as (\S+\.orig\.tmp)/);
		const [, file, kept] = /could not restore (\S+\.[ch]): their originals are kept as (\S+\.orig\.tmp)/.exec(message)!;
		expect(readFileSync(kept, 'latin1')).toBe(before.get(file));
		expect([...snapshot(root).keys()].filter((f) => f.endsWith('.tmp'))).toEqual([relative(root, kept)]);
	}, 60_000);

	it('a file changed on disk between the analysis and the write is refused (the change is kept)', async () => {
		const root = tree();
		const plan = await planTree(root);
		expect(plan.outcome.kind).toBe('changes');
		if (plan.outcome.kind !== 'changes') return;
		const victim = plan.outcome.changes[0].file;
		const edited = readFileSync(join(root, victim), 'latin1') + '\n/* saved by the editor meanwhile */\n';
		writeFileSync(join(root, victim), edited, 'latin1');
		const before = snapshot(root);
		expect(() => applyChanges(root, plan.outcome.kind === 'changes' ? plan.outcome.changes : [], plan.encodingOf)).toThrow(`${victim}: changed on disk since it was analysed`);
		expect(snapshot(root)).toEqual(before);
	}, 60_000);

	it('a file saved while the new files are being written is refused just before the renames', async () => {
		const root = tree();
		const plan = await planTree(root);
		if (plan.outcome.kind !== 'changes') throw new Error('expected changes');
		const changes = plan.outcome.changes;
		const victim = join(root, changes[changes.length - 1].file);
		const edited = readFileSync(victim, 'latin1') + '\n/* saved by the editor meanwhile */\n';
		inject.writeSync = (n) => {
			if (n === 1) writeFileSync(victim, edited, 'latin1');
		};
		expect(() => applyChanges(root, changes, plan.encodingOf)).toThrow(/changed on disk since it was analysed/);
		expect(readFileSync(victim, 'latin1')).toBe(edited);
		expect([...snapshot(root).keys()].filter((f) => f.includes('.gpcscope-'))).toEqual([]);
	}, 60_000);

	it('a read-only file is refused, and nothing else is written', async () => {
		const root = tree();
		const plan = await planTree(root);
		if (plan.outcome.kind !== 'changes') throw new Error('expected changes');
		const victim = join(root, plan.outcome.changes[0].file);
		chmodSync(victim, 0o444);
		const before = snapshot(root);
		const { err, io: out } = io();
		const code = await fixCommand(root, { rule: 'gpc-dead-usage-flag' }, out).catch(() => -1);
		expect(code).not.toBe(0);
		expect(code).toBe(1);
		expect(err.join('')).toContain(`${plan.outcome.changes[0].file}: read-only file (mode 444)`);
		expect(snapshot(root)).toEqual(before);
		expect(statSync(victim).mode & 0o777).toBe(0o444);
	}, 60_000);
});

// Readers given as operation lists (what the engine extracts from a function)
// run against adversary threads.
import { describe, expect, it } from 'vitest';
import { runReader, type ReaderOp, type ReaderProgram } from '../../server/src/simulator';

const prog = (ops: ReaderOp[], name = 'reader'): ReaderProgram => ({ name, file: 'arch/x86/kvm/demo.c', function: 'demo_reader', ops });

/** The contract's loop, as extracted from `while (!kvm_gpc_check()) { unlock; if (refresh) goto out; lock; }`. */
function contract(srcu = false): ReaderOp[] {
	return [
		...(srcu ? [{ op: 'srcuLock' } as const] : []),
		{ op: 'lock', line: 10 },
		{ op: 'label', name: 'check' },
		{ op: 'check', else: 'fail', line: 11 },
		{ op: 'use', line: 16 },
		{ op: 'markDirty', line: 17 },
		{ op: 'unlock', line: 18 },
		{ op: 'goto', target: 'out' },
		{ op: 'label', name: 'fail' },
		{ op: 'unlock', line: 12 },
		{ op: 'refresh', else: 'out', line: 13 },
		{ op: 'lock', line: 14 },
		{ op: 'goto', target: 'check' },
		{ op: 'label', name: 'out' },
		...(srcu ? [{ op: 'srcuUnlock' } as const] : []),
	];
}
const correct = contract();

describe('runReader', () => {
	it('accepts the correct reader against every kind of adversary', () => {
		for (const threads of [['invalidate'], ['invalidate-twice'], ['zap'], ['memslot'], ['deactivate'], ['refresher', 'invalidate']] as const) {
			const r = runReader(prog(contract(threads[0] === 'memslot')), { threads: [...threads] });
			expect(r.verdict, `${threads.join('+')}: ${r.message}`).toBe('safe');
			expect(r.liveness, threads.join('+')).toBe('holds');
			expect(r.states).toBeGreaterThan(20);
		}
		expect(runReader(prog(correct), 'reader-vs-two-invalidations').verdict).toBe('safe');
	});

	it('locates the reader\'s own steps at its lines', () => {
		const r = runReader(prog(correct.filter((o) => o.op !== 'check').map((o) => o)), { threads: ['invalidate'] });
		expect(r.verdict).toBe('violation');
		const use = r.trace!.at(-1)!;
		expect(use.location).toEqual({ file: 'arch/x86/kvm/demo.c', function: 'demo_reader', hint: 'access through gpc->khva', line: 16 });
	});

	it('finds a use without a check', () => {
		const r = runReader(prog([{ op: 'lock' }, { op: 'use' }, { op: 'unlock' }]), { threads: ['invalidate'] });
		expect(r.property).toBe('stale-access');
	});

	it('finds a use after the unlock', () => {
		const r = runReader(prog([{ op: 'lock' }, { op: 'check', else: 'out' }, { op: 'unlock' }, { op: 'use' }, { op: 'label', name: 'out' }]), { threads: ['invalidate'] });
		expect(r.property).toBe('stale-access');
	});

	it('finds a refresh under the read lock', () => {
		const r = runReader(prog([{ op: 'lock' }, { op: 'check', else: 'fail' }, { op: 'use' }, { op: 'unlock' }, { op: 'return' }, { op: 'label', name: 'fail' }, { op: 'refresh' }, { op: 'unlock' }]), { threads: ['invalidate'] });
		expect(r.property).toBe('sleep-under-lock');
		expect(r.message).toMatch(/mutex_lock/);
	});

	it('finds a refresh on an atomic path', () => {
		const r = runReader(
			prog([{ op: 'irqSave' }, { op: 'trylock', else: 'out' }, { op: 'check', else: 'fail' }, { op: 'use' }, { op: 'unlock', variant: 'plain' }, { op: 'goto', target: 'out' }, { op: 'label', name: 'fail' }, { op: 'unlock', variant: 'plain' }, { op: 'refresh' }, { op: 'label', name: 'out' }, { op: 'irqRestore' }]),
			{ threads: ['invalidate'] },
		);
		expect(r.property).toBe('sleep-under-lock');
	});

	it('finds a loop that never refreshes: liveness violated, reported as a lasso, safety unaffected', () => {
		const spin: ReaderOp[] = [{ op: 'lock' }, { op: 'label', name: 'check' }, { op: 'check', else: 'fail' }, { op: 'use' }, { op: 'unlock' }, { op: 'return' }, { op: 'label', name: 'fail' }, { op: 'unlock' }, { op: 'lock' }, { op: 'goto', target: 'check' }];
		const r = runReader(prog(spin), { threads: ['invalidate'] });
		expect(r.verdict).toBe('safe');
		expect(r.liveness).toBe('violated');
		expect(r.lasso!.threads).toEqual(['reader']);
		// once the invalidation is over, the reader's check-unlock-lock loop goes round forever on its own
		expect(r.lasso!.cycle.every((s) => s.thread === 'reader')).toBe(true);
		expect(r.lasso!.cycle.map((s) => s.action)).toEqual(['kvm_gpc_check(gpc, len)', 'read_unlock_irqrestore(&gpc->lock, flags)', 'read_lock_irqsave(&gpc->lock, flags)']);
	});

	it('runs two-cache readers and reports the adversaries by hva', () => {
		const two: ReaderOp[] = [
			{ op: 'lock', cache: 0 },
			{ op: 'check', cache: 0, else: 'out0' },
			{ op: 'lock', cache: 1 },
			{ op: 'check', cache: 1, else: 'out1' },
			{ op: 'use', cache: 0 },
			{ op: 'use', cache: 1 },
			{ op: 'label', name: 'out1' },
			{ op: 'unlock', cache: 1 },
			{ op: 'label', name: 'out0' },
			{ op: 'unlock', cache: 0 },
		];
		const r = runReader(prog(two), { threads: ['invalidate'], caches: 2 });
		expect(r.verdict).toBe('safe');
		expect(r.threads).toEqual(['reader', 'invalidate-A', 'invalidate-C']);
		expect(() => runReader(prog([{ op: 'use', cache: 1 }]), { threads: ['invalidate'] })).toThrow(/no cache 1/);
	});

	it('checks the reader against historical algorithms too', () => {
		expect(runReader(prog(correct), { threads: ['invalidate'] }, 'valid-before-map').verdict).toBe('violation');
		expect(() => runReader(prog(correct), undefined, 'nope')).toThrow(/unknown variant/);
	});
});

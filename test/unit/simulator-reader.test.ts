// Readers given as operation lists (what the engine extracts from a function)
// run against adversary threads.
import { describe, expect, it } from 'vitest';
import { runReader, type ReaderOp, type ReaderProgram } from '../../server/src/simulator';
import { assemble } from '../../server/src/simulator/build';
import { explore } from '../../server/src/simulator/explorer';
import { emitInvalidation } from '../../server/src/simulator/notifier';
import { readerThread } from '../../server/src/simulator/scenarios';
import { variantFlags } from '../../server/src/simulator/variants';
import type { ThreadContext } from '../../server/src/simulator/reader';

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

describe('the queued rwlock and interrupts', () => {
	/**
	 * A vCPU holds the read lock; an invalidation queues as the waiting writer; a hard IRQ on the
	 * vCPU's CPU takes the read lock too. `holder`: how the vCPU takes it; `handler`: the handler's context.
	 */
	function irqOverReader(holder: 'read_lock' | 'read_lock_irqsave', handler: ThreadContext) {
		const vcpu = prog([{ op: 'lock', text: `${holder}(&gpc->lock)` }, { op: 'check', else: 'out' }, { op: 'use' }, { op: 'label', name: 'out' }, { op: 'unlock', text: holder === 'read_lock' ? 'read_unlock(&gpc->lock)' : 'read_unlock_irqrestore(&gpc->lock, flags)' }], 'vcpu');
		const irq = { ...prog([{ op: 'lock', text: 'read_lock(&gpc->lock)' }, { op: 'check', else: 'out' }, { op: 'use' }, { op: 'label', name: 'out' }, { op: 'unlock', text: 'read_unlock(&gpc->lock)' }], 'timer'), context: { irq: true, interrupts: 'vcpu', atomic: 'hard-IRQ context', ...handler } };
		const world = { caches: [{ name: 'vcpu_info_cache', gfn: 'gfn0', hva: 1, usage: 'host' as const }], hvas: ['A'], extraPages: 1, srcu: false };
		const flags = variantFlags({ flags: {} });
		const model = assemble(world, [readerThread(vcpu), readerThread(irq), { name: 'invalidate', adversary: true, emit: (t, ctx) => emitInvalidation(t, ctx, 1, { kind: 'migrate' }) }], flags, { scenario: 'irq-over-reader', variant: 'upstream' });
		return explore(model);
	}

	it('lets an interrupt-context reader past a queued writer: a handler over a reader that holds the lock is safe', () => {
		const r = irqOverReader('read_lock', {});
		expect(r.verdict, r.message).toBe('safe');
		expect(r.liveness).toBe('holds');
	});

	it('deadlocks without that exception: the writer waits for the interrupted reader, the handler for the writer', () => {
		const r = irqOverReader('read_lock', { queueInInterrupt: true });
		expect(r.property).toBe('deadlock');
		const last = r.trace!.at(-1)!.state;
		expect(last.threads.vcpu.interruptedBy).toBe('timer');
		expect(last.caches[0].lock).toMatchObject({ readers: ['vcpu'], queued: 'invalidate' });
	});

	it('keeps the handler out of a hold with interrupts off, which is why the readers use read_lock_irqsave()', () => {
		const r = irqOverReader('read_lock_irqsave', { queueInInterrupt: true });
		expect(r.verdict, r.message).toBe('safe');
	});

	it('fails a trylock behind a queued writer, as queued_read_trylock() does', () => {
		const r = runReader(prog([{ op: 'irqSave' }, { op: 'trylock', else: 'out' }, { op: 'check', else: 'fail' }, { op: 'use' }, { op: 'label', name: 'fail' }, { op: 'unlock', variant: 'plain' }, { op: 'label', name: 'out' }, { op: 'irqRestore' }]), { threads: ['invalidate'] }, 'upstream', { coverage: true });
		expect(r.verdict).toBe('safe');
		// the contended branch is taken in some interleaving
		expect(r.unreached).not.toContain('reader: local_irq_restore(flags)');
	});
});

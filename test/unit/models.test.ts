// The dataflow's models (analysis/models/) composed into its state (analysis/state.ts): each
// field of a world or an instance state belongs to one model, which joins it and keys it;
// what a model leaves out of its key merges, what it keys keeps worlds apart.
import { describe, expect, it } from 'vitest';
import { MODELS } from '../../server/src/analysis/models/index';
import { emptyWorld, forgetLocal, joinWorlds, mergeWorlds, WorldKeys, type InstanceState, type World } from '../../server/src/analysis/state';

const site = (startIndex: number) => ({ startIndex, text: `site${startIndex}` }) as never;
const state = (s: Partial<InstanceState> = {}): InstanceState => ({ held: 'no', valid: 'no', life: 'unknown', ...s });
const world = (w: Partial<World> = {}): World => ({ ...emptyWorld(), ...w });
const fallback = () => state();

describe('the dataflow models', () => {
	it('give every field of a world and of an instance state to exactly one model', () => {
		const worldFields = MODELS.flatMap((m) => (m.world ? Object.keys(m.world.join(world(), world())) : []));
		expect(new Set(worldFields).size).toBe(worldFields.length);
		// The entry world is made of the models' empty slices, and each joins what it starts with.
		for (const m of MODELS) if (m.world) expect(Object.keys(m.world.join(world(), world()))).toEqual(expect.arrayContaining(Object.keys(m.world.empty())));
		expect(Object.keys(emptyWorld()).filter((k) => k !== 'instances' && !worldFields.includes(k))).toEqual([]);
		// Every field a transfer may set on an instance state is joined by some model.
		const full = state({ byCaller: true, hold: { id: 1, mode: 'read', variant: 'plain', trylock: false, site: site(1) }, checkSite: site(2), failedSite: site(3), ignoredCheck: site(4), refreshedAfter: site(5), lastFailedCheck: site(6), foreignCheck: { instance: 'x', site: site(7) }, dropped: { unlock: site(8) }, dirty: { write: site(9) }, lifeSite: site(10) });
		const instanceFields = MODELS.flatMap((m) => (m.instance ? Object.keys(m.instance.join(full, full)) : []));
		expect(new Set(instanceFields).size).toBe(instanceFields.length);
		expect(new Set(instanceFields)).toEqual(new Set(Object.keys(full)));
	});

	it('join what two paths agree on and make the rest unknown', () => {
		const a = world({ instances: { gpc: state({ held: 'yes', valid: 'yes', checkSite: site(1) }) }, irqOff: 'yes', known: { ok: true, x: false } });
		const b = world({ instances: { gpc: state({ held: 'yes', valid: 'no' }) }, irqOff: 'no', known: { ok: true } });
		const j = joinWorlds(a, b, fallback);
		expect(j.instances.gpc).toMatchObject({ held: 'yes', valid: 'maybe', checkSite: undefined });
		expect(j.irqOff).toBe('maybe');
		expect(j.known).toEqual({ ok: true });
	});

	it('merge worlds that differ only in what a key leaves out, keep the others apart', () => {
		const keys = new WorldKeys();
		const at = (lifeSite: number) => world({ instances: { gpc: state({ life: 'active', lifeSite: site(lifeSite) }) } });
		expect(mergeWorlds([at(1), at(2)], 16, fallback, keys)).toHaveLength(1);
		const dirty = world({ instances: { gpc: state({ held: 'yes', dirty: { write: site(3) } }) } });
		const clean = world({ instances: { gpc: state({ held: 'yes' }) } });
		expect(mergeWorlds([dirty, clean], 16, fallback, keys)).toHaveLength(2);
		// Plain variables are not gpc state: equal otherwise, the worlds merge and keep what both know.
		const merged = mergeWorlds([world({ known: { a: true, b: true } }), world({ known: { a: true } })], 16, fallback, keys);
		expect(merged.map((w) => w.known)).toEqual([{ a: true }]);
	});

	it('forget what the records keyed by a local knew of it when it is assigned', () => {
		const w = world({
			aliases: { vx: 'v.arch.xen' },
			derived: { vx: { instance: 'gpc', stale: 'no', site: site(1) } },
			known: { vx: true },
			values: { vx: 'RUNSTATE_running' },
			checkVars: { vx: { instance: 'gpc', site: site(2) } },
			spins: { vx: site(3) },
		});
		forgetLocal('vx', w);
		expect([w.aliases, w.derived, w.known, w.values, w.checkVars]).toEqual([{}, {}, {}, {}, {}]);
		// A lock is no local: its entry stays.
		expect(Object.keys(w.spins)).toEqual(['vx']);
	});
});

// Validity: whether a cache was checked (kvm_gpc_check) under the hold its lock has now,
// which check failed or was ignored, what a refresh answered, and the validated hold that
// was dropped; plus the variables that carry a check's result (`ret = kvm_gpc_check(...)`).
// The use, check-outside-lock, refresh-loop and lock-imbalance rules read it.
import type { SyntaxNode } from '../../parse/parser';
import type { InstanceState, World } from '../state';
import type { HowLocked } from './locks';
import { joinTri, pick, siteKey, type Model, type Tri } from './types';

export interface ValidityState {
	valid: Tri;
	checkSite?: SyntaxNode;
	/** The check that failed under the current hold. */
	failedSite?: SyntaxNode;
	/** A check under the current hold whose result nobody looked at. */
	ignoredCheck?: SyntaxNode;
	/** The failed check a refresh answered; cleared by the next successful check (not by unlock). */
	refreshedAfter?: SyntaxNode;
	/** The last check that failed, kept across the unlock that precedes a refresh. */
	lastFailedCheck?: SyntaxNode;
	/** A check of another cache made while only this one's lock was held (the wrong cache?). */
	foreignCheck?: { instance: string; site: SyntaxNode };
	/** The hold that validated the cache was dropped here. */
	dropped?: { unlock: SyntaxNode; check?: SyntaxNode; lock?: SyntaxNode };
}

/** A variable that carries a check's result, or the pointer a lock-returning helper gave (`locks`). */
export interface CheckVar {
	instance: string;
	site: SyntaxNode;
	locks?: HowLocked;
}

export interface ValidityWorld {
	/** `ret = kvm_gpc_check(...)`: the variable carries the check result. */
	checkVars: Record<string, CheckVar>;
}

/** A new hold: nothing is checked under it yet, and no validated hold was dropped. */
function onAcquire(s: InstanceState): void {
	invalidate(s);
	s.dropped = undefined;
}

/** The hold ends at `unlock` (read before the lock's state is dropped): remember a validated hold. */
function onRelease(s: InstanceState, unlock: SyntaxNode, inst: string, w: World): void {
	if (s.held === 'yes' && s.valid === 'yes') s.dropped = { unlock, check: s.checkSite, lock: s.hold?.site };
	else if (s.held === 'yes') {
		// `ok = kvm_gpc_check(...)` tested only after the unlock.
		const pending = Object.values(w.checkVars).find((c) => c.instance === inst);
		s.dropped = pending ? { unlock, check: pending.site, lock: s.hold?.site } : undefined;
	} else s.dropped = undefined;
}

/** Nothing checked under a hold survives it. */
function invalidate(s: InstanceState): void {
	s.valid = 'no';
	s.checkSite = undefined;
	s.failedSite = undefined;
	s.ignoredCheck = undefined;
	s.foreignCheck = undefined;
}

/** A check's outcome on this path (a check without the lock proves nothing). */
export function checkOutcome(s: InstanceState, site: SyntaxNode, ok: boolean): void {
	if (s.held === 'no') return;
	if (ok) {
		s.valid = 'yes';
		s.checkSite = site;
		s.failedSite = undefined;
		s.lastFailedCheck = undefined;
		s.refreshedAfter = undefined;
	} else {
		s.valid = 'no';
		s.failedSite = site;
		s.lastFailedCheck = site;
	}
}

/** A lock-returning helper gave a pointer: the cache is checked under the hold it took; NULL: nothing is. */
export function lockedOutcome(s: InstanceState, site: SyntaxNode, taken: boolean): void {
	if (taken) {
		s.valid = 'yes';
		s.checkSite = site;
		s.failedSite = undefined;
		s.dropped = undefined;
	} else s.valid = 'no';
}

/** A check of `inst` at `site`: other caches held but not valid note it (the wrong cache checked?). */
function noteForeignCheck(inst: string, s: InstanceState, site: SyntaxNode, w: World, own: (instance: string) => InstanceState): void {
	for (const [other, o] of Object.entries(w.instances)) {
		if (other !== inst && o.held === 'yes' && o.valid !== 'yes' && (s.held !== 'yes' || s.valid === 'yes')) own(other).foreignCheck = { instance: inst, site };
	}
}

/** kvm_gpc_refresh() after a failed check answers it. */
function onRefresh(s: InstanceState): void {
	if (s.lastFailedCheck) s.refreshedAfter = s.lastFailedCheck;
}

export const validity: Model<ValidityWorld, ValidityState> = {
	name: 'validity',
	world: {
		empty: () => ({ checkVars: {} }),
		join: (a, b) => ({ checkVars: pick(a.checkVars, b.checkVars, (p, q) => p.instance === q.instance) }),
		key: (w, keys) => String(keys.record('checkVars', w.checkVars, (k, c) => `${k}=${c.instance}${c.locks ? '/locks' : ''}`)),
		locals: ['checkVars'],
	},
	instance: {
		join: (x, y) => ({
			valid: joinTri(x.valid, y.valid),
			checkSite: x.checkSite === y.checkSite ? x.checkSite : undefined,
			failedSite: x.failedSite === y.failedSite ? x.failedSite : undefined,
			ignoredCheck: x.ignoredCheck === y.ignoredCheck ? x.ignoredCheck : undefined,
			foreignCheck: x.foreignCheck?.site === y.foreignCheck?.site ? x.foreignCheck : undefined,
			refreshedAfter: x.refreshedAfter === y.refreshedAfter ? x.refreshedAfter : undefined,
			lastFailedCheck: x.lastFailedCheck === y.lastFailedCheck ? x.lastFailedCheck : undefined,
			dropped: x.dropped && y.dropped ? x.dropped : undefined,
		}),
		key: (s) => [s.valid, siteKey(s.checkSite), siteKey(s.failedSite), siteKey(s.ignoredCheck), siteKey(s.dropped?.unlock), siteKey(s.foreignCheck?.site), siteKey(s.refreshedAfter), siteKey(s.lastFailedCheck)],
	},
	events: {
		acquired: onAcquire,
		released(s, site, instance, w) {
			onRelease(s, site, instance, w);
			invalidate(s);
		},
		gpcCall(s, role, site, instance, w, own) {
			if (role === 'check') noteForeignCheck(instance, s, site, w, own);
			else if (role === 'refresh') onRefresh(s);
		},
	},
};

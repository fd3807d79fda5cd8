// Lifecycle: whether a cache was activated, deactivated or only initialised on this
// path. gpc-use-before-activate reads it.
import type { SyntaxNode } from '../../parse/parser';
import type { GpcRole } from '../api';
import type { InstanceState } from '../state';
import type { Model } from './types';

export interface LifeState {
	life: 'unknown' | 'active' | 'inactive';
	lifeSite?: SyntaxNode;
}

/** What an activate, deactivate or init call at `site` does to the cache's life. */
function onGpcCall(s: InstanceState, role: GpcRole, site: SyntaxNode): void {
	if (role === 'activate') {
		s.life = 'active';
		s.lifeSite = site;
	} else if (role === 'deactivate') {
		s.life = 'inactive';
		s.lifeSite = site;
	} else if (role === 'init' && s.life === 'unknown') {
		s.life = 'inactive';
		s.lifeSite = site;
	}
}

export const lifecycle: Model<never, LifeState> = {
	name: 'lifecycle',
	instance: {
		join: (x, y) => ({ life: x.life === y.life ? x.life : 'unknown', lifeSite: x.lifeSite === y.lifeSite ? x.lifeSite : undefined }),
		// Where the life changed does not tell worlds apart: only the life does.
		key: (s) => [s.life],
	},
	events: { gpcCall: (s, role, site) => onGpcCall(s, role, site) },
};

import type { SyntaxNode } from '../../parse/parser';
import { displayPath } from '../paths';
import type { InstanceState } from '../state';
import type { FunctionRule } from './types';

interface Exit {
	node: SyntaxNode;
	value?: string;
	held: Map<string, InstanceState>;
}

/** Return values that say "failed": -EINVAL, -1, false, NULL, ERR_PTR(...). */
const ERRORISH = /^(-\(?E[A-Z0-9]+\)?|-\d+|false|NULL|ERR_PTR\(.*\))$/;

const unlockName = (variant: string, mode: string) =>
	`${mode}_unlock${variant === 'plain' ? '' : variant === 'irqsave' ? '_irqrestore' : `_${variant}`}`;

export const gpcLockImbalance: FunctionRule = {
	meta: {
		id: 'gpc-lock-imbalance',
		severity: 'error',
		summary: 'gpc lock leaked on a path, released twice or without being taken, or released with the wrong variant',
		readerOnly: false,
	},
	create: (ctx) => {
		const exits: Exit[] = [];
		return {
			observe(o) {
				if (o.kind === 'unlock') {
					const s = o.state;
					const inst = displayPath(o.instance);
					if (s.held === 'no') {
						const message = s.dropped || o.world.instances[o.instance]?.dropped
							? `${inst}.lock released twice`
							: `${inst}.lock released but not held on this path`;
						ctx.report(o.node, message);
						return;
					}
					if (s.held !== 'yes' || !s.hold) return;
					const hold = s.hold;
					const related = [{ node: hold.site, message: 'lock taken here' }];
					if (hold.mode !== o.primitive.mode) {
						ctx.report(o.node, `${inst}.lock taken for ${hold.mode} but released for ${o.primitive.mode}`, related);
						return;
					}
					const pairOk = hold.irqPairFlags !== undefined && o.primitive.variant === 'irqsave' && o.flags === hold.irqPairFlags;
					if (hold.variant !== o.primitive.variant && !pairOk && !(hold.irqPairFlags && o.primitive.variant === 'plain')) {
						ctx.report(o.node, `${inst}.lock taken with ${hold.mode}_lock${hold.variant === 'plain' ? '' : '_' + hold.variant} but released with ${unlockName(o.primitive.variant, o.primitive.mode)}: expected ${unlockName(hold.irqPairFlags ? 'irqsave' : hold.variant, hold.mode)}`, related);
						return;
					}
					if (o.primitive.variant === 'irqsave' && hold.variant === 'irqsave' && hold.flags && o.flags && hold.flags !== o.flags) {
						ctx.report(o.node, `${inst}.lock saved IRQ state in \`${hold.flags}\` but restores from \`${o.flags}\``, related);
					}
					return;
				}
				if (o.kind === 'exit') {
					const held = new Map(Object.entries(o.world.instances).filter(([, s]) => s.held === 'yes'));
					exits.push({ node: o.node, value: o.returnValue?.text.replace(/\s+/g, ''), held });
				}
			},
			finish() {
				if (ctx.acquiresLock) return;
				const instances = new Set(exits.flatMap((e) => [...e.held.keys()]));
				for (const inst of instances) {
					const leaking = exits.filter((e) => e.held.has(inst));
					const clean = exits.filter((e) => !e.held.has(inst));
					// A helper that returns with the lock held on every path, or that says so in its
					// return value (true/0 with the lock, false/-E without), holds it by design.
					if (!clean.length) continue;
					// Held on success and released on failure is a locking helper's contract; held on an
					// error return is the classic leak.
					if (leaking.every((e) => e.value !== undefined && !ERRORISH.test(e.value)) && clean.every((e) => e.value !== undefined && ERRORISH.test(e.value))) continue;
					for (const e of leaking) {
						const s = e.held.get(inst)!;
						// Still the callers' hold, untouched on this path: theirs to release.
						if (s.byCaller) continue;
						ctx.report(e.node, `returns with ${displayPath(inst)}.lock held; other paths release it`, s.hold ? [{ node: s.hold.site, message: 'lock taken here' }] : []);
					}
				}
			},
		};
	},
};

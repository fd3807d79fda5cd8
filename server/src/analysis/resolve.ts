// How the dataflow names what an expression touches: the gpc instance a pointer or a lock
// argument is (`&vcpu->arch.xen.shinfo_cache`, `&gpc->lock`), the khva inside an address
// computation, the derived pointer an address is built from; and the instance states a
// transfer owns. The base of the interpreter (interpreter.ts) and its effects (effects.ts).
import type { SyntaxNode } from '../parse/parser';
import { calleeName, stripParens } from '../parse/nodes';
import type { GpcFunction } from './api';
import type { FunctionAnalysis, TreeKnowledge } from './flow';
import type { Observation } from './observations';
import { baseIdentifier, canonicalPath, lastSegment } from './paths';
import type { FunctionScope } from './scope';
import { cloneWorld, setEntry, type InstanceState, type World } from './state';

/** A gpc's own mapping fields: uses of them are uses of the cache, never of a stored copy. */
export const MAPPING_FIELD = /\.(khva|pfn)$/;

/** The derived pointer a returned expression is (`vi`, `(void *)vi + off`), without touching the world. */
export function returnedPointer(e: SyntaxNode, w: World): string | undefined {
	const x = stripParens(e);
	if (x.type === 'identifier') return w.derived[x.text] ? x.text : undefined;
	if (x.type === 'binary_expression') {
		const l = x.childForFieldName('left');
		const r = x.childForFieldName('right');
		return (l && returnedPointer(l, w)) ?? (r && returnedPointer(r, w)) ?? undefined;
	}
	return undefined;
}

export class Resolver {
	/** Instance states the world being transferred owns: copied from the shared ones at first access. */
	private readonly owned = new Set<InstanceState>();

	constructor(
		protected readonly tree: TreeKnowledge,
		protected readonly scope: FunctionScope,
		protected readonly fallback: (instance: string) => InstanceState,
		protected readonly observe: ((o: Observation) => void) | undefined,
		protected readonly analysis?: FunctionAnalysis,
	) {}

	/** The world's state of an instance, as a copy this transfer may change (the world shares the original). */
	protected instance(path: string, w: World): InstanceState {
		const shared = w.instances[path];
		if (shared && this.owned.has(shared)) return shared;
		const own = { ...(shared ?? this.fallback(path)) };
		this.owned.add(own);
		setEntry(w, 'instances', path, own);
		return own;
	}

	/** A copy of `w` to transfer a statement on. */
	protected fork(w: World): World {
		this.owned.clear();
		return cloneWorld(w);
	}

	/** Resolves a gpc expression (`gpc`, `&vcpu->arch.xen.shinfo_cache`) to its instance. */
	protected gpcPath(expr: SyntaxNode, w: World, knownGpc = false): string | undefined {
		const path = canonicalPath(expr, w.aliases);
		if (!path) return undefined;
		if (knownGpc || this.isGpc(path, expr)) return path;
		return undefined;
	}

	protected isGpc(path: string, expr: SyntaxNode): boolean {
		if (this.tree.gpcFields.has(lastSegment(path))) return true;
		const raw = stripParens(expr);
		const ident = raw.type === 'pointer_expression' ? raw.childForFieldName('argument') : raw;
		if (ident?.type === 'identifier' && this.scope.gpcVars.has(ident.text)) return true;
		return /(^|\.)(gpc\d*|\w+_cache)$/.test(path) || this.scope.gpcVars.has(path);
	}

	/** The instance whose lock `&X->lock` names, or undefined for another lock. */
	protected lockInstance(arg: SyntaxNode | undefined, w: World): string | undefined {
		if (!arg) return undefined;
		const path = canonicalPath(arg, w.aliases);
		if (!path?.endsWith('.lock')) return undefined;
		const inst = path.slice(0, -5);
		const e = stripParens(arg);
		const field = e.type === 'pointer_expression' ? e.childForFieldName('argument') : e;
		const owner = field?.type === 'field_expression' ? field.childForFieldName('argument') : undefined;
		return owner && this.isGpc(inst, owner) ? inst : undefined;
	}

	/** The derived-pointer variable an address expression is built from (`vi`, `vi + 1`, `&vi->x`). */
	protected derivedBase(e: SyntaxNode, w: World): string | undefined {
		const x = stripParens(e);
		if (x.type === 'identifier') return w.derived[x.text] ? x.text : undefined;
		if (x.type === 'field_expression') return this.storedPointer(x, w);
		if (x.type === 'binary_expression') {
			const l = x.childForFieldName('left');
			const r = x.childForFieldName('right');
			return (l && this.derivedBase(l, w)) ?? (r && this.derivedBase(r, w)) ?? undefined;
		}
		if (x.type === 'pointer_expression' && x.childForFieldName('operator')?.text === '&') {
			const a = x.childForFieldName('argument');
			const inner = a && stripParens(a);
			if (inner?.type === 'field_expression' || inner?.type === 'subscript_expression') {
				const b = inner.childForFieldName('argument');
				return b ? this.derivedBase(b, w) : undefined;
			}
		}
		return undefined;
	}

	/** `gpc->khva + off` inside an address computation. */
	protected khvaIn(e: SyntaxNode, w: World): string | undefined {
		const x = stripParens(e);
		if (x.type === 'field_expression' && x.childForFieldName('field')?.text === 'khva') {
			const arg = x.childForFieldName('argument');
			return arg ? this.gpcPath(arg, w, true) : undefined;
		}
		if (x.type === 'binary_expression') {
			const l = x.childForFieldName('left');
			const r = x.childForFieldName('right');
			return (l && this.khvaIn(l, w)) ?? (r && this.khvaIn(r, w)) ?? undefined;
		}
		return undefined;
	}

	/**
	 * The field path (`vmx.nested.pi_desc`) of an expression that holds a khva: stored in this
	 * function, or in another one of the tree (then a pointer from an earlier hold: stale here
	 * unless this function holds the cache's lock).
	 */
	protected storedPointer(e: SyntaxNode, w: World): string | undefined {
		const path = canonicalPath(e, w.aliases);
		if (!path || MAPPING_FIELD.test(path)) return undefined;
		if (w.derived[path]) return path;
		const base = baseIdentifier(path);
		const type = this.scope.params.get(base) ?? this.scope.locals.get(base);
		const holder = type ? this.tree.khvaHolder?.(`${type}${path.slice(base.length)}`) : undefined;
		if (!holder) return undefined;
		const instance = base + holder.cache;
		const s = this.instance(instance, w);
		setEntry(w, 'derived', path, { instance, stale: s.held === 'no' ? 'yes' : 'maybe', site: holder.site, file: holder.file, escaped: true });
		return path;
	}

	protected apiOf(call: SyntaxNode): GpcFunction | undefined {
		const n = calleeName(call);
		return n ? this.tree.api.get(n) : undefined;
	}
}

// Memoised syntax nodes for analyses that read the same nodes many times.
//
// web-tree-sitter answers every accessor (type, endIndex, childForFieldName, namedChildren)
// with a call into wasm and hands out a new wrapper object per lookup. The dataflow reads
// each statement once per world and per fixpoint visit, and that traffic was most of its
// time. A cached node is a real `Node` (every method still works) whose hot accessors are
// answered once and whose related nodes are cached nodes too; there is one per tree node
// and cache, so cached nodes compare by identity.
import { Node } from 'web-tree-sitter';

type Getter = (this: Node) => unknown;

const nodeGetter = (name: string): Getter => {
	const get = Object.getOwnPropertyDescriptor(Node.prototype, name)?.get;
	if (!get) throw new Error(`web-tree-sitter: Node.${name} is not an accessor`);
	return get as Getter;
};
const nodeMethod = (name: string) => (Node.prototype as unknown as Record<string, (this: Node, ...args: unknown[]) => unknown>)[name];

interface CachedFields {
	cache: NodeCache;
	memoType: string | undefined;
	memoText: string | undefined;
	memoEndIndex: number | undefined;
	memoHasError: boolean | undefined;
	memoIsMissing: boolean | undefined;
	memoNamedChildren: Node[] | undefined;
	memoChildren: Node[] | undefined;
	memoFields: Map<string, Node | null> | undefined;
	memoDescendants: Map<string, Node[]> | undefined;
}

type CachedNode = Node & CachedFields;

/** Node.prototype's own getters, captured when first needed (parser.ts patches some at load). */
let raw: { type: Getter; text: Getter; endIndex: Getter; hasError: Getter; isMissing: Getter; namedChildren: Getter; children: Getter } | undefined;

function rawAccessors(): NonNullable<typeof raw> {
	raw ??= {
		type: nodeGetter('type'),
		text: nodeGetter('text'),
		endIndex: nodeGetter('endIndex'),
		hasError: nodeGetter('hasError'),
		isMissing: nodeGetter('isMissing'),
		namedChildren: nodeGetter('namedChildren'),
		children: nodeGetter('children'),
	};
	return raw;
}

const cachedPrototype: object = Object.create(Node.prototype, {
	type: {
		get(this: CachedNode) {
			return (this.memoType ??= rawAccessors().type.call(this) as string);
		},
	},
	endIndex: {
		get(this: CachedNode) {
			return (this.memoEndIndex ??= rawAccessors().endIndex.call(this) as number);
		},
	},
	text: {
		get(this: CachedNode) {
			return (this.memoText ??= rawAccessors().text.call(this) as string);
		},
	},
	hasError: {
		get(this: CachedNode) {
			return (this.memoHasError ??= rawAccessors().hasError.call(this) as boolean);
		},
	},
	isMissing: {
		get(this: CachedNode) {
			return (this.memoIsMissing ??= rawAccessors().isMissing.call(this) as boolean);
		},
	},
	namedChildren: {
		get(this: CachedNode) {
			return (this.memoNamedChildren ??= (rawAccessors().namedChildren.call(this) as Node[]).map((c) => this.cache.of(c)));
		},
	},
	children: {
		get(this: CachedNode) {
			return (this.memoChildren ??= (rawAccessors().children.call(this) as Node[]).map((c) => this.cache.of(c)));
		},
	},
	namedChildCount: {
		get(this: CachedNode) {
			return this.namedChildren.length;
		},
	},
	childCount: {
		get(this: CachedNode) {
			return this.children.length;
		},
	},
	firstChild: {
		get(this: CachedNode) {
			return this.children[0] ?? null;
		},
	},
	lastChild: {
		get(this: CachedNode) {
			return this.children[this.children.length - 1] ?? null;
		},
	},
	parent: {
		get(this: CachedNode) {
			return this.cache.ofNullable(Reflect.get(Node.prototype, 'parent', this) as Node | null);
		},
	},
	namedChild: {
		value(this: CachedNode, index: number) {
			return this.namedChildren[index] ?? null;
		},
	},
	child: {
		value(this: CachedNode, index: number) {
			return this.children[index] ?? null;
		},
	},
	childForFieldName: {
		value(this: CachedNode, name: string) {
			this.memoFields ??= new Map();
			let child = this.memoFields.get(name);
			if (child === undefined) {
				child = this.cache.ofNullable(nodeMethod('childForFieldName').call(this, name) as Node | null);
				this.memoFields.set(name, child);
			}
			return child;
		},
	},
	childrenForFieldName: {
		value(this: CachedNode, name: string) {
			return (nodeMethod('childrenForFieldName').call(this, name) as Node[]).map((c) => this.cache.of(c));
		},
	},
	descendantsOfType: {
		value(this: CachedNode, types: string | string[], ...range: unknown[]) {
			if (range.length) return (nodeMethod('descendantsOfType').call(this, types, ...range) as (Node | null)[]).map((c) => this.cache.ofNullable(c));
			const key = typeof types === 'string' ? types : types.join(' ');
			this.memoDescendants ??= new Map();
			let found = this.memoDescendants.get(key);
			if (!found) {
				found = (nodeMethod('descendantsOfType').call(this, types) as (Node | null)[]).flatMap((c) => (c ? [this.cache.of(c)] : []));
				this.memoDescendants.set(key, found);
			}
			return found;
		},
	},
});

/** One cached node per tree node; drop the cache with the tree it was filled from. */
export class NodeCache {
	private readonly byId = new Map<number, CachedNode>();

	of(node: Node): Node {
		// A node of another cache stays in that one: its relatives are that cache's nodes.
		if (Object.getPrototypeOf(node) === cachedPrototype) return node;
		let cached = this.byId.get(node.id);
		if (!cached) {
			cached = Object.create(cachedPrototype) as CachedNode;
			const fields = cached as unknown as Record<string | number, unknown>;
			fields[0] = (node as unknown as Record<number, unknown>)[0];
			fields.id = node.id;
			fields.tree = node.tree;
			fields.startIndex = node.startIndex;
			fields.startPosition = node.startPosition;
			cached.cache = this;
			cached.memoType = undefined;
			cached.memoText = undefined;
			cached.memoEndIndex = undefined;
			cached.memoHasError = undefined;
			cached.memoIsMissing = undefined;
			cached.memoNamedChildren = undefined;
			cached.memoChildren = undefined;
			cached.memoFields = undefined;
			cached.memoDescendants = undefined;
			this.byId.set(node.id, cached);
		}
		return cached;
	}

	ofNullable(node: Node | null): Node | null {
		return node ? this.of(node) : null;
	}
}

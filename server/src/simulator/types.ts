// Public types of the gpc simulator. Plain data only: the CLI prints them as
// JSON and the webview receives them through postMessage.

/** Where a model step comes from in the kernel (or in the reader under test). */
export interface Location {
	file: string;
	function: string;
	/** A literal code snippet of that function; resolveLines() turns it into a line. */
	hint: string;
	/** which occurrence of hint in the function, when it appears more than once (1-based) */
	occurrence?: number;
	line?: number;
	/** The tree the hint is taken from when it is not today's code. */
	tree?: string;
}

export type PropertyId =
	| 'stale-access'
	| 'leaked-mapping'
	| 'use-after-deactivate'
	| 'sleep-under-lock'
	| 'deadlock'
	| 'refresh-terminates';

export type Verdict = 'safe' | 'violation';

export interface CacheSnapshot {
	name: string;
	active: boolean;
	valid: boolean;
	/** guest frame of this cache (constant per cache). */
	gpa: string;
	uhva: string | null;
	generation: number;
	pfn: string | null;
	khva: string | null;
	lock: { readers: string[]; writer: string | null; count: number };
	refreshLock: string | null;
	onList: boolean;
}

export interface PageSnapshot {
	page: string;
	backs: string | null;
	freed: boolean;
	kmaps: number;
}

/** A plain JSON picture of the whole model after one step. */
export interface Snapshot {
	caches: CacheSnapshot[];
	vm: {
		memslotGeneration: number;
		memslotUpdateInProgress: boolean;
		mmuInvalidateSeq: number;
		mmuInvalidateInProgress: number;
		mnActiveInvalidateCount: number;
		gpcListLock: string | null;
		rqLock: string | null;
		vcpuMode?: 'IN_GUEST_MODE' | 'OUTSIDE_GUEST_MODE';
		vcpuRequest?: boolean;
	};
	host: {
		/** hva name -> page currently backing it */
		backing: Record<string, string>;
		/** gfn name -> hva under the current memslots */
		memslots: Record<string, string>;
		retiredHvas: string[];
		pages: PageSnapshot[];
	};
	threads: Record<string, { at: string; done: boolean; locals: Record<string, number> }>;
}

export interface Step {
	thread: string;
	action: string;
	location: Location;
	state: Snapshot;
	/** Set on the step that breaks a property (for a deadlock: the blocked step). */
	violation?: boolean;
	note?: string;
}

export interface Violation {
	property: PropertyId;
	message: string;
}

export interface RunResult {
	scenario: string;
	variant: string;
	verdict: Verdict;
	property?: PropertyId;
	message?: string;
	/** distinct states reached (after hashing) */
	states: number;
	transitions: number;
	ms: number;
	threads: string[];
	initial: Snapshot;
	trace?: Step[];
	/** with the coverage option: steps that no interleaving executes */
	unreached?: string[];
}

export interface MatrixCell {
	scenario: string;
	variant: string;
	verdict: Verdict;
	property: PropertyId | null;
	states: number;
	ms: number;
}

export interface ScenarioInfo {
	id: string;
	title: string;
	description: string;
	threads: string[];
}

export interface VariantInfo {
	id: string;
	title: string;
	/** The upstream commit that closed it ("" for upstream itself). */
	fix: string;
	release: string;
	description: string;
	/** What goes wrong, in one sentence. */
	hazard: string;
}

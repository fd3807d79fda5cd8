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
	/** Where to read the step's code on the web (set by resolveLines() for historical steps). */
	url?: string;
}

/** Safety properties, and the one liveness property (`refresh-terminates`: every non-adversary thread finishes). */
export type PropertyId = 'stale-access' | 'leaked-mapping' | 'sleep-under-lock' | 'deadlock' | 'lock-balance' | 'refresh-terminates';

export type Verdict = 'safe' | 'violation';

/** Liveness under weak fairness: every thread that is not an adversary finishes. */
export type LivenessVerdict = 'holds' | 'violated';

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
	/** `queued`: the writer waiting for the lock (qrwlock _QW_WAITING); readers in process context wait behind it */
	lock: { readers: string[]; writer: string | null; count: number; queued?: string };
	refreshLock: string | null;
	onList: boolean;
	/** activated with kvm_gpc_activate_hva(): gpa is INVALID_GPA */
	hvaBased?: boolean;
}

export interface PageSnapshot {
	page: string;
	backs: string | null;
	freed: boolean;
	kmaps: number;
	/** references taken by hva_to_pfn() and not yet put */
	refs?: number;
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
		/** p->pi_lock of the task a waker is waking */
		piLock: string | null;
		vcpuMode?: 'IN_GUEST_MODE' | 'OUTSIDE_GUEST_MODE' | 'EXITING_GUEST_MODE';
		vcpuRequest?: boolean;
	};
	host: {
		/** hva name -> page currently backing it */
		backing: Record<string, string>;
		/** gfn name -> hva under the current memslots */
		memslots: Record<string, string>;
		retiredHvas: string[];
		/** hvas that no memslot covers */
		outsideMemslots?: string[];
		pages: PageSnapshot[];
	};
	threads: Record<string, { at: string; done: boolean; locals: Record<string, number>; irqsOff?: boolean; interruptedBy?: string }>;
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

/**
 * A liveness violation as a lasso: the stem leads from the initial state to
 * the cycle, which a fair schedule repeats forever (an empty cycle: no thread
 * can move any more, the last state repeats).
 */
export interface Lasso {
	property: 'refresh-terminates';
	message: string;
	/** the threads that never finish */
	threads: string[];
	stem: Step[];
	cycle: Step[];
}

/** The calling context a function's run (`simulate --from`) is about. */
export interface RunContext {
	kind: 'process' | 'sched-out' | 'atomic' | 'hardirq';
	/** "sched-out context (rq lock held)" */
	label: string;
	/** Why the entry point runs in this context. */
	why?: string;
	/** From the entry point down to the function, with 1-based lines: where each is defined and called. */
	chain?: { fn: string; file: string; line: number; callLine?: number; bound: Record<string, string> }[];
	/** The constants the context binds the function's parameters to. */
	values?: Record<string, string>;
}

/** Which pfncache algorithm a run simulates, and why: the indexed tree's own shape, or the variant asked for. */
export interface PfncacheChoice {
	variant: string;
	/** `detected` from the tree's virt/kvm/pfncache.c, or `given` with --variant */
	how: 'detected' | 'given' | 'default';
	/** What it recognised, in a sentence. */
	why: string;
	/** The kernel version whose code the steps' hints come from, when not today's. */
	tree?: string;
	/** Every older version whose steps the tree's own code has (their lines are read from the tree). */
	trees?: string[];
	/** gfn_to_pfn_cache_invalidate_start() write-locks every cache without the read-locked peek (before 6.9). */
	noPeek?: boolean;
}

export interface RunResult {
	scenario: string;
	variant: string;
	/** for a function's run: the calling context it is about */
	context?: RunContext;
	/** for a function's run: the pfncache algorithm simulated */
	pfncache?: PfncacheChoice;
	/** the safety verdict */
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
	/** liveness under weak fairness, checked apart from safety (assertions do not stop a thread there) */
	liveness?: LivenessVerdict;
	/** states of the liveness exploration */
	livenessStates?: number;
	lasso?: Lasso;
	/** why the variant's code breaks, in one sentence (for the trace's reader) */
	explanation?: string;
	/** set when the trace replays another run's thread order: its length and the steps that could not be taken */
	replayed?: { steps: number; skipped: number };
}

export interface MatrixCell {
	scenario: string;
	variant: string;
	verdict: Verdict;
	property: PropertyId | null;
	states: number;
	ms: number;
	liveness: LivenessVerdict;
}

/** A change to the 6.12 model that a test suite worth the name must notice. */
export interface MutantResult {
	id: string;
	description: string;
	/** no scenario can tell it from the original, for the reason given */
	equivalent: boolean;
	reason: string;
	/** scenarios in which the mutant's verdict (safety or liveness) differs from upstream's */
	killedBy: string[];
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
	/** 'safe': the code under test is expected to be safe everywhere (upstream, reference designs) */
	expect: 'safe' | 'refuted';
}

// Custom LSP messages between the extension and the server: declared once, typed,
// the only server module the client imports. What else the client needs of the
// server (the rule catalogue, the gpc identifiers) is data re-exported here.
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';

export { RULE_CATALOGUE, type RuleInfo } from './catalogue';
export { GPC_API_OR_USAGE } from './vocabulary';

/** The palette command the extension registers ("Remove pfncache usage flags from the tree"). */
export const REMOVE_USAGE_FLAGS_COMMAND = 'gpcscope.removeUsageFlags';
/**
 * The id the server advertises in executeCommandProvider. It differs from the
 * palette command because vscode-languageclient registers every advertised
 * command itself, and one id cannot be registered twice.
 */
export const REMOVE_USAGE_FLAGS_SERVER_COMMAND = 'gpcscope.server.removeUsageFlags';

export interface ServerStatus {
	state: 'indexing' | 'ready' | 'error';
	/** Detected (or configured) API era and what decided it. */
	apiEra?: string;
	eraEvidence?: string;
	filesScanned: number;
	filesIndexed: number;
	findings: number;
	/** Files with gpc code tree-sitter could not parse (not analysed there; a hint at each). */
	unparsedFiles?: number;
	message?: string;
}

export const statusNotification = new NotificationType<ServerStatus>('gpcscope/status');
/** Re-scan the workspace folders and re-analyse. */
export const reindexRequest = new RequestType0<ServerStatus, void>('gpcscope/reindex');

export interface SimulateParams {
	uri: string;
	/** A position inside the function to simulate. */
	position: { line: number; character: number };
	/** The pfncache algorithm; default: the indexed tree's own (detected from its virt/kvm/pfncache.c). */
	variant?: string;
	/** A built-in scenario whose adversary threads to run against (process context only); default: the function's own contexts and adversaries. */
	scenario?: string;
	/** Show the run in this calling context (process, sched-out, atomic, hardirq). */
	context?: string;
	/** The finding the request comes from ("Show interleaving"): its rule picks the run that shows it. */
	rule?: string;
	/** Show this run (an index into the response's `runs`). */
	run?: number;
}

/** One run of the function (a calling context against its adversaries), for the panel's list of runs. */
export interface SimulateRunSummary {
	index: number;
	/** "sched-out context (rq lock held)" */
	context: string;
	kind: string;
	adversaries: string;
	verdict: 'safe' | 'violation';
	property?: string;
	liveness: 'holds' | 'violated';
	states: number;
}

export interface CallChain {
	title: string;
	steps: { label: string; location: { file: string; function: string; line?: number } }[];
}

export interface SimulateResponse {
	/** The simulator's RunResult (verdict, property, states, ms, trace, context, pfncache) of the run shown. */
	result?: unknown;
	/** Every run of the function (one per calling context and adversary set); `shown` is the index of `result`. */
	runs?: SimulateRunSummary[];
	shown?: number;
	reader?: string;
	instances?: string[];
	/** Absolute path of the folder that trace locations are relative to. */
	root?: string;
	chains?: CallChain[];
	error?: string;
}
export const simulateRequest = new RequestType<SimulateParams, SimulateResponse, void>('gpcscope/simulate');

export interface InstanceSite {
	role: string;
	uri: string;
	line: number;
	function: string;
}
export interface InstanceInfo {
	/** Owner struct and field, e.g. "kvm_vcpu_xen.runstate_cache". */
	id: string;
	sites: InstanceSite[];
	findings: number;
}
export const instancesRequest = new RequestType0<InstanceInfo[], void>('gpcscope/instances');

/** The simulator's scenarios and variants, for the editor's pickers; with `scenario`, each variant's verdicts there. */
export interface SimulatorCatalogParams {
	scenario?: string;
}
export interface SimulatorCatalog {
	scenarios: { id: string; title: string; description: string }[];
	variants: {
		id: string;
		title: string;
		release: string;
		hazard: string;
		/** in the scenario asked about: the safety verdict (property when violated) and liveness */
		verdict?: { safety: 'safe' | 'violation'; property?: string; liveness: 'holds' | 'violated' };
	}[];
	error?: string;
}
export const simulatorCatalogRequest = new RequestType<SimulatorCatalogParams, SimulatorCatalog, void>('gpcscope/simulatorCatalog');

/** One cell of the simulate --matrix table, with its counterexample and, for a variant, upstream's run of the same schedule. */
export interface SimulateScenarioParams {
	scenario: string;
	variant: string;
}
export interface SimulateScenarioResponse {
	/** The simulator's RunResult, lines resolved in the indexed tree and historical steps linked to their version. */
	result?: unknown;
	/** Upstream replaying the result's thread order (absent for upstream itself). */
	compare?: unknown;
	/** Absolute path of the folder that trace locations are relative to. */
	root?: string;
	error?: string;
}
export const simulateScenarioRequest = new RequestType<SimulateScenarioParams, SimulateScenarioResponse, void>('gpcscope/simulateScenario');

// Public API of the gpc simulator (used by the CLI, the LSP and the webview host).
export type { ReaderOp, ReaderProgram } from './reader';
export type * from './types';
export {
	listScenarios, listVariants, runScenario, runMatrix, runMutants, mutationScore, replaySchedule, runReader, emitPromela,
	type RunOptions, type Adversaries, type AdversaryKind,
} from './api';
export { formatTrace } from './format';
export { runSimulateCommand, type SimulateArgs } from './command';
export { resolveLines, locateHint } from './locations';

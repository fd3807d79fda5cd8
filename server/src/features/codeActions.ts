// Code actions for gpc-dead-usage-flag: a quick fix at every finding and
// `source.fixAll.gpcscope`, and the command "Remove pfncache usage flags from
// the tree". Whatever is picked applies the same edit, the whole-tree rewrite
// (prototypes, definitions and every caller), as one WorkspaceEdit with change
// annotations that ask for confirmation, so that the tree still builds: the
// part at one call site alone would not compile.
// Listing the actions plans nothing (the finding carries its title in
// Diagnostic.data, findingFixes.ts), so the answer is immediate. The edit reads
// the tree (its whole-tree search runs in worker threads): it is computed on
// resolve, or, for clients that cannot resolve (eglot, Neovim 0.7), by the
// action's command, which answers at once and then sends the edit with
// workspace/applyEdit.
import type {
	AnnotatedTextEdit, ChangeAnnotation, ClientCapabilities, CodeAction, CodeActionParams, Connection, ExecuteCommandParams,
	TextDocumentEdit, TextEdit, WorkspaceEdit,
} from 'vscode-languageserver';
import { CodeActionKind } from 'vscode-languageserver';
import type { Parser } from 'web-tree-sitter';
import { URI } from 'vscode-uri';
import { rowAt } from '../parse/positions';
import type { Engine, EngineResult } from '../analysis/engine';
import { lineEdits, renderPlan, type FileChange } from '../usage/diff';
import { ParsedFiles } from '../usage/files';
import { outcomeOf } from '../usage/outcome';
import { planUsageRemovalSearching, type GroupKind, type Refusal, type UsagePlan } from '../usage/plan';
import { REMOVE_USAGE_FLAGS_COMMAND, REMOVE_USAGE_FLAGS_SERVER_COMMAND } from '../protocol';
import { diskTree, gpcFilesOf } from '../index/diskTree';
import type { Workspace } from '../workspace/workspace';
import { fixOf } from './findingFixes';

export { REMOVE_USAGE_FLAGS_COMMAND, REMOVE_USAGE_FLAGS_SERVER_COMMAND };

const RULE = 'gpc-dead-usage-flag';
export const FIX_ALL_KIND = `${CodeActionKind.SourceFixAll}.gpcscope`;
export const CODE_ACTION_KINDS = [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite, FIX_ALL_KIND];
const TREE_TITLE = 'Remove pfncache usage flags from the tree';

/** What resolve needs to find the edit again. */
type ActionData = { gpcscope: 'usage-tree'; uri: string };

/** The command of the actions given to clients without resolve: applies the rewrite with workspace/applyEdit, answering first. */
export const APPLY_USAGE_FIX_COMMAND = 'gpcscope.server.applyUsageFix';

export interface UsageActionsHost {
	workspace(): Workspace | undefined;
	engine: Promise<Engine>;
	folders(): string[];
	capabilities(): ClientCapabilities;
}

const ANNOTATIONS: Record<GroupKind, string> = {
	call: 'Call sites: the usage (and vCPU) arguments',
	prototype: 'Prototypes and kernel-doc',
	definition: 'Definitions: usage parameters, checks and stores',
	function: 'Guest-usage code and the vCPU request plumbing',
	field: 'Fields of struct gfn_to_pfn_cache',
	enum: 'enum pfn_cache_usage',
};

export function usageCodeActions(connection: Connection, host: UsageActionsHost) {
	// Plans are cached per analysis result: a new analysis means new text.
	const plans = new WeakMap<EngineResult, Promise<UsagePlan>>();

	const context = async (uri: string) => {
		const ws = host.workspace();
		const at = ws?.resultFor(uri);
		if (!ws || !at?.result || !at.root) return undefined;
		return { ws, result: at.result, root: at.root, file: at.file, uriOf: at.uriOf, parser: (await host.engine).parser };
	};
	type Context = NonNullable<Awaited<ReturnType<typeof context>>>;

	/** The whole-tree plan (it reads the tree: callers and prototypes outside the gpc files). */
	const plan = (c: Context): Promise<UsagePlan> => {
		const known = plans.get(c.result);
		if (known) return known;
		const made = makePlan(c.ws, c.root, c.result, c.uriOf, c.parser);
		plans.set(c.result, made);
		made.catch(() => plans.delete(c.result));
		return made;
	};

	return {
		async codeActions(params: CodeActionParams): Promise<CodeAction[]> {
			const uri = params.textDocument.uri;
			const only = params.context.only;
			const wants = (kind: string) => !only || only.some((o) => kind === o || kind.startsWith(`${o}.`));
			const ours = params.context.diagnostics.filter((d) => d.source === 'gpcscope' && d.code === RULE);
			const out: CodeAction[] = [];
			const fixAllWanted = !!only && wants(FIX_ALL_KIND);
			if (!ours.length && !fixAllWanted) return out;
			const c = host.workspace()?.resultFor(uri);
			if (!c?.result || !c.root) return out;
			const mine = c.result.findings.filter((f) => f.rule === RULE && f.file === c.file);
			if (!mine.length) return out;
			const data: ActionData = { gpcscope: 'usage-tree', uri };
			if (wants(CodeActionKind.QuickFix)) {
				for (const d of ours) {
					// The title the rule gave this finding (Diagnostic.data), else the finding's own.
					const fix = fixOf(d, c.file, c.result)?.title;
					if (!fix) continue;
					out.push({ title: `${fix}, and the rest of the usage machinery tree-wide (gpcscope)`, kind: CodeActionKind.QuickFix, diagnostics: [d], isPreferred: true, data });
				}
			}
			if (fixAllWanted) {
				out.push({ title: 'Remove the dead pfncache usage flags, tree-wide (gpcscope)', kind: FIX_ALL_KIND, data });
			}
			// Clients that cannot resolve get a command that applies the edit (planning it reads the tree).
			if (!host.capabilities().textDocument?.codeAction?.resolveSupport?.properties.includes('edit')) {
				const folder = URI.file(c.root).toString();
				return out.map(({ data: _data, ...a }) => ({ ...a, command: { title: a.title, command: APPLY_USAGE_FIX_COMMAND, arguments: [folder] } }));
			}
			return out;
		},

		async resolve(action: CodeAction): Promise<CodeAction> {
			const data = action.data as ActionData | undefined;
			if (!data || typeof data !== 'object' || !String(data.gpcscope).startsWith('usage-')) return action;
			const c = await context(data.uri);
			if (!c) return action;
			// Always the whole plan: any part of it alone leaves a tree that does not build.
			const p = await plan(c);
			const rendering = renderPlan(p);
			const refusals = [...p.refusals, ...rendering.conflicts];
			if (refusals.length) {
				void connection.window.showErrorMessage(refusalText(refusals));
				return action;
			}
			return { ...action, edit: workspaceEdit(p, rendering.changes, c.uriOf, host.capabilities(), true) };
		},

		/** `gpcscope.removeUsageFlags` (and its server-side name): the whole tree, one WorkspaceEdit. */
		async execute(params: ExecuteCommandParams): Promise<{ applied: boolean; files: number; message?: string }> {
			if (params.command === APPLY_USAGE_FIX_COMMAND) {
				// Answered before the edit is planned: eglot gives a command 10 s, and planning reads the
				// whole tree (searched in workers) and parses its callers here: the answer goes out first.
				setTimeout(() => {
					this.execute({ ...params, command: REMOVE_USAGE_FLAGS_SERVER_COMMAND }).catch((e: Error) => connection.console.error(`gpcscope: ${e.stack ?? e}`));
				}, 20);
				return { applied: false, files: 0, message: 'planning the rewrite; the edit follows' };
			}
			if (params.command !== REMOVE_USAGE_FLAGS_SERVER_COMMAND && params.command !== REMOVE_USAGE_FLAGS_COMMAND) {
				return { applied: false, files: 0, message: `unknown command ${params.command}` };
			}
			const arg = params.arguments?.[0];
			const ws = host.workspace();
			const folder = typeof arg === 'string' && arg ? URI.parse(arg).fsPath : host.folders()[0];
			if (!ws || !folder) {
				void connection.window.showErrorMessage('gpcscope: open a kernel tree as a workspace folder first.');
				return { applied: false, files: 0, message: 'no workspace folder' };
			}
			// Any file of the folder names it for the workspace; an open one need not exist.
			const at = ws.resultFor(URI.file(`${folder}/MAINTAINERS`).toString());
			const root = at.root ?? folder;
			const engine = await host.engine;
			const p = await makePlan(ws, root, at.result, at.uriOf, engine.parser);
			const outcome = outcomeOf(p);
			if (outcome.kind === 'nothing') {
				void connection.window.showInformationMessage(`gpcscope: ${outcome.message}.`);
				return { applied: false, files: 0, message: outcome.message };
			}
			if (outcome.kind === 'refused') {
				const text = refusalText(outcome.refusals) + (outcome.explanation ? `\n${outcome.explanation}` : '');
				void connection.window.showErrorMessage(text);
				return { applied: false, files: 0, message: text };
			}
			const edit = workspaceEdit(p, outcome.changes, at.uriOf, host.capabilities(), true);
			const result = await connection.workspace.applyEdit({ label: TREE_TITLE, edit });
			return { applied: result.applied, files: outcome.changes.length, message: result.failureReason };
		},
	};
}

/**
 * The whole plan for the folder at `root`, with open documents' text winning over the disk.
 * Their text is taken, not their tree: the whole-tree search yields to edits, which delete trees.
 */
async function makePlan(ws: Workspace, root: string, result: EngineResult | undefined, uriOf: (file: string) => string, parser: Parser): Promise<UsagePlan> {
	const override = (file: string) => {
		const doc = ws.documentFor(uriOf(file));
		const text = doc?.text;
		return text !== undefined ? { read: () => text } : undefined;
	};
	const tree = diskTree(root, { override, files: result ? result.facts.map((f) => f.file) : (await gpcFilesOf(root)).files });
	const files = new ParsedFiles(parser);
	try {
		return await planUsageRemovalSearching(files, tree.sources, { era: result?.era.era ?? '6.2-6.8', search: (names) => tree.search(names) });
	} finally {
		files.dispose();
		await tree.dispose();
	}
}

function workspaceEdit(plan: UsagePlan, changes: readonly FileChange[], uriOf: (file: string) => string, caps: ClientCapabilities, annotate: boolean): WorkspaceEdit {
	const editCaps = caps.workspace?.workspaceEdit;
	const perFile = changes.map((c) => ({ change: c, edits: lineEdits(c.before, c.after) }));
	if (!editCaps?.documentChanges) {
		return { changes: Object.fromEntries(perFile.map(({ change, edits }) => [uriOf(change.file), edits])) };
	}
	const withAnnotations = annotate && !!editCaps.changeAnnotationSupport;
	const changeAnnotations: Record<string, ChangeAnnotation> = {};
	const documentChanges: TextDocumentEdit[] = perFile.map(({ change, edits }) => {
		const planned = plan.edits.filter((e) => e.file === change.file && change.groups.includes(e.group));
		const annotated: (TextEdit | AnnotatedTextEdit)[] = edits.map((e) => {
			if (!withAnnotations) return e;
			const hit = planned.find((p) => rowAt(change.before, p.start) <= e.range.end.line && rowAt(change.before, Math.max(p.start, p.end - 1)) >= e.range.start.line) ?? planned[0];
			const kind = plan.groups.get(hit.group)?.kind ?? 'function';
			changeAnnotations[kind] ??= { label: ANNOTATIONS[kind], description: 'gpc-dead-usage-flag', needsConfirmation: true };
			return { ...e, annotationId: kind };
		});
		return { textDocument: { uri: uriOf(change.file), version: null }, edits: annotated };
	});
	return withAnnotations ? { documentChanges, changeAnnotations } : { documentChanges };
}

function refusalText(refusals: readonly Refusal[]): string {
	const shown = refusals.slice(0, 5).map((r) => `${r.file}:${r.line + 1}: ${r.message}`);
	const more = refusals.length > shown.length ? ` (and ${refusals.length - shown.length} more)` : '';
	return `gpcscope did not remove the usage flags, nothing was changed: ${shown.join('; ')}${more}`;
}

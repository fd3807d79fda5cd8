// gpc-dead-usage-flag through LSP: faded hints, a quick fix per finding,
// source.fixAll.gpcscope, and the whole-tree command, whose WorkspaceEdit
// (with change annotations) turns the fixture tree into its expected result.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { URI } from 'vscode-uri';
import type { CodeAction, Diagnostic, TextDocumentEdit, TextEdit, WorkspaceEdit } from 'vscode-languageserver-protocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers';
import { inProcessClient, type TestClient } from '../lsp-client';

const CASE = join(FIXTURES, 'gpc-dead-usage-flag', 'fix', 'era-6.2-6.8');
const scratch = mkdtempSync(join(tmpdir(), 'gpcscope-actions-'));
let n = 0;
let client: TestClient | undefined;
afterEach(async () => {
	await client?.close();
	client = undefined;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function files(root: string): Map<string, string> {
	const out = new Map<string, string>();
	const walk = (dir: string) => {
		for (const e of readdirSync(dir, { withFileTypes: true })) {
			if (e.isDirectory()) walk(join(dir, e.name));
			else out.set(relative(root, join(dir, e.name)), readFileSync(join(dir, e.name), 'utf8'));
		}
	};
	walk(root);
	return out;
}

function applyEdits(text: string, edits: readonly TextEdit[]): string {
	const starts = [0];
	for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
	const offset = (p: { line: number; character: number }) => (starts[p.line] ?? text.length) + p.character;
	let out = text;
	for (const e of [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start))) {
		out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
	}
	return out;
}

/** The tree after a WorkspaceEdit (documentChanges or changes), root-relative. */
function applyWorkspaceEdit(root: string, edit: WorkspaceEdit): Map<string, string> {
	const out = files(root);
	const perUri: [string, TextEdit[]][] = edit.documentChanges
		? (edit.documentChanges as TextDocumentEdit[]).map((d) => [d.textDocument.uri, d.edits as TextEdit[]])
		: Object.entries(edit.changes ?? {});
	for (const [uri, edits] of perUri) {
		const file = relative(root, URI.parse(uri).fsPath);
		out.set(file, applyEdits(out.get(file)!, edits));
	}
	return out;
}

async function start(resolve = true): Promise<{ c: TestClient; root: string; edits: WorkspaceEdit[] }> {
	const root = join(scratch, `${n++}`);
	cpSync(join(CASE, 'before'), root, { recursive: true });
	const c = inProcessClient();
	const edits: WorkspaceEdit[] = [];
	c.rpc.onRequest('workspace/applyEdit', (p: { edit: WorkspaceEdit }) => {
		edits.push(p.edit);
		return { applied: true };
	});
	await c.rpc.sendRequest('initialize', {
		processId: process.pid,
		rootUri: URI.file(root).toString(),
		workspaceFolders: [{ uri: URI.file(root).toString(), name: 'tree' }],
		capabilities: {
			workspace: { configuration: true, applyEdit: true, workspaceEdit: { documentChanges: true, changeAnnotationSupport: { groupsOnLabel: true } } },
			window: { workDoneProgress: true },
			textDocument: {
				publishDiagnostics: { relatedInformation: true, tagSupport: { valueSet: [1, 2] } },
				codeAction: resolve ? { resolveSupport: { properties: ['edit'] }, codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'source'] } } } : {},
			},
		},
	});
	c.rpc.sendNotification('initialized', {});
	client = c;
	return { c, root, edits };
}

function open(c: TestClient, root: string, file: string): string {
	const uri = URI.file(join(root, file)).toString();
	c.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: readFileSync(join(root, file), 'utf8') } });
	return uri;
}

const codeActions = (c: TestClient, uri: string, diagnostics: Diagnostic[], only?: string[]) =>
	c.rpc.sendRequest('textDocument/codeAction', {
		textDocument: { uri },
		range: diagnostics[0]?.range ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
		context: { diagnostics, only },
	}) as Promise<CodeAction[]>;

describe('gpc-dead-usage-flag code actions', () => {
	it('offers a quick fix at each call site that applies the whole-tree rewrite (one call site alone would not build)', async () => {
		const { c, root } = await start();
		const uri = open(c, root, 'arch/x86/kvm/xen.c');
		const diagnostics = (await c.diagnostics(uri)).filter((d) => d.code === 'gpc-dead-usage-flag');
		expect(diagnostics).toHaveLength(5);
		for (const d of diagnostics) {
			expect(d.severity).toBe(4);
			expect(d.tags).toEqual([1]);
			expect(d.message).toMatch(/none of the 6 calls of kvm_gpc_init\(\) passes KVM_GUEST_USES_PFN/);
		}
		const actions = await codeActions(c, uri, [diagnostics[0]]);
		expect(actions).toHaveLength(1);
		const quick = actions[0];
		expect(quick).toMatchObject({ kind: 'quickfix', isPreferred: true });
		expect(quick.title).toBe('Remove NULL, KVM_HOST_USES_PFN from this kvm_gpc_init() call, and the rest of the usage machinery tree-wide (gpcscope)');
		expect(quick.edit).toBeUndefined();
		const resolved = (await c.rpc.sendRequest('codeAction/resolve', quick)) as CodeAction;
		// The prototype, the definition and every other caller change with it: the 6.9+ tree.
		expect(applyWorkspaceEdit(root, resolved.edit!)).toEqual(files(join(CASE, 'after')));
	});

	it('source.fixAll.gpcscope applies the same whole-tree rewrite', async () => {
		const { c, root } = await start();
		const uri = open(c, root, 'arch/x86/kvm/xen.c');
		await c.diagnostics(uri);
		const actions = await codeActions(c, uri, [], ['source.fixAll']);
		expect(actions.map((a) => a.kind)).toEqual(['source.fixAll.gpcscope']);
		const resolved = (await c.rpc.sendRequest('codeAction/resolve', actions[0])) as CodeAction;
		expect(applyWorkspaceEdit(root, resolved.edit!)).toEqual(files(join(CASE, 'after')));
	});

	it('the quick fix and the command apply one annotated WorkspaceEdit that yields the 6.9+ tree', async () => {
		const { c, root, edits } = await start();
		const uri = open(c, root, 'virt/kvm/pfncache.c');
		const diagnostics = (await c.diagnostics(uri)).filter((d) => d.code === 'gpc-dead-usage-flag');
		const tree = (await codeActions(c, uri, [diagnostics[0]]))[0];
		const resolved = (await c.rpc.sendRequest('codeAction/resolve', tree)) as CodeAction;
		const expected = files(join(CASE, 'after'));
		expect(applyWorkspaceEdit(root, resolved.edit!)).toEqual(expected);
		const annotations = resolved.edit!.changeAnnotations!;
		expect(Object.values(annotations).every((a) => a.needsConfirmation)).toBe(true);
		expect(Object.values(annotations).map((a) => a.label)).toContain('enum pfn_cache_usage');
		for (const d of resolved.edit!.documentChanges as TextDocumentEdit[]) {
			for (const e of d.edits) expect(annotations['annotationId' in e ? (e.annotationId as string) : '']).toBeDefined();
		}

		const result = await c.rpc.sendRequest('workspace/executeCommand', { command: 'gpcscope.server.removeUsageFlags', arguments: [URI.file(root).toString()] });
		expect(result).toMatchObject({ applied: true, files: 7 });
		expect(applyWorkspaceEdit(root, edits[0])).toEqual(expected);
	});

	it('gives clients without resolve support a command that answers at once, then sends the whole-tree edit', async () => {
		const { c, root, edits } = await start(false);
		const uri = open(c, root, 'arch/x86/kvm/x86.c');
		const diagnostics = (await c.diagnostics(uri)).filter((d) => d.code === 'gpc-dead-usage-flag');
		const quick = (await codeActions(c, uri, diagnostics)).find((a) => a.isPreferred)!;
		expect(quick.edit).toBeUndefined();
		expect(quick.command).toEqual({ title: quick.title, command: 'gpcscope.server.applyUsageFix', arguments: [URI.file(root).toString()] });
		const answer = await c.rpc.sendRequest('workspace/executeCommand', quick.command);
		// Answered before the plan is made: the edit has not come yet.
		expect(answer).toMatchObject({ applied: false, message: 'planning the rewrite; the edit follows' });
		await expect.poll(() => edits.length, { timeout: 10_000 }).toBe(1);
		expect(applyWorkspaceEdit(root, edits[0])).toEqual(files(join(CASE, 'after')));
	});
});

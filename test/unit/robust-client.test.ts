// The VS Code client's restart policy (client/src/context.ts errorHandler) without VS Code:
// a crashed server is restarted, and after MAX_RESTARTS crashes within the window the client
// stops restarting and says so. The vscode API and the language client are stubbed.
import { describe, expect, it, vi } from 'vitest';
// vi.mock() calls below are hoisted above this import by vitest.
import { GpcscopeContext } from '../../client/src/context';

// Any property of the stub is a callable, constructible stub (hoisted: vi.mock factories run first).
const { stub, messages } = vi.hoisted(() => {
	const stub: any = new Proxy(function () {}, {
		get: (_t, p) => (p === 'then' ? undefined : p === Symbol.toPrimitive ? () => 'stub' : stub),
		apply: () => stub,
		construct: () => stub,
	});
	return { stub, messages: [] as string[] };
});
vi.mock('vscode', () => ({
	window: { createOutputChannel: () => ({ warn: (m: string) => messages.push(`warn: ${m}`), dispose: () => undefined, info: () => undefined, appendLine: () => undefined }), showInformationMessage: async (m: string) => void messages.push(`info: ${m}`), showWarningMessage: async () => undefined, createTreeView: () => stub, registerTreeDataProvider: () => stub },
	languages: { createLanguageStatusItem: () => ({ dispose: () => undefined }) },
	commands: { registerCommand: () => ({ dispose: () => undefined }) },
	LanguageStatusSeverity: { Information: 0, Error: 2 },
	EventEmitter: class { event = () => undefined; fire() {} dispose() {} },
	TreeItem: class {},
	ThemeIcon: class {},
	Disposable: class { static from() { return { dispose() {} }; } dispose() {} },
	Uri: stub, ViewColumn: { One: 1, Beside: -2 }, TreeItemCollapsibleState: { Collapsed: 1 }, workspace: stub,
}));
vi.mock('vscode-languageclient/node', () => ({
	CloseAction: { DoNotRestart: 1, Restart: 2 },
	ErrorAction: { Continue: 1, Shutdown: 2 },
	TransportKind: { stdio: 0, ipc: 1 },
	LanguageClient: class {},
}));

describe('VS Code client restart policy', () => {
	it('restarts a crashed server, and gives up (saying so) after repeated crashes', () => {
		const ctx = new GpcscopeContext({ asAbsolutePath: (p: string) => p, subscriptions: [] } as never);
		const handler = (ctx as unknown as { errorHandler(): { closed(): { action: number; message?: string }; error(): { action: number } } }).errorHandler();
		expect(handler.error().action).toBe(1);
		const actions = Array.from({ length: 7 }, () => handler.closed());
		expect(actions.slice(0, 5).map((a) => a.action)).toEqual([2, 2, 2, 2, 2]);
		expect(actions[5].action).toBe(1);
		expect(actions[5].message).toMatch(/crashed/);
		expect(messages.filter((m) => m.startsWith('info:')).length).toBe(5);
	});
});

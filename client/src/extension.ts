// Activation only: everything lives in the context and the feature modules.
import type * as vscode from 'vscode';
import { GpcscopeContext } from './context';

let ctx: GpcscopeContext | undefined;

export function activate(extension: vscode.ExtensionContext): void {
	ctx = new GpcscopeContext(extension);
	ctx.watch();
}

export async function deactivate(): Promise<void> {
	await ctx?.dispose();
	ctx = undefined;
}

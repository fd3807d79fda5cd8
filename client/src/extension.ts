// Activation only: everything lives in the context and the feature modules.
import type * as vscode from 'vscode';
import { GpcscopeContext } from './context';

let ctx: GpcscopeContext | undefined;

export async function activate(extension: vscode.ExtensionContext): Promise<void> {
	ctx = new GpcscopeContext(extension);
	await ctx.start();
}

export async function deactivate(): Promise<void> {
	await ctx?.dispose();
	ctx = undefined;
}

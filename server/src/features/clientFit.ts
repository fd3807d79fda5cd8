// What the server sends, fitted to what the client said it can show: related
// locations folded into the message for clients without relatedInformation
// support (eglot, Neovim 0.7), hover text as plain text for clients that do not
// render Markdown (eglot without markdown-mode echoes it raw, links and all).
import { relative, sep } from 'node:path';
import { MarkupKind, type ClientCapabilities, type Diagnostic, type Hover } from 'vscode-languageserver';
import { URI } from 'vscode-uri';

/** How a related location reads inside a message: `line 49` in the same file, else `arch/x86/kvm/x86.c:3121`. */
function where(uri: string, range: Diagnostic['range'], own: string, roots: readonly string[]): string {
	const row = range.start.line + 1;
	if (uri === own) return `line ${row}`;
	const path = URI.parse(uri).fsPath;
	const root = roots.find((r) => path.startsWith(r + sep));
	return `${root ? relative(root, path).split(sep).join('/') : path}:${row}`;
}

/**
 * The diagnostics for `uri` as this client can show them. A client without
 * `publishDiagnostics.relatedInformation` gets each related location as a line of the
 * message ("lock dropped here: line 49") instead of losing it.
 */
export function fitDiagnostics(uri: string, diagnostics: Diagnostic[], caps: ClientCapabilities, roots: readonly string[] = []): Diagnostic[] {
	if (caps.textDocument?.publishDiagnostics?.relatedInformation) return diagnostics;
	return diagnostics.map((d) => {
		if (!d.relatedInformation?.length) return d;
		const { relatedInformation, ...rest } = d;
		const lines = relatedInformation.map((r) => `${r.message}: ${where(r.location.uri, r.location.range, uri, roots)}`);
		return { ...rest, message: [d.message, ...lines].join('\n') };
	});
}

/** True when the client renders Markdown hovers (its first-choice format, as LSP says the order is the preference). */
export function wantsMarkdown(caps: ClientCapabilities): boolean {
	const formats = caps.textDocument?.hover?.contentFormat;
	// A client that says nothing is assumed to take Markdown, as LSP clients did before contentFormat.
	return !formats?.length || formats[0] === MarkupKind.Markdown;
}

/** Markdown as a plain-text reader sees it: link labels without their targets, no emphasis markers. */
export function markdownToPlainText(markdown: string): string {
	return markdown
		.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
		.replace(/\*\*([^*]+)\*\*/g, '$1')
		.replace(/(^|[\s(])_([^_\n]+)_(?=[\s).,;:]|$)/gm, '$1$2')
		.replace(/^---$/gm, '');
}

export function fitHover(hover: Hover | null, caps: ClientCapabilities): Hover | null {
	if (!hover || wantsMarkdown(caps)) return hover;
	const c = hover.contents;
	if (typeof c === 'object' && c && 'kind' in c && c.kind === MarkupKind.Markdown) {
		return { ...hover, contents: { kind: MarkupKind.PlainText, value: markdownToPlainText(c.value) } };
	}
	return hover;
}

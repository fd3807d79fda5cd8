// The server's view of the workspace: folders and their prefiltered files,
// open documents (whose text and tree win over the disk), and the analysis
// that turns them into published diagnostics. Analyses are debounced per
// folder; a result computed from text that has since changed is dropped.
import { relative, resolve, sep } from 'node:path';
import type { Diagnostic } from 'vscode-languageserver';
import { URI } from 'vscode-uri';
import { Engine, type EngineResult, type SourceFile } from './analysis/engine';
import { scanTree } from './index/scan';
import { engineOptions, type Settings } from './config';
import { toDiagnostic } from './features/diagnostics';
import { DocumentTrees, type TextChange } from './parse/documents';
import type { Tree } from './parse/parser';
import type { ServerStatus } from './protocol';

interface Folder {
	root: string;
	/** Root-relative paths of the prefiltered files on disk. */
	files: Map<string, SourceFile>;
	scanned: number;
	result?: EngineResult;
	/** URIs that currently have diagnostics from this folder. */
	published: Set<string>;
	timer?: NodeJS.Timeout;
}

export interface WorkspaceHost {
	publish(uri: string, diagnostics: Diagnostic[]): void;
	status(status: ServerStatus): void;
	log(message: string): void;
}

const LOOSE = '<loose>';
const MENTIONS_GPC = /\b(gfn_to_pfn_cache|kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+|khva|KVM_(GUEST|HOST)_USES_PFN)\b/;

export class Workspace {
	private readonly folders = new Map<string, Folder>();
	private readonly documents: DocumentTrees;
	private readonly versions = new Map<string, number>();

	constructor(
		private readonly engine: Engine,
		private readonly host: WorkspaceHost,
		private settings: Settings,
	) {
		this.documents = new DocumentTrees(engine.parser);
		this.folders.set(LOOSE, { root: LOOSE, files: new Map(), scanned: 0, published: new Set() });
	}

	/** Scans a folder's C sources and analyses it. */
	index(root: string): void {
		const scan = scanTree(root);
		for (const s of scan.skipped) this.host.log(`skipped ${s.file}: ${s.reason}`);
		const folder: Folder = { root: scan.root, files: new Map(scan.sources.map((s) => [s.file, s])), scanned: scan.scanned, published: this.folders.get(scan.root)?.published ?? new Set() };
		this.folders.set(scan.root, folder);
		this.host.log(`indexed ${scan.root}: ${scan.scanned} C files, ${scan.sources.length} mention the gpc API`);
		this.analyzeNow(folder);
	}

	reindex(): void {
		for (const root of [...this.folders.keys()]) if (root !== LOOSE) this.index(root);
		this.analyzeNow(this.folders.get(LOOSE)!);
	}

	configure(settings: Settings): void {
		this.settings = settings;
		for (const folder of this.folders.values()) this.schedule(folder, 0);
	}

	open(uri: string, version: number, text: string): void {
		this.documents.open(uri, text);
		this.versions.set(uri, version);
		this.schedule(this.folderOf(uri), 0);
	}

	change(uri: string, version: number, changes: readonly TextChange[]): void {
		this.documents.change(uri, changes);
		this.versions.set(uri, version);
		this.schedule(this.folderOf(uri), this.settings.debounceMs);
	}

	close(uri: string): void {
		this.documents.close(uri);
		this.versions.delete(uri);
		const folder = this.folderOf(uri);
		if (folder.root === LOOSE) this.host.publish(uri, []);
		this.schedule(folder, 0);
	}

	/** An open document's text and up-to-date tree (hover, code actions). */
	documentFor(uri: string): { text: string; tree: Tree } | undefined {
		return this.documents.get(uri);
	}

	/** The latest analysis of the folder holding `uri`. */
	resultFor(uri: string): { result?: EngineResult; file: string; root?: string; uriOf: (file: string) => string } {
		const folder = this.folderOf(uri);
		return {
			result: folder.result,
			file: this.relativeFile(folder, uri),
			root: folder.root === LOOSE ? undefined : folder.root,
			uriOf: (file) => this.uriOf(folder, file),
		};
	}

	/** Every analysed folder's latest result, with its URI mapping (instances view). */
	results(): { result: EngineResult; uriOf: (file: string) => string }[] {
		return [...this.folders.values()].filter((f) => f.result).map((f) => ({ result: f.result!, uriOf: (file: string) => this.uriOf(f, file) }));
	}

	status(): ServerStatus {
		const results = [...this.folders.values()].filter((f) => f.result);
		const first = results.find((f) => f.root !== LOOSE) ?? results[0];
		return {
			state: 'ready',
			apiEra: first?.result?.era.era,
			eraEvidence: first?.result?.era.evidence,
			filesScanned: [...this.folders.values()].reduce((n, f) => n + f.scanned, 0),
			filesIndexed: [...this.folders.values()].reduce((n, f) => n + f.files.size, 0),
			findings: results.reduce((n, f) => n + (f.result?.findings.length ?? 0), 0),
		};
	}

	dispose(): void {
		for (const f of this.folders.values()) clearTimeout(f.timer);
		this.documents.dispose();
	}

	private schedule(folder: Folder, delay: number): void {
		clearTimeout(folder.timer);
		folder.timer = setTimeout(() => this.analyzeNow(folder), delay);
	}

	private analyzeNow(folder: Folder): void {
		clearTimeout(folder.timer);
		const versionsAtStart = new Map(this.versions);
		const sources = new Map<string, SourceFile>();
		if (folder.root !== LOOSE) for (const [file, s] of folder.files) sources.set(file, s);
		for (const uri of this.versions.keys()) {
			if (this.folderOf(uri) !== folder) continue;
			const doc = this.documents.get(uri);
			if (!doc) continue;
			const file = this.relativeFile(folder, uri);
			if (!MENTIONS_GPC.test(doc.text) && !sources.has(file)) continue;
			sources.set(file, { file, read: () => doc.text, tree: () => doc.tree });
		}
		let result: EngineResult;
		try {
			result = this.engine.analyze([...sources.values()], engineOptions(this.settings));
		} catch (e) {
			this.host.log(`analysis of ${folder.root} failed: ${(e as Error).stack ?? e}`);
			this.host.status({ ...this.status(), state: 'error', message: (e as Error).message });
			return;
		}
		// Text changed while we analysed: a newer analysis is scheduled; drop this one.
		for (const [uri, v] of this.versions) {
			if (this.folderOf(uri) === folder && versionsAtStart.get(uri) !== v) return;
		}
		folder.result = result;
		this.publish(folder, result);
		this.host.status(this.status());
	}

	private publish(folder: Folder, result: EngineResult): void {
		const byUri = new Map<string, Diagnostic[]>();
		const uriOf = (file: string) => this.uriOf(folder, file);
		for (const f of result.findings) {
			const uri = uriOf(f.file);
			if (!byUri.has(uri)) byUri.set(uri, []);
			byUri.get(uri)!.push(toDiagnostic(f, uriOf));
		}
		for (const uri of folder.published) if (!byUri.has(uri)) this.host.publish(uri, []);
		for (const [uri, diagnostics] of byUri) this.host.publish(uri, diagnostics);
		folder.published = new Set(byUri.keys());
	}

	private folderOf(uri: string): Folder {
		const path = URI.parse(uri).fsPath;
		let best: Folder | undefined;
		for (const f of this.folders.values()) {
			if (f.root === LOOSE) continue;
			if ((path === f.root || path.startsWith(f.root + sep)) && (!best || f.root.length > best.root.length)) best = f;
		}
		return best ?? this.folders.get(LOOSE)!;
	}

	private relativeFile(folder: Folder, uri: string): string {
		const path = URI.parse(uri).fsPath;
		return folder.root === LOOSE ? path : relative(folder.root, path).split(sep).join('/');
	}

	private uriOf(folder: Folder, file: string): string {
		return URI.file(folder.root === LOOSE ? file : resolve(folder.root, file)).toString();
	}
}

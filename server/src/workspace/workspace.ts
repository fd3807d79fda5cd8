// The server's view of the workspace: folders indexed on disk (through the tree
// pipeline: workers, the persistent cache), open documents (whose text and tree
// win over the disk), and one scheduler through which every analysis runs.
// Results go to a sink (features/diagnostics.ts publishes them); requests read
// the last finished result of a folder while its next analysis runs.
import { posix, relative, resolve, sep } from 'node:path';
import type { CancellationToken } from 'vscode-languageserver';
import { CancellationTokenSource } from 'vscode-languageserver';
import { URI } from 'vscode-uri';
import type { Engine, EngineResult } from '../analysis/engine';
import { UNPARSED_CODE } from '../analysis/findings';
import type { SourceFile } from '../analysis/source';
import { engineOptions, type Settings } from '../config';
import { defaultCacheDir } from '../index/cache';
import { classifyNewFile } from '../index/fileEvents';
import { IndexCancelled } from '../index/indexer';
import { openTrees } from '../index/open';
import { resolveRoot } from '../index/walk';
import { DocumentTrees, type TextChange } from '../parse/documents';
import type { Tree } from '../parse/parser';
import type { ServerStatus } from '../protocol';
import { Folder, LOOSE, type AnalysisJob, type OpenDocument } from './folder';
import { AnalysisScheduler, type AnalysisEvent } from './scheduler';

/** A folder's latest result, as the features read it. */
export interface FolderResult {
	result: EngineResult;
	/** The document URI of a root-relative file. */
	uriOf(file: string): string;
	/** Whether the document belongs to this folder. */
	holds(uri: string): boolean;
	/** Identifies the folder. */
	root: string;
}

/** Where results go: features/diagnostics.ts turns them into published diagnostics. */
export interface ResultSink {
	/** A document was opened or edited: after the next analysis, its diagnostics are sent even when unchanged. */
	touched(uri: string): void;
	/** A document was closed. */
	closed(uri: string): void;
	/** Nothing to report for this document (a loose document closed, or one over the size limit). */
	clear(uri: string): void;
	/** A folder's latest result: after an analysis, or moved by an edit. */
	analysed(folder: FolderResult): void;
}

/** LSP work-done progress, as the server creates it. */
export interface WorkspaceProgress {
	report(done: number, total: number, message?: string): void;
	done(): void;
}

export interface WorkspaceHost {
	results: ResultSink;
	status(status: ServerStatus): void;
	log(message: string): void;
	/** Work-done progress for indexing; without it, progress goes through status() only. */
	progress?(title: string): WorkspaceProgress;
}

export interface WorkspaceOptions {
	/** Folder of the persistent index cache (the extension's storage folder); null: no cache. Default `$XDG_CACHE_HOME/gpcscope`. */
	cacheDir?: string | null;
	/** Index threads; default the number of cores. */
	jobs?: number;
	/** A background analysis runs this long at most before requests get a turn; default 20 ms. */
	analysisSliceMs?: number;
	/** Each analysis's start and end, as the scheduler runs them (tests watch it). */
	onAnalysis?(root: string, event: AnalysisEvent): void;
}

/**
 * A background analysis runs this long at most before requests get a turn (it pauses inside a
 * function's dataflow too, so a slice ends within a fraction of a millisecond of this).
 */
const ANALYSIS_SLICE_MS = 5;

export class Workspace {
	private readonly folders = new Map<string, Folder>();
	private readonly documents: DocumentTrees;
	private readonly versions = new Map<string, number>();
	/** Open documents over the size limit (logged once). */
	private readonly oversized = new Set<string>();
	private readonly cacheDir: string | undefined;
	private readonly scheduler: AnalysisScheduler;

	constructor(
		private readonly engine: Engine,
		private readonly host: WorkspaceHost,
		private settings: Settings,
		private readonly options: WorkspaceOptions = {},
	) {
		this.scheduler = new AnalysisScheduler((root, token) => this.analyse(root, token), options.onAnalysis);
		this.documents = new DocumentTrees(engine.parser, () => this.settings.indexMaxFileSizeKB * 1024);
		this.cacheDir = options.cacheDir === null ? undefined : options.cacheDir ?? defaultCacheDir();
		this.folders.set(LOOSE, new Folder(LOOSE, engine.parser));
	}

	/** Indexes a folder's C sources (cancelling an index of it still running), then analyses it. */
	async index(path: string, options: { gitignore?: boolean } = {}): Promise<void> {
		let root: string;
		try {
			root = resolveRoot(path).root;
		} catch (e) {
			this.host.log(`cannot index ${path}: ${(e as Error).message}`);
			return;
		}
		let folder = this.folders.get(root);
		if (!folder) this.folders.set(root, (folder = new Folder(root, this.engine.parser)));
		if ('gitignore' in options) folder.gitignore = options.gitignore;
		folder.indexing?.cancel();
		// An analysis of the index this one replaces is not worth finishing.
		this.scheduler.cancel(folder.root);
		const indexing = new CancellationTokenSource();
		folder.indexing = indexing;
		await this.runIndex(folder, indexing.token);
		if (folder.indexing !== indexing) return;
		folder.indexing = undefined;
		folder.stale = true;
		await this.scheduler.request(folder.root, 0);
	}

	configure(settings: Settings): void {
		const before = this.settings;
		this.settings = settings;
		const indexChanged = JSON.stringify([before.indexInclude, before.indexExclude, before.indexMaxFileSizeKB]) !== JSON.stringify([settings.indexInclude, settings.indexExclude, settings.indexMaxFileSizeKB]);
		if (before.indexMaxFileSizeKB !== settings.indexMaxFileSizeKB) {
			for (const uri of this.versions.keys()) {
				this.documents.refit(uri);
				this.noteOversized(uri);
			}
		}
		for (const folder of this.folders.values()) {
			if (indexChanged && !folder.loose) void this.index(folder.root);
			else {
				folder.stale = true;
				void this.scheduler.request(folder.root, 0);
			}
		}
	}

	open(uri: string, version: number, text: string): void {
		this.documents.open(uri, text);
		this.noteOversized(uri);
		this.versions.set(uri, version);
		this.host.results.touched(uri);
		const folder = this.folderOf(uri);
		// The editor's tree wins over the disk's.
		if (!folder.loose) folder.trees.drop(URI.parse(uri).fsPath);
		folder.stale = true;
		void this.scheduler.request(folder.root, 0);
	}

	change(uri: string, version: number, changes: readonly TextChange[]): void {
		this.documents.change(uri, changes);
		this.noteOversized(uri);
		this.versions.set(uri, version);
		this.host.results.touched(uri);
		void this.scheduler.request(this.folderOf(uri).root, this.settings.debounceMs);
	}

	close(uri: string): void {
		this.documents.close(uri);
		this.oversized.delete(uri);
		this.versions.delete(uri);
		this.host.results.closed(uri);
		const folder = this.folderOf(uri);
		folder.seen.delete(uri);
		if (folder.loose) this.host.results.clear(uri);
		else {
			// It may have been saved: its disk text and facts are read again.
			folder.trees.drop(URI.parse(uri).fsPath);
			folder.reread.add(this.relativeFile(folder, uri));
		}
		folder.stale = true;
		void this.scheduler.request(folder.root, 0);
	}

	/**
	 * Files changed on disk (workspace/didChangeWatchedFiles). A changed file the index knows
	 * is read again at the next analysis; a created one (or a changed one the index did not
	 * keep) is judged alone, as the index would (index/fileEvents.ts), and joins the sources
	 * if it mentions the gpc API or neighbours a gpc file; a deleted one leaves them. Only
	 * while an index runs is the folder indexed again. Open documents win over the disk.
	 */
	filesChanged(changes: readonly { uri: string; kind: 'created' | 'changed' | 'deleted' }[]): void {
		const reindex = new Set<Folder>();
		for (const { uri, kind } of changes) {
			const folder = this.folderOf(uri);
			if (folder.loose || this.versions.has(uri)) continue;
			if (folder.indexing || !folder.index) {
				reindex.add(folder);
				continue;
			}
			const file = this.relativeFile(folder, uri);
			const index = folder.index;
			const known = index.sources.find((s) => s.file === file);
			if (kind === 'deleted') {
				if (!known) continue;
				folder.index = { ...index, sources: index.sources.filter((s) => s !== known), stats: { ...index.stats, scanned: index.stats.scanned - 1 } };
				index.hashes.delete(file);
			} else if (known) {
				folder.reread.add(file);
			} else {
				const added = this.newSource(folder, file);
				if (!added) continue;
				folder.index = { ...index, sources: [...index.sources, added], stats: kind === 'created' ? { ...index.stats, scanned: index.stats.scanned + 1 } : index.stats };
			}
			folder.trees.drop(URI.parse(uri).fsPath);
			folder.stale = true;
			void this.scheduler.request(folder.root, 0);
		}
		for (const folder of reindex) void this.index(folder.root);
	}

	/** A file the index has not seen, as a source of the analysis, or undefined when the index would not keep it. */
	private newSource(folder: Folder, file: string): SourceFile | undefined {
		const gpcDirs = new Set(folder.index!.sources.filter((s) => !s.summariesOnly && s.file.endsWith('.c')).map((s) => posix.dirname(s.file)));
		const kind = classifyNewFile(folder.root, file, {
			maxBytes: this.settings.indexMaxFileSizeKB * 1024, include: this.settings.indexInclude, exclude: this.settings.indexExclude, gpcDirs,
		});
		if (kind === 'none') return undefined;
		this.host.log(`${file} appeared on disk: ${kind === 'gpc' ? 'analysed' : 'read for its call graph'}, no re-index`);
		const abs = `${folder.root}/${file}`;
		return kind === 'gpc' ? ({ file } as SourceFile) : { file, read: () => folder.trees.text(abs) ?? '', summariesOnly: true };
	}

	/** An open document's text and up-to-date tree (hover, code actions). */
	documentFor(uri: string): { text: string; tree: Tree } | undefined {
		return this.documents.get(uri);
	}

	/** True when `uri` lies in an indexed folder (not a loose file). */
	inFolder(uri: string): boolean {
		return !this.folderOf(uri).loose;
	}

	/** The last finished analysis of the folder holding `uri`. */
	resultFor(uri: string): { result?: EngineResult; file: string; root?: string; uriOf: (file: string) => string } {
		const folder = this.folderOf(uri);
		return {
			result: folder.result,
			file: this.relativeFile(folder, uri),
			root: folder.loose ? undefined : folder.root,
			uriOf: (file) => this.uriOf(folder, file),
		};
	}

	/** Every analysed folder's latest result, with its URI mapping (instances view). */
	results(): { result: EngineResult; uriOf: (file: string) => string }[] {
		return [...this.folders.values()].filter((f) => f.result).map((f) => ({ result: f.result!, uriOf: (file: string) => this.uriOf(f, file) }));
	}

	status(): ServerStatus {
		const folders = [...this.folders.values()];
		const results = folders.filter((f) => f.result);
		const first = results.find((f) => !f.loose) ?? results[0];
		// No gpc file indexed: the era is only the engine's default, not something to show.
		const era = first?.index?.sources.length ? first.result?.era : undefined;
		return {
			state: folders.some((f) => f.indexing) ? 'indexing' : 'ready',
			apiEra: era?.era,
			eraEvidence: era?.evidence,
			filesScanned: folders.reduce((n, f) => n + (f.index?.stats.scanned ?? 0), 0),
			filesIndexed: folders.reduce((n, f) => n + (f.index?.sources.length ?? 0), 0),
			findings: results.reduce((n, f) => n + (f.result?.findings.length ?? 0), 0),
			unparsedFiles: results.reduce((n, f) => n + (f.result?.unparsed.length ?? 0), 0),
		};
	}

	dispose(): void {
		this.scheduler.dispose();
		for (const f of this.folders.values()) {
			f.indexing?.cancel();
			f.trees.dispose();
		}
		this.documents.dispose();
	}

	/**
	 * A document over gpcscope.index.maxFileSizeKB (a generated header) is not parsed, as the
	 * index does not read such files: said once in the log, and its diagnostics are cleared.
	 */
	private noteOversized(uri: string): void {
		const bytes = this.documents.oversized(uri);
		if (bytes === undefined) {
			if (this.oversized.delete(uri)) this.host.log(`${uri} is within gpcscope.index.maxFileSizeKB again: analysed`);
			return;
		}
		if (this.oversized.has(uri)) return;
		this.oversized.add(uri);
		this.host.log(`not analysing ${uri}: ${bytes} bytes, over gpcscope.index.maxFileSizeKB (${this.settings.indexMaxFileSizeKB} KB); generated?`);
		this.host.results.clear(uri);
	}

	private async runIndex(folder: Folder, token: CancellationToken): Promise<void> {
		const progress = this.host.progress?.('gpcscope: indexing');
		this.host.status({ ...this.status(), state: 'indexing' });
		let lastStatus = 0;
		try {
			const opened = await openTrees(this.engine.parser, [folder.root], {
				include: this.settings.indexInclude,
				exclude: this.settings.indexExclude,
				gitignore: folder.gitignore,
				maxFileBytes: this.settings.indexMaxFileSizeKB * 1024,
				jobs: this.options.jobs,
				cacheDir: this.cacheDir,
				log: (m) => this.host.log(m),
				cancelled: () => token.isCancellationRequested,
				// gpc files keep their tree for pass 2; an open document's text and tree win.
				trees: folder.trees,
				skipTree: (abs) => this.isOpen(abs),
				onProgress: (phase, done, total) => {
					if (token.isCancellationRequested) return;
					progress?.report(done, total, `${phase === 'scan' ? 'scanning' : 'parsing'} ${done}/${total} files`);
					const now = performance.now();
					if (now - lastStatus > 250) {
						lastStatus = now;
						this.host.status({ ...this.status(), state: 'indexing', filesScanned: phase === 'scan' ? done : folder.index?.stats.scanned ?? 0 });
					}
				},
			});
			if (token.isCancellationRequested) return;
			const index = opened.indexes[0].index;
			// Generated headers over the size limit: one line, not one per file, on every index.
			const large = index.skipped.filter((s) => s.reason.startsWith('larger than'));
			for (const s of index.skipped) if (!large.includes(s)) this.host.log(`skipped ${s.file}: ${s.reason}`);
			if (large.length) this.host.log(`not searched: ${large.length} file${large.length === 1 ? '' : 's'} over gpcscope.index.maxFileSizeKB (e.g. ${large[0].file}: ${large[0].reason})`);
			const st = index.stats;
			this.host.log(
				`indexed ${folder.root}: ${st.scanned} C files, ${st.matched} mention the gpc API, ${index.sources.length} indexed ` +
					`(${st.parsed} parsed, ${st.factsFromCache} from the cache: ${st.cache}), ${st.jobs} thread${st.jobs > 1 ? 's' : ''}, ${st.ms} ms`,
			);
			folder.index = index;
			folder.reread.clear();
			opened.persist();
			index.cache?.release();
		} catch (e) {
			if (e instanceof IndexCancelled) return;
			this.host.log(`indexing ${folder.root} failed: ${(e as Error).stack ?? e}`);
			this.host.status({ ...this.status(), state: 'error', message: (e as Error).message });
		} finally {
			progress?.done();
		}
	}

	private isOpen(abs: string): boolean {
		return this.versions.has(URI.file(abs).toString());
	}

	/** The folder's open documents. */
	private openDocuments(folder: Folder): OpenDocument[] {
		const out = [];
		for (const uri of this.versions.keys()) {
			if (this.folderOf(uri) !== folder) continue;
			const doc = this.documents.get(uri);
			if (doc) out.push({ uri, file: this.relativeFile(folder, uri), text: doc.text, tree: doc.tree });
		}
		return out;
	}

	/**
	 * One analysis of a folder, as the scheduler runs it: in slices, so that requests are
	 * answered meanwhile; a newer request for the folder cancels it through `token`.
	 */
	private async analyse(root: string, token: CancellationToken): Promise<void> {
		const folder = this.folders.get(root);
		if (!folder) return;
		const job = folder.prepare(this.openDocuments(folder), this.versions, (uri) => this.documents.get(uri)?.tree);
		if (job === 'indexing') return;
		if (job === 'moved') {
			this.host.results.analysed(this.folderResult(folder));
			return;
		}
		let result: EngineResult | undefined;
		try {
			result = await this.engine.analyzeYielding(job.sources, engineOptions(this.settings), job.hooks, {
				sliceMs: this.options.analysisSliceMs ?? ANALYSIS_SLICE_MS,
				cancelled: () => token.isCancellationRequested,
			});
		} catch (e) {
			this.host.log(`analysis of ${folder.root} failed: ${(e as Error).stack ?? e}`);
			this.host.status({ ...this.status(), state: 'error', message: (e as Error).message });
			return;
		}
		if (result) this.finish(folder, job, result);
	}

	private finish(folder: Folder, job: AnalysisJob, result: EngineResult): void {
		for (const s of result.skipped) this.host.log(`analysis skipped ${s.file}: ${s.reason}`);
		// Text changed while we analysed: a newer analysis is scheduled; drop this one.
		for (const [uri, v] of this.versions) {
			if (this.folderOf(uri) === folder && job.versionsAtStart.get(uri) !== v) return;
		}
		folder.finish(job, result);
		const notices = result.unparsed.map((n) => `${n.file}: ${n.message}`).join('\n');
		if (notices !== (folder.noticesLogged ?? '')) {
			for (const n of result.unparsed) this.host.log(`${n.file}: ${n.message} [${UNPARSED_CODE}]`);
			folder.noticesLogged = notices;
		}
		this.host.results.analysed(this.folderResult(folder));
		this.host.status(this.status());
	}

	private folderResult(folder: Folder): FolderResult {
		return { result: folder.result!, root: folder.root, uriOf: (file) => this.uriOf(folder, file), holds: (uri) => this.folderOf(uri) === folder };
	}

	private folderOf(uri: string): Folder {
		const path = URI.parse(uri).fsPath;
		let best: Folder | undefined;
		for (const f of this.folders.values()) {
			if (f.loose) continue;
			if ((path === f.root || path.startsWith(f.root + sep)) && (!best || f.root.length > best.root.length)) best = f;
		}
		return best ?? this.folders.get(LOOSE)!;
	}

	private relativeFile(folder: Folder, uri: string): string {
		const path = URI.parse(uri).fsPath;
		return folder.loose ? path : relative(folder.root, path).split(sep).join('/');
	}

	private uriOf(folder: Folder, file: string): string {
		return URI.file(folder.loose ? file : resolve(folder.root, file)).toString();
	}
}

// The server's view of the workspace: folders indexed on disk (workers, the
// persistent cache), open documents (whose text and tree win over the disk),
// and the analysis that turns them into published diagnostics. Analyses are
// debounced per folder; an edit confined to a function that cannot affect any
// finding only moves the previous result; a re-index cancels the one it
// replaces; only files whose diagnostics changed (and the edited ones) are
// republished.
import { relative, resolve, sep } from 'node:path';
import type { Diagnostic } from 'vscode-languageserver';
import { URI } from 'vscode-uri';
import { Engine, type EngineHooks, type EngineResult, type SourceFile } from './analysis/engine';
import { extractFacts, type FileFacts } from './analysis/facts';
import { engineOptions, type Settings } from './config';
import { toDiagnostic } from './features/diagnostics';
import { defaultCacheDir } from './index/cache';
import { editedFacts, gpcUsers, localEdit, shiftResult } from './index/incremental';
import { IndexCancelled, indexTree, type IndexResult } from './index/indexer';
import { contentHash } from './index/tasks';
import { SourceTrees } from './index/trees';
import { resolveRoot } from './index/walk';
import { DocumentTrees, type TextChange } from './parse/documents';
import type { Tree } from './parse/parser';
import type { ServerStatus } from './protocol';

interface Folder {
	root: string;
	/** The folder on disk: gpc files and their neighbours, with their facts. */
	index?: IndexResult;
	/** Set while an index runs; analyses wait for it. */
	indexing?: Promise<void>;
	/** Bumped by every index run: an older run sees it and stops. */
	generation: number;
	scanned: number;
	result?: EngineResult;
	/** Diagnostics last published per URI (as JSON, to republish only what changed). */
	published: Map<string, string>;
	timer?: NodeJS.Timeout;
	/** Disk gpc files' texts and trees, for pass 2 (open documents use their own). */
	trees: SourceTrees;
	/** What the last analysis saw of each open document, by URI. */
	seen: Map<string, { text: string; facts?: FileFacts }>;
	/** Something besides open documents' text changed since the last analysis (settings, index, open, close). */
	stale: boolean;
	/** Files closed in the editor since the index: the disk may differ from what the index saw. */
	reread: Set<string>;
	/** Bumped by every change that schedules an analysis: a background analysis seeing it stops. */
	changes: number;
}

/** LSP work-done progress, as the server creates it. */
export interface WorkspaceProgress {
	report(done: number, total: number, message?: string): void;
	done(): void;
}

export interface WorkspaceHost {
	publish(uri: string, diagnostics: Diagnostic[]): void;
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
}

const LOOSE = '<loose>';
/** A background analysis runs this long at most before requests get a turn. */
const ANALYSIS_SLICE_MS = 20;

interface AnalysisJob {
	docs: { uri: string; file: string; text: string; tree: Tree }[];
	versionsAtStart: Map<string, number>;
	sources: SourceFile[];
	docFacts: Map<string, FileFacts>;
	hooks: EngineHooks;
}
const MENTIONS_GPC = /\b(gfn_to_pfn_cache|kvm_gpc_\w+|kvm_gfn_to_pfn_cache_\w+|khva|KVM_(GUEST|HOST)_USES_PFN)\b/;

export class Workspace {
	private readonly folders = new Map<string, Folder>();
	private readonly documents: DocumentTrees;
	private readonly versions = new Map<string, number>();
	/** Documents changed since their diagnostics were last published: they are republished even if unchanged. */
	private readonly edited = new Set<string>();
	/** Open documents over the size limit (logged once). */
	private readonly oversized = new Set<string>();
	private readonly cacheDir: string | undefined;

	constructor(
		private readonly engine: Engine,
		private readonly host: WorkspaceHost,
		private settings: Settings,
		private readonly options: WorkspaceOptions = {},
	) {
		this.documents = new DocumentTrees(engine.parser, () => this.settings.indexMaxFileSizeKB * 1024);
		this.cacheDir = options.cacheDir === null ? undefined : options.cacheDir ?? defaultCacheDir();
		this.folders.set(LOOSE, this.newFolder(LOOSE));
	}

	/** Indexes a folder's C sources (cancelling an index of it still running), then analyses it. */
	async index(path: string): Promise<void> {
		let root: string;
		try {
			root = resolveRoot(path).root;
		} catch (e) {
			this.host.log(`cannot index ${path}: ${(e as Error).message}`);
			return;
		}
		let folder = this.folders.get(root);
		if (!folder) this.folders.set(root, (folder = this.newFolder(root)));
		const generation = ++folder.generation;
		const run = this.runIndex(folder, generation);
		folder.indexing = run;
		await run;
		if (folder.generation !== generation) return;
		folder.indexing = undefined;
		folder.stale = true;
		await this.analyzeInBackground(folder, generation);
	}

	async reindex(): Promise<void> {
		await Promise.all([...this.folders.keys()].filter((root) => root !== LOOSE).map((root) => this.index(root)));
		this.analyzeNow(this.folders.get(LOOSE)!);
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
			if (indexChanged && folder.root !== LOOSE) void this.index(folder.root);
			else {
				folder.stale = true;
				this.schedule(folder, 0);
			}
		}
	}

	open(uri: string, version: number, text: string): void {
		this.documents.open(uri, text);
		this.noteOversized(uri);
		this.versions.set(uri, version);
		this.edited.add(uri);
		const folder = this.folderOf(uri);
		// The editor's tree wins over the disk's.
		if (folder.root !== LOOSE) folder.trees.drop(URI.parse(uri).fsPath);
		folder.stale = true;
		this.schedule(folder, 0);
	}

	change(uri: string, version: number, changes: readonly TextChange[]): void {
		this.documents.change(uri, changes);
		this.noteOversized(uri);
		this.versions.set(uri, version);
		this.edited.add(uri);
		this.schedule(this.folderOf(uri), this.settings.debounceMs);
	}

	close(uri: string): void {
		this.documents.close(uri);
		this.oversized.delete(uri);
		this.versions.delete(uri);
		this.edited.delete(uri);
		const folder = this.folderOf(uri);
		folder.seen.delete(uri);
		if (folder.root === LOOSE) this.host.publish(uri, []);
		else {
			// It may have been saved: its disk text and facts are read again.
			folder.trees.drop(URI.parse(uri).fsPath);
			folder.reread.add(this.relativeFile(folder, uri));
		}
		folder.stale = true;
		this.schedule(folder, 0);
	}

	/**
	 * Files changed on disk (workspace/didChangeWatchedFiles). A changed file the index knows
	 * is read again at the next analysis; a created or deleted one changes what is indexed, so
	 * its folder is indexed again (the cache keeps that cheap). Open documents win over the disk.
	 */
	filesChanged(changes: readonly { uri: string; kind: 'created' | 'changed' | 'deleted' }[]): void {
		const reindex = new Set<Folder>();
		for (const { uri, kind } of changes) {
			const folder = this.folderOf(uri);
			if (folder.root === LOOSE || this.versions.has(uri)) continue;
			const file = this.relativeFile(folder, uri);
			const known = folder.index?.sources.some((s) => s.file === file);
			if (kind === 'changed' && !known) continue;
			if (kind !== 'changed' || folder.indexing) {
				reindex.add(folder);
				continue;
			}
			folder.trees.drop(URI.parse(uri).fsPath);
			folder.reread.add(file);
			folder.stale = true;
			this.schedule(folder, 0);
		}
		for (const folder of reindex) void this.index(folder.root);
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
		this.host.publish(uri, []);
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
		const folders = [...this.folders.values()];
		const results = folders.filter((f) => f.result);
		const first = results.find((f) => f.root !== LOOSE) ?? results[0];
		// No gpc file indexed: the era is only the engine's default, not something to show.
		const era = first?.index?.sources.length ? first.result?.era : undefined;
		return {
			state: folders.some((f) => f.indexing) ? 'indexing' : 'ready',
			apiEra: era?.era,
			eraEvidence: era?.evidence,
			filesScanned: folders.reduce((n, f) => n + f.scanned, 0),
			filesIndexed: folders.reduce((n, f) => n + (f.index?.sources.length ?? 0), 0),
			findings: results.reduce((n, f) => n + (f.result?.findings.length ?? 0), 0),
		};
	}

	dispose(): void {
		for (const f of this.folders.values()) {
			clearTimeout(f.timer);
			f.generation++;
			f.trees.dispose();
		}
		this.documents.dispose();
	}

	private newFolder(root: string): Folder {
		return { root, generation: 0, scanned: 0, published: new Map(), trees: new SourceTrees(this.engine.parser), seen: new Map(), stale: true, reread: new Set(), changes: 0 };
	}

	private async runIndex(folder: Folder, generation: number): Promise<void> {
		const progress = this.host.progress?.('gpcscope: indexing');
		this.host.status({ ...this.status(), state: 'indexing' });
		let lastStatus = 0;
		try {
			const index = await indexTree(folder.root, {
				include: this.settings.indexInclude,
				exclude: this.settings.indexExclude,
				maxFileBytes: this.settings.indexMaxFileSizeKB * 1024,
				jobs: this.options.jobs,
				cacheDir: this.cacheDir,
				log: (m) => this.host.log(m),
				cancelled: () => folder.generation !== generation,
				// gpc files keep their tree for pass 2; one that changed on disk is parsed afresh.
				onGpcFile: (file, abs, read, facts) => {
					if (read) folder.trees.drop(abs);
					if (facts || this.isOpen(abs)) return undefined;
					const tree = folder.trees.tree(abs);
					return tree && extractFacts(file, tree);
				},
				onProgress: (phase, done, total) => {
					if (folder.generation !== generation) return;
					progress?.report(done, total, `${phase === 'scan' ? 'scanning' : 'parsing'} ${done}/${total} files`);
					const now = performance.now();
					if (now - lastStatus > 250) {
						lastStatus = now;
						this.host.status({ ...this.status(), state: 'indexing', filesScanned: phase === 'scan' ? done : folder.scanned });
					}
				},
			});
			if (folder.generation !== generation) return;
			for (const s of index.skipped) this.host.log(`skipped ${s.file}: ${s.reason}`);
			const st = index.stats;
			this.host.log(
				`indexed ${folder.root}: ${st.scanned} C files, ${st.matched} mention the gpc API, ${index.sources.length} indexed ` +
					`(${st.parsed} parsed, ${st.factsFromCache} from the cache: ${st.cache}), ${st.jobs} thread${st.jobs > 1 ? 's' : ''}, ${st.ms} ms`,
			);
			folder.index = index;
			folder.scanned = st.scanned;
			folder.reread.clear();
			index.persist();
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

	private schedule(folder: Folder, delay: number): void {
		folder.changes++;
		clearTimeout(folder.timer);
		folder.timer = setTimeout(() => this.analyzeNow(folder), delay);
	}

	/** The folder's open documents. */
	private openDocuments(folder: Folder): { uri: string; file: string; text: string; tree: Tree }[] {
		const out = [];
		for (const uri of this.versions.keys()) {
			if (this.folderOf(uri) !== folder) continue;
			const doc = this.documents.get(uri);
			if (doc) out.push({ uri, file: this.relativeFile(folder, uri), text: doc.text, tree: doc.tree });
		}
		return out;
	}

	private analyzeNow(folder: Folder): void {
		clearTimeout(folder.timer);
		folder.changes++;
		const job = this.prepareAnalysis(folder);
		if (!job) return;
		let result: EngineResult;
		try {
			result = this.engine.analyze(job.sources, engineOptions(this.settings), job.hooks);
		} catch (e) {
			this.analysisFailed(folder, e as Error);
			return;
		}
		this.finishAnalysis(folder, job, result);
	}

	/**
	 * The analysis after an index (of thousands of files, it may take seconds): in slices, so
	 * that requests are answered meanwhile. Any change to the folder, or a newer index, stops
	 * it; that change has scheduled the analysis that replaces it.
	 */
	private async analyzeInBackground(folder: Folder, generation: number): Promise<void> {
		clearTimeout(folder.timer);
		const changes = ++folder.changes;
		const job = this.prepareAnalysis(folder);
		if (!job) return;
		let result: EngineResult | undefined;
		try {
			result = await this.engine.analyzeYielding(job.sources, engineOptions(this.settings), job.hooks, {
				sliceMs: ANALYSIS_SLICE_MS,
				cancelled: () => folder.changes !== changes || folder.generation !== generation,
			});
		} catch (e) {
			this.analysisFailed(folder, e as Error);
			return;
		}
		if (result) this.finishAnalysis(folder, job, result);
	}

	private analysisFailed(folder: Folder, e: Error): void {
		this.host.log(`analysis of ${folder.root} failed: ${e.stack ?? e}`);
		this.host.status({ ...this.status(), state: 'error', message: e.message });
	}

	/** The sources of the folder's analysis, or undefined when none is needed (indexing, or an edit that only moves the result). */
	private prepareAnalysis(folder: Folder): AnalysisJob | undefined {
		// The index's completion analyses the folder.
		if (folder.indexing) return undefined;
		const docs = this.openDocuments(folder);
		if (!folder.stale && folder.result && this.moveOnly(folder, docs)) return undefined;

		const versionsAtStart = new Map(this.versions);
		const sources = new Map<string, SourceFile>();
		for (const s of folder.index?.sources ?? []) {
			const abs = `${folder.root}/${s.file}`;
			const facts = folder.reread.has(s.file) ? undefined : s.facts;
			if (s.summariesOnly) sources.set(s.file, { ...s, facts });
			else sources.set(s.file, { file: s.file, read: () => folder.trees.text(abs), tree: () => folder.trees.tree(abs), facts });
		}
		const docOf = new Map<string, { uri: string; text: string }>();
		for (const doc of docs) {
			const known = sources.get(doc.file);
			const mentions = MENTIONS_GPC.test(doc.text);
			if (!mentions && !known) continue;
			// Facts computed for exactly this text (by an earlier analysis, or by the index when
			// the editor holds what the disk does) are reused.
			const seen = folder.seen.get(doc.uri);
			let facts = seen?.text === doc.text ? seen.facts : undefined;
			// An edit inside one function: only that function's facts are extracted again.
			if (!facts && seen?.facts) facts = editedFacts(doc.file, seen.text, seen.facts, doc.text, doc.tree);
			const indexed = folder.index?.hashes.get(doc.file);
			if (!facts && known?.facts && indexed && !folder.reread.has(doc.file) && contentHash(Buffer.from(doc.text, 'utf8')) === indexed) facts = known.facts;
			// The document's tree at the time it is asked for (a background analysis outlives edits).
			sources.set(doc.file, { file: doc.file, read: () => doc.text, tree: () => this.documents.get(doc.uri)?.tree, facts, summariesOnly: !mentions && known?.summariesOnly });
			docOf.set(doc.file, { uri: doc.uri, text: doc.text });
		}
		const docFacts = new Map<string, FileFacts>();
		const hooks = {
			onFacts: (file: string, facts: FileFacts) => {
				if (docOf.has(file)) docFacts.set(file, facts);
			},
		};
		return { docs, versionsAtStart, sources: [...sources.values()], docFacts, hooks };
	}

	private finishAnalysis(folder: Folder, job: AnalysisJob, result: EngineResult): void {
		const { docs, versionsAtStart, docFacts } = job;
		for (const s of result.skipped) this.host.log(`analysis skipped ${s.file}: ${s.reason}`);
		// Text changed while we analysed: a newer analysis is scheduled; drop this one.
		for (const [uri, v] of this.versions) {
			if (this.folderOf(uri) === folder && versionsAtStart.get(uri) !== v) return;
		}
		folder.seen.clear();
		for (const doc of docs) {
			const facts = docFacts.get(doc.file) ?? job.sources.find((s) => s.file === doc.file)?.facts ?? result.facts.find((f) => f.file === doc.file);
			folder.seen.set(doc.uri, { text: doc.text, facts });
		}
		folder.stale = false;
		folder.result = result;
		this.publish(folder, result);
		this.host.status(this.status());
	}

	/**
	 * Edits that cannot change a finding: a document the analysis does not use that still
	 * does not mention the gpc API, or an edit inside a function that neither touches the
	 * API nor calls what does, with the same callees. The result only moves.
	 */
	private moveOnly(folder: Folder, docs: { uri: string; file: string; text: string; tree: Tree }[]): boolean {
		const changed = docs.filter((d) => folder.seen.get(d.uri)?.text !== d.text);
		if (changed.length > 1) return false;
		let result = folder.result!;
		if (changed.length === 1) {
			const doc = changed[0];
			const seen = folder.seen.get(doc.uri);
			if (!seen) return false;
			const used = result.facts.some((f) => f.file === doc.file);
			if (!used) {
				if (MENTIONS_GPC.test(doc.text)) return false;
				folder.seen.set(doc.uri, { text: doc.text });
			} else {
				if (!seen.facts) return false;
				const edit = localEdit(doc.file, seen.text, seen.facts, doc.text, doc.tree, gpcUsers(result.facts));
				if (!edit) return false;
				result = shiftResult(result, doc.file, edit);
				folder.seen.set(doc.uri, { text: doc.text, facts: edit.facts });
			}
		}
		folder.result = result;
		this.publish(folder, result);
		return true;
	}

	private publish(folder: Folder, result: EngineResult): void {
		const byUri = new Map<string, Diagnostic[]>();
		const uriOf = (file: string) => this.uriOf(folder, file);
		for (const f of result.findings) {
			const uri = uriOf(f.file);
			if (!byUri.has(uri)) byUri.set(uri, []);
			byUri.get(uri)!.push(toDiagnostic(f, uriOf));
		}
		const next = new Map<string, string>();
		for (const [uri, diagnostics] of byUri) {
			const key = JSON.stringify(diagnostics);
			next.set(uri, key);
			if (folder.published.get(uri) !== key || this.edited.has(uri)) this.host.publish(uri, diagnostics);
		}
		for (const uri of folder.published.keys()) if (!byUri.has(uri)) this.host.publish(uri, []);
		// An edited document hears back even when nothing changed: its diagnostics are current.
		for (const uri of this.edited) {
			if (this.folderOf(uri) === folder && !byUri.has(uri) && !folder.published.has(uri)) this.host.publish(uri, []);
		}
		for (const uri of [...this.edited]) if (this.folderOf(uri) === folder) this.edited.delete(uri);
		folder.published = next;
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

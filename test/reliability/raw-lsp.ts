// A byte-level LSP client for abuse tests: it frames (or deliberately mis-frames) JSON-RPC
// itself, answers the server's own requests as told (including with errors), and records
// everything the server sends and whether it exits.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Message {
	jsonrpc?: string;
	id?: number | string | null;
	method?: string;
	params?: unknown;
	result?: unknown;
	error?: { code: number; message: string };
}

type ServerRequestHandler = (params: unknown) => { result?: unknown; error?: { code: number; message: string } };

export class RawServer {
	readonly messages: Message[] = [];
	readonly stderr: string[] = [];
	exitCode: number | null | undefined = undefined;
	readonly exited: Promise<number | null>;
	private buffer = Buffer.alloc(0);
	private nextId = 1000;
	private readonly waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
	private readonly handlers = new Map<string, ServerRequestHandler>();

	private constructor(readonly child: ChildProcess) {
		child.stdout!.on('data', (d: Buffer) => this.onData(d));
		child.stderr!.on('data', (d: Buffer) => this.stderr.push(d.toString()));
		// Writes after the server died must not throw in the test process.
		child.stdin!.on('error', () => undefined);
		this.exited = new Promise((resolve) => child.on('exit', (code) => resolve((this.exitCode = code))));
		this.answer('workspace/configuration', (p) => ({ result: ((p as { items?: unknown[] })?.items ?? []).map(() => ({})) }));
		this.answer('window/workDoneProgress/create', () => ({ result: null }));
		this.answer('client/registerCapability', () => ({ result: null }));
		this.answer('window/showMessageRequest', () => ({ result: null }));
	}

	static spawn(cli: string, args: string[] = ['lsp', '--stdio']): RawServer {
		return new RawServer(spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
	}

	/** A server process started some other way (under strace, say). */
	static wrap(child: ChildProcess): RawServer {
		return new RawServer(child);
	}

	/** How the client answers a request the server sends it. */
	answer(method: string, handler: ServerRequestHandler): void {
		this.handlers.set(method, handler);
	}

	get alive(): boolean {
		return this.exitCode === undefined;
	}

	sendRaw(bytes: string | Buffer): void {
		if (this.alive) this.child.stdin!.write(bytes);
	}

	frame(body: string | Buffer): Buffer {
		const b = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
		return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`, 'ascii'), b]);
	}

	send(message: unknown): void {
		this.sendRaw(this.frame(JSON.stringify(message)));
	}

	notify(method: string, params?: unknown): void {
		this.send({ jsonrpc: '2.0', method, params });
	}

	/** Sends a request and resolves with its response (result or error), or rejects after a timeout. */
	request(method: string, params?: unknown, timeoutMs = 20_000): Promise<Message> {
		const id = this.nextId++;
		const response = this.response(id, timeoutMs);
		this.send({ jsonrpc: '2.0', id, method, params });
		return response;
	}

	response(id: number | string, timeoutMs = 20_000): Promise<Message> {
		return this.waitFor((m) => m.id === id && m.method === undefined, timeoutMs, `response to ${id}`);
	}

	waitFor(match: (m: Message) => boolean, timeoutMs = 20_000, what = 'message'): Promise<Message> {
		const seen = this.messages.find(match);
		if (seen) return Promise.resolve(seen);
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms (server ${this.alive ? 'alive' : `exited ${this.exitCode}`}; stderr: ${this.stderr.join('').slice(-2000)})`)), timeoutMs);
			this.waiters.push({ match, resolve: (m) => { clearTimeout(timer); resolve(m); } });
		});
	}

	newId(): number {
		return this.nextId++;
	}

	async initialize(rootUri: string | null = null, capabilities: Record<string, unknown> = { workspace: { configuration: true }, window: { workDoneProgress: true } }): Promise<Message> {
		const r = await this.request('initialize', { processId: process.pid, rootUri, workspaceFolders: rootUri ? [{ uri: rootUri, name: 'root' }] : null, capabilities });
		this.notify('initialized', {});
		return r;
	}

	async shutdown(): Promise<void> {
		if (!this.alive) return;
		await this.request('shutdown', null, 10_000).catch(() => undefined);
		this.notify('exit');
		const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
		await this.exited;
		clearTimeout(timer);
	}

	kill(): void {
		if (this.alive) this.child.kill('SIGKILL');
	}

	private onData(d: Buffer): void {
		this.buffer = Buffer.concat([this.buffer, d]);
		for (;;) {
			const headerEnd = this.buffer.indexOf('\r\n\r\n');
			if (headerEnd < 0) return;
			const m = /Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'));
			if (!m) throw new Error(`bad frame from server: ${this.buffer.subarray(0, headerEnd).toString()}`);
			const length = Number(m[1]);
			if (this.buffer.length < headerEnd + 4 + length) return;
			const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
			this.buffer = this.buffer.subarray(headerEnd + 4 + length);
			this.onMessage(JSON.parse(body) as Message);
		}
	}

	private onMessage(m: Message): void {
		this.messages.push(m);
		if (m.method && m.id !== undefined) {
			const h = this.handlers.get(m.method);
			const reply = h ? h(m.params) : { error: { code: -32601, message: `test client: unhandled ${m.method}` } };
			this.send({ jsonrpc: '2.0', id: m.id, ...reply });
		}
		for (const w of [...this.waiters]) {
			if (w.match(m)) {
				this.waiters.splice(this.waiters.indexOf(w), 1);
				w.resolve(m);
			}
		}
	}
}

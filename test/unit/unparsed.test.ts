// What gpcscope could not analyse is said, once per file: gpc code that
// tree-sitter could not parse (an ERROR region over the body of a function
// that uses the gpc API, gpc calls in no function) gets a notice with code
// gpc-unparsed: a stderr line from the CLI, a SARIF tool notification, counts
// in the JSON stats, and in the editor a hint at the function's name, a log
// line and the status detail. Silence there is no clean bill.
import Ajv from 'ajv-draft-04';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { URI } from 'vscode-uri';
import { afterEach, describe, expect, it } from 'vitest';
import { engine, FIXTURES, REPO } from '../helpers';
import { initialize, inProcessClient, type TestClient } from '../lsp-client';

const FIXTURE = join(FIXTURES, 'unparsed', 'xen-6.12.c');
const TEXT = readFileSync(FIXTURE, 'utf8');
const CLI = join(REPO, 'dist', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: REPO });

let client: TestClient | undefined;
afterEach(async () => {
	await client?.close();
	client = undefined;
});

describe('unparsed gpc code', () => {
	it('is one notice per file, at the name of the function whose body tree-sitter could not parse', async () => {
		const r = (await engine()).analyze([{ file: 'arch/x86/kvm/xen.c', read: () => TEXT }]);
		expect(r.unparsed).toHaveLength(1);
		const [n] = r.unparsed;
		expect(n.functions).toEqual([{ name: 'xen_shinfo_wc_version()', line: 27 }]);
		expect(n.range).toEqual({ start: { line: 27, character: 11 }, end: { line: 27, character: 32 } });
		expect(n.message).toMatch(/could not parse all of the gpc code here: xen_shinfo_wc_version\(\) \(line 28\)/);
		// Not a finding: nothing of the catalogue is reported, and the exit status stays clean.
		expect(r.findings).toEqual([]);
	});

	it('names gpc calls that lie in no function at all', async () => {
		// `int __noendbr f(void)`: tree-sitter reads `int __noendbr` as a declaration missing its `;`,
		// and the rest as a definition with no declarator; the parser lost the function (the
		// normalisation blanks the annotations it knows, like `__init`, not this one).
		const lost = 'struct gfn_to_pfn_cache { rwlock_t lock; };\nbool kvm_gpc_check(struct gfn_to_pfn_cache *gpc, unsigned long len);\n' +
			'static struct gfn_to_pfn_cache boot_gpc;\n\nint __noendbr xen_boot_check(void)\n{\n\treturn kvm_gpc_check(&boot_gpc, 8);\n}\n';
		const r = (await engine()).analyze([{ file: 'lost.c', read: () => lost }]);
		expect(r.unparsed.map((n) => n.functions.map((f) => f.name))).toEqual([['kvm_gpc_check() outside any function']]);
		expect(r.unparsed[0].range).toEqual({ start: { line: 6, character: 8 }, end: { line: 6, character: 21 } });
	});

	it('is silent for a tree that tree-sitter parses whole', async () => {
		const whole = TEXT.replace(/#ifdef CONFIG_X86_64\n/, '').replace(/\} else\n#else\n[^#]*#endif\n\t\{/, '} else {');
		const r = (await engine()).analyze([{ file: 'arch/x86/kvm/xen.c', read: () => whole }]);
		expect(r.unparsed).toEqual([]);
	});

	it('gets a stderr line from the CLI (not with --quiet), counts in the JSON stats and a SARIF tool notification', () => {
		const text = run('check', '--no-cache', FIXTURE);
		expect(text.status).toBe(0);
		expect(text.stdout).toBe('');
		expect(text.stderr).toMatch(/^gpcscope: gpc code tree-sitter could not parse, not analysed there \[gpc-unparsed\]: xen-6\.12\.c \(xen_shinfo_wc_version\(\)\)$/m);
		expect(run('check', '--no-cache', '--quiet', FIXTURE).stderr).toBe('');
		const json = JSON.parse(run('check', '--no-cache', '--format', 'json', FIXTURE).stdout);
		expect(json.diagnostics).toEqual([]);
		expect(json.stats).toMatchObject({ unparsedGpcFiles: 1, unparsedGpcFunctions: 1 });
		const sarif = JSON.parse(run('check', '--no-cache', '--format', 'sarif', FIXTURE).stdout);
		const schema = JSON.parse(readFileSync(join(REPO, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
		const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(schema);
		expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 5), null, 1)).toBe(true);
		expect(sarif.runs[0].results).toEqual([]);
		const [note] = sarif.runs[0].invocations[0].toolExecutionNotifications;
		expect(note).toMatchObject({ descriptor: { id: 'gpc-unparsed' }, level: 'note' });
		expect(note.locations[0].physicalLocation.region).toMatchObject({ startLine: 28, startColumn: 12 });
	});

	it('is a hint at the function name in the editor, a log line and part of the status detail', async () => {
		const logs: string[] = [];
		client = inProcessClient();
		client.rpc.onNotification('window/logMessage', (m: { message: string }) => logs.push(m.message));
		await initialize(client, null);
		const uri = URI.file(join(REPO, 'test', 'scratch-unparsed.c')).toString();
		client.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text: TEXT } });
		const diagnostics = await client.diagnostics(uri);
		expect(diagnostics).toHaveLength(1);
		expect(diagnostics[0]).toMatchObject({ code: 'gpc-unparsed', source: 'gpcscope', severity: 4, range: { start: { line: 27, character: 11 } } });
		expect(diagnostics[0].codeDescription?.href).toMatch(/docs\/decisions\.md$/);
		const status = await client.ready();
		expect(status.unparsedFiles).toBe(1);
		expect(logs.some((l) => /scratch-unparsed\.c: tree-sitter could not parse all of the gpc code here: xen_shinfo_wc_version\(\)/.test(l) && /\[gpc-unparsed\]$/.test(l))).toBe(true);
	});
});

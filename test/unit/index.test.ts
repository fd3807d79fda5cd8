// The indexer: walk (.gitignore, include/exclude, symlinks, size limit), the
// byte-level prefilter, workers versus this thread, and the persistent cache
// (warm starts, changed files, corrupt and stale caches).
import fc from 'fast-check';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractFacts } from '../../server/src/analysis/facts';
import { IndexCache } from '../../server/src/index/cache';
import { IndexCancelled, indexTree } from '../../server/src/index/indexer';
import { workerScript } from '../../server/src/index/pool';
import { mentionsGpc } from '../../server/src/index/prefilter';
import { GPC_IDENTIFIER } from '../../server/src/vocabulary';
import { createCParser, withTree } from '../../server/src/parse/parser';
import { DEMO, FIXTURES, indexed } from '../helpers';

const GPC_FILE = [
	'#include <linux/kvm_host.h>',
	'static void peek(struct gfn_to_pfn_cache *gpc)',
	'{',
	'\tread_lock(&gpc->lock);',
	'\tif (kvm_gpc_check(gpc, 8))',
	'\t\t*(u64 *)gpc->khva = 0;',
	'\tread_unlock(&gpc->lock);',
	'}',
	'',
].join('\n');
const PLAIN_FILE = 'static int helper(void)\n{\n\tmutex_lock(&m);\n\treturn 0;\n}\n';

function tree(files: Record<string, string>): string {
	const root = mkdtempSync(join(tmpdir(), 'gpcscope-index-'));
	for (const [path, text] of Object.entries(files)) {
		mkdirSync(join(root, path, '..'), { recursive: true });
		writeFileSync(join(root, path), text);
	}
	return root;
}

const files = (sources: { file: string; summariesOnly?: boolean }[]) => sources.map((s) => `${s.file}${s.summariesOnly ? ' (neighbour)' : ''}`);

describe('prefilter', () => {
	it('agrees with the identifier regex on arbitrary text', () => {
		const pieces = ['gfn_to_pfn_cache', 'kvm_gpc_check', 'kvm_gpc_', 'kvm_gfn_to_pfn_cache_refresh', 'khva', 'pfn_cache_usage', 'KVM_GUEST_USES_PFN', 'KVM_HOST_USES_PFN', 'USES_PFN', 'pfn_cache', 'kvm_gpc', 'xkhva', 'khvax', '_', ' ', '\n', 'a', '(', '\0'];
		fc.assert(
			fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (parts) => {
				const text = parts.join('');
				expect(mentionsGpc(Buffer.from(text, 'latin1'))).toBe(GPC_IDENTIFIER.test(text));
			}),
			{ numRuns: 2000 },
		);
	});
});

describe('walk and scan', () => {
	it('honours .gitignore only inside a git work tree, as git does', async () => {
		const files = { '.gitignore': '/*\n!/keep/\n', 'keep/a.c': GPC_FILE, 'other/b.c': GPC_FILE };
		const plain = tree(files);
		expect((await indexed(plain)).sources.map((s) => s.file)).toEqual(['keep/a.c', 'other/b.c']);
		const repo = tree({ ...files, '.git/HEAD': 'ref: refs/heads/main\n', 'keep/sub/.gitignore': 'gen.c\n!*.h\n', 'keep/sub/gen.c': GPC_FILE, 'keep/sub/x.h': GPC_FILE });
		expect((await indexed(repo)).sources.map((s) => s.file)).toEqual(['keep/a.c', 'keep/sub/x.h']);
		expect((await indexed(repo, { gitignore: false })).sources.map((s) => s.file)).toContain('other/b.c');
	});

	it('applies include and exclude patterns (gitignore syntax)', async () => {
		const root = tree({ 'arch/x86/kvm/xen.c': GPC_FILE, 'drivers/gpu/g.c': GPC_FILE, 'virt/kvm/pfncache.c': GPC_FILE, 'tools/t.c': GPC_FILE });
		expect((await indexed(root, { exclude: ['drivers/', 'tools'] })).sources.map((s) => s.file)).toEqual(['arch/x86/kvm/xen.c', 'virt/kvm/pfncache.c']);
		expect((await indexed(root, { include: ['arch/x86/kvm/'] })).sources.map((s) => s.file)).toEqual(['arch/x86/kvm/xen.c']);
	});

	it('never follows a symlink, inside the root or out of it', async () => {
		const outside = tree({ 'secret/s.c': GPC_FILE });
		const root = tree({ 'a/a.c': GPC_FILE });
		symlinkSync(join(outside, 'secret'), join(root, 'out'));
		symlinkSync(join(root, 'a', 'a.c'), join(root, 'a', 'again.c'));
		symlinkSync(root, join(root, 'loop'));
		const scan = await indexed(root);
		expect(scan.sources.map((s) => s.file)).toEqual(['a/a.c']);
		expect(scan.stats.scanned).toBe(1);
	});

	it('skips files over the size limit without reading them, and binaries, each with a reason', async () => {
		const root = tree({ 'big.h': `/* khva */\n${'x'.repeat(5000)}`, 'bin.c': `int khva;\0\0\0`, 'ok.c': GPC_FILE });
		const scan = await indexed(root, { maxFileBytes: 4096 });
		expect(scan.sources.map((s) => s.file)).toEqual(['ok.c']);
		expect(scan.skipped.map((s) => s.file).sort()).toEqual(['big.h', 'bin.c']);
		expect(scan.skipped.find((s) => s.file === 'big.h')!.reason).toMatch(/larger than 4096 bytes \(5011\)/);
		expect(scan.skipped.find((s) => s.file === 'bin.c')!.reason).toMatch(/binary/);
	});

	it('reads the neighbours of gpc .c files for their call graph only', async () => {
		const root = tree({ 'kvm/xen.c': GPC_FILE, 'kvm/lapic.c': PLAIN_FILE, 'kvm/lapic.h': PLAIN_FILE, 'mm/other.c': PLAIN_FILE, 'inc/x.h': GPC_FILE, 'inc/y.h': PLAIN_FILE });
		expect(files((await indexed(root)).sources)).toEqual(['inc/x.h', 'kvm/xen.c', 'kvm/lapic.c (neighbour)', 'kvm/lapic.h (neighbour)']);
	});
});

describe('indexTree', () => {
	const trees = [DEMO, ...readdirSync(FIXTURES).map((d) => join(FIXTURES, d, 'bad')).filter((d) => existsSync(d))];

	it('selects the same sources in the same order with and without workers', async () => {
		for (const root of trees) {
			const index = await indexTree(root, { jobs: 2 });
			expect(files(index.sources), root).toEqual(files((await indexed(root)).sources));
		}
	});

	it('computes the same facts in workers as in this thread, as plain JSON data', async () => {
		expect(workerScript(), 'npm run build makes dist/worker.js').toBeDefined();
		const root = tree({ 'kvm/xen.c': GPC_FILE, 'kvm/lapic.c': PLAIN_FILE, 'kvm/i8254.c': PLAIN_FILE.replace('helper', 'pit') });
		const one = await indexTree(root, { jobs: 1 });
		const two = await indexTree(root, { jobs: 2 });
		expect(two.stats.jobs).toBe(2);
		const neighbours = (r: typeof one) => r.sources.filter((s) => s.summariesOnly).map((s) => s.facts);
		expect(neighbours(two)).toEqual(neighbours(one));
		for (const facts of neighbours(two)) {
			expect(facts).toBeDefined();
			expect(JSON.parse(JSON.stringify(facts))).toEqual(facts);
		}
	});

	it('stops when cancelled', async () => {
		await expect(indexTree(DEMO, { jobs: 2, cancelled: () => true })).rejects.toBeInstanceOf(IndexCancelled);
	});
});

describe('persistent cache', () => {
	it('makes a warm start stat files instead of reading them, and reuse every fact', async () => {
		const cacheDir = mkdtempSync(join(tmpdir(), 'gpcscope-cache-'));
		const root = tree({ 'kvm/xen.c': GPC_FILE, 'kvm/lapic.c': PLAIN_FILE, 'mm/a.c': PLAIN_FILE, 'mm/b.h': PLAIN_FILE });
		// Files changed within 2 s of a scan may change again unseen within one timestamp: not cached.
		await new Promise((resolve) => setTimeout(resolve, 2100));
		const parser = await createCParser();
		// The caller parses gpc files (pass 2 needs their trees) and hands back their facts.
		const onGpcFile = (file: string, abs: string) => withTree(parser, readFileSync(abs, 'utf8'), (t) => extractFacts(file, t));
		const cold = await indexTree(root, { jobs: 2, cacheDir, onGpcFile });
		parser.delete();
		expect(cold.stats.cache).toBe('cold');
		expect(cold.stats.read).toBe(4);
		cold.persist();
		const warm = await indexTree(root, { jobs: 2, cacheDir });
		expect(warm.stats.cache).toBe('warm');
		expect(warm.stats.read).toBe(0);
		expect(warm.stats.parsed).toBe(0);
		expect(warm.stats.factsFromCache).toBe(2);
		expect(warm.sources.every((s) => s.facts)).toBe(true);
		expect(warm.sources.map((s) => s.facts)).toEqual(cold.sources.map((s) => s.facts));

		// A changed neighbour is read and parsed again; nothing else is.
		writeFileSync(join(root, 'kvm/lapic.c'), PLAIN_FILE.replace('return 0', 'return 1'));
		const changed = await indexTree(root, { jobs: 1, cacheDir });
		expect(changed.stats.read).toBe(1);
		expect(changed.stats.parsed).toBe(1);
		expect(changed.stats.factsFromCache).toBe(1);

		// A deleted file leaves the cache.
		rmSync(join(root, 'mm/b.h'));
		const gone = await indexTree(root, { jobs: 1, cacheDir });
		expect(gone.stats.scanned).toBe(3);
		gone.persist();
		expect(IndexCache.open(cacheDir, gone.root).record('mm/b.h')).toBeUndefined();
		expect(IndexCache.open(cacheDir, gone.root).record('mm/a.c')).toBeDefined();
	});

	it('detects a corrupt or stale cache and rebuilds it', async () => {
		const cacheDir = mkdtempSync(join(tmpdir(), 'gpcscope-cache-'));
		const root = tree({ 'kvm/xen.c': GPC_FILE, 'kvm/lapic.c': PLAIN_FILE });
		const first = await indexTree(root, { jobs: 1, cacheDir });
		first.persist();
		const path = first.cache!.file;
		const good = readFileSync(path, 'utf8');

		writeFileSync(path, good.replace('"format":1', '"format":1 '));
		const logs: string[] = [];
		const corrupt = await indexTree(root, { jobs: 1, cacheDir, log: (m) => logs.push(m) });
		expect(corrupt.stats.cache).toMatch(/^corrupt/);
		expect(corrupt.stats.read).toBe(2);
		expect(logs.join('\n')).toMatch(/corrupt.*rebuilding/);
		corrupt.persist();
		expect(IndexCache.open(cacheDir, first.root).status).toBe('warm');

		writeFileSync(path, 'not a cache at all');
		expect(IndexCache.open(cacheDir, first.root).status).toMatch(/^corrupt/);

		// Another engine version: the checksum is right, the content is not ours.
		const body = JSON.parse(good.slice(good.indexOf('\n') + 1));
		body.engine = 'someone-else';
		const text = JSON.stringify(body);
		const { createHash } = await import('node:crypto');
		writeFileSync(path, `${createHash('sha1').update(text).digest('hex')}\n${text}`);
		expect(IndexCache.open(cacheDir, first.root).status).toMatch(/^stale \(engine someone-else/);
	});
});

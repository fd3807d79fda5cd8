// The indexer: walk (.gitignore, include/exclude, symlinks, size limit), the
// byte-level prefilter, workers versus this thread, and the persistent cache
// (warm starts, changed files, corrupt and stale caches).
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractFacts } from '../../server/src/analysis/facts';
import { IndexCache } from '../../server/src/index/cache';
import { IndexCancelled, indexTree } from '../../server/src/index/indexer';
import { workerScript } from '../../server/src/index/pool';
import { SignatureScan } from '../../server/src/index/signatures';
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

/** A cache file (cache.ts's format) with its JSON header changed, and checksummed again. */
function rewriteHeader(file: Buffer, change: (header: Record<string, unknown>) => Record<string, unknown>): Buffer {
	const body = file.subarray(41);
	const nl = body.indexOf(10);
	let at = 41 + nl + 1;
	at += (8 - (at % 8)) % 8;
	const head = Buffer.from(`${JSON.stringify(change(JSON.parse(body.toString('utf8', 0, nl))))}\n`);
	const rest = Buffer.concat([head, Buffer.alloc((8 - ((41 + head.length) % 8)) % 8), file.subarray(at)]);
	return Buffer.concat([Buffer.from(`${createHash('sha1').update(rest).digest('hex')}\n`), rest]);
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
		const good = readFileSync(path);

		// One byte of the tables flipped.
		const flipped = Buffer.from(good);
		flipped[flipped.length - 3] ^= 1;
		writeFileSync(path, flipped);
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
		writeFileSync(path, rewriteHeader(good, (header) => ({ ...header, files: (header.files as number) + 1 })));
		expect(IndexCache.open(cacheDir, first.root).status).toMatch(/^corrupt \(unexpected length/);
		writeFileSync(path, rewriteHeader(good, (header) => ({ ...header, engine: 'someone-else' })));
		expect(IndexCache.open(cacheDir, first.root).status).toMatch(/^stale \(engine someone-else/);
	});
});

describe('persistent cache: directories and unchanged trees', () => {
	// Entries changed within 2 s of a scan are not cached: the trees are made first, then aged once.
	const made = new Map<string, { root: string; cacheDir: string }>();
	const make = (name: string, files: Record<string, string>) => {
		made.set(name, { root: tree(files), cacheDir: mkdtempSync(join(tmpdir(), 'gpcscope-cache-')) });
	};
	const get = (name: string) => made.get(name)!;
	/** Indexes and writes the cache, as a CLI run does. */
	const run = async (name: string, options: Parameters<typeof indexTree>[1] = {}) => {
		const { root, cacheDir } = get(name);
		const r = await indexTree(root, { jobs: 1, cacheDir, ...options });
		r.persist();
		return r;
	};
	/** Changes a path's content (or a directory's entries) and sets its mtime back: only its ctime tells. */
	const sneak = (path: string, change: () => void) => {
		const before = statSync(path);
		change();
		utimesSync(path, before.atime, before.mtime);
	};
	const LARGE = `/* ${'x'.repeat(2000)} */\n`;
	const BINARY = 'int khva;\0\n';
	const racy: { first?: Awaited<ReturnType<typeof run>> } = {};

	beforeAll(async () => {
		const kernel = {
			'arch/x86/kvm/xen.c': GPC_FILE, 'arch/x86/kvm/x86.c': PLAIN_FILE, 'arch/x86/kvm/x86.h': PLAIN_FILE, 'arch/x86/kvm/big.h': LARGE,
			'arch/x86/kvm/mmu/mmu.c': PLAIN_FILE, 'virt/kvm/pfncache.c': GPC_FILE, 'virt/kvm/kvm_main.c': PLAIN_FILE, 'virt/kvm/blob.h': BINARY,
			'mm/a.c': PLAIN_FILE, 'mm/b.h': PLAIN_FILE, 'top.c': PLAIN_FILE,
		};
		for (const name of ['unchanged', 'added', 'renamed', 'same-size', 'options', 'deleted']) make(name, kernel);
		make('gitignore', { '.git/HEAD': 'ref: refs/heads/main\n', '.gitignore': 'b.c\n', 'kvm/xen.c': GPC_FILE, 'kvm/b.c': PLAIN_FILE, 'kvm/c.c': PLAIN_FILE });
		make('many', Object.fromEntries(Array.from({ length: 700 }, (_, i) => [`d${i % 7}/f${i}.c`, i === 650 ? GPC_FILE : PLAIN_FILE])));
		// Scanned within 2 s of its making: nothing of it may be trusted next time.
		make('racy', { 'kvm/xen.c': GPC_FILE, 'kvm/lapic.c': PLAIN_FILE });
		racy.first = await run('racy');
		await new Promise((resolve) => setTimeout(resolve, 2100));
	}, 30_000);

	it('skips the walk of an unchanged tree, with the same result as walking it', async () => {
		const options = { maxFileBytes: 1000 };
		const cold = await run('unchanged', options);
		expect(cold.stats.walked).toBe(true);
		const warm = await run('unchanged', options);
		expect(warm.stats).toMatchObject({ walked: false, read: 0, scanned: cold.stats.scanned });
		expect(files(warm.sources)).toEqual(files(cold.sources));
		expect(warm.skipped).toEqual(cold.skipped);
		expect(warm.skipped.map((s) => s.file)).toEqual(['arch/x86/kvm/big.h', 'virt/kvm/blob.h']);
		expect([...warm.hashes]).toEqual([...cold.hashes]);
		// A directory whose timestamps changed but not its entries is read again, to the same result.
		const now = new Date();
		utimesSync(join(get('unchanged').root, 'arch/x86/kvm'), now, now);
		const touched = await run('unchanged', options);
		expect(touched.stats).toMatchObject({ walked: true, read: 0 });
		expect(files(touched.sources)).toEqual(files(cold.sources));
		expect(touched.skipped).toEqual(cold.skipped);
		// With the jobs' helper threads too.
		expect(files((await run('unchanged', { ...options, jobs: 2 })).sources)).toEqual(files(cold.sources));
	});

	it('does not record directories or files changed within 2 s of the scan', async () => {
		expect(racy.first!.stats.walked).toBe(true);
		// The listing of kvm/, made within 2 s of its last change, was not kept: an entry added within
		// the same timestamp would leave its signature as it is.
		const { root, cacheDir } = get('racy');
		const sig = (path: string) => {
			const st = lstatSync(path);
			return [st.size, st.mtimeMs, st.ctimeMs, st.ino] as [number, number, number, number];
		};
		expect(IndexCache.open(cacheDir, racy.first!.root).listing('kvm', sig(join(root, 'kvm')))).toBeUndefined();
		// Added within the window of the first scan's listing of kvm/.
		writeFileSync(join(root, 'kvm/new.c'), GPC_FILE);
		const second = await run('racy');
		expect(second.stats.walked).toBe(true);
		// The first scan's files were racy too: all read again.
		expect(second.stats.read).toBe(3);
		expect(files(second.sources)).toContain('kvm/new.c');
		// Now recorded (the new file is racy, so the listing of kvm/ is not trusted yet).
		await new Promise((resolve) => setTimeout(resolve, 2100));
		expect((await run('racy')).stats.walked).toBe(true);
		expect(IndexCache.open(cacheDir, racy.first!.root).listing('kvm', sig(join(root, 'kvm')))).toBe('flapic.c/fnew.c/fxen.c');
		expect((await run('racy')).stats.walked).toBe(false);
	});

	it('sees a file added to a directory whose mtime was set back', async () => {
		const { root } = get('added');
		await run('added');
		sneak(join(root, 'mm'), () => writeFileSync(join(root, 'mm/gpc.c'), GPC_FILE));
		const after = await run('added');
		expect(after.stats).toMatchObject({ walked: true, read: 1 });
		expect(files(after.sources)).toContain('mm/gpc.c');
		expect(files(after.sources)).toContain('mm/a.c (neighbour)');
	});

	it('sees a renamed and a deleted directory', async () => {
		const renamed = get('renamed').root;
		await run('renamed');
		sneak(renamed, () => renameSync(join(renamed, 'virt'), join(renamed, 'virt2')));
		const after = await run('renamed');
		expect(after.stats.walked).toBe(true);
		expect(files(after.sources)).toContain('virt2/kvm/pfncache.c');
		expect(files(after.sources).filter((f) => f.startsWith('virt/'))).toEqual([]);

		const deleted = get('deleted').root;
		await run('deleted');
		rmSync(join(deleted, 'virt/kvm'), { recursive: true });
		const gone = await run('deleted');
		expect(files(gone.sources).filter((f) => f.startsWith('virt/'))).toEqual([]);
		expect(gone.sources.length).toBeGreaterThan(0);
	});

	it('reads a file edited to the same size with its mtime set back', async () => {
		const { root } = get('same-size');
		const before = await run('same-size');
		expect(files(before.sources)).not.toContain('mm/b.h');
		const file = join(root, 'mm/b.h');
		const text = readFileSync(file, 'utf8').replace('mutex_lock(&m);', 'khva(&m);      ');
		expect(text.length).toBe(PLAIN_FILE.length);
		sneak(file, () => writeFileSync(file, text));
		const after = await run('same-size', { jobs: 2 });
		expect(after.stats).toMatchObject({ walked: true, read: 1, matched: before.stats.matched + 1 });
		expect(files(after.sources)).toContain('mm/b.h');
	});

	it('follows a .gitignore edited in an unchanged directory, and the include and exclude settings', async () => {
		const { root } = get('gitignore');
		expect(files((await run('gitignore')).sources)).toEqual(['kvm/xen.c', 'kvm/c.c (neighbour)']);
		expect((await run('gitignore')).stats.walked).toBe(false);
		sneak(join(root, '.gitignore'), () => writeFileSync(join(root, '.gitignore'), 'c.c\n'));
		const after = await run('gitignore');
		expect(after.stats.walked).toBe(true);
		expect(files(after.sources)).toEqual(['kvm/xen.c', 'kvm/b.c (neighbour)']);

		await run('options');
		// --all-files after a normal run: the files the prefilter rejected that were no neighbours were
		// not hashed (mmu.c, mm/a.c, mm/b.h, top.c), so they are read again, and the tree walked.
		const all = await run('options', { allFiles: true });
		expect(all.stats).toMatchObject({ walked: true, read: 4 });
		expect(files((await run('options', { exclude: ['mm/'] })).sources).filter((f) => f.startsWith('mm/'))).toEqual([]);
		expect((await run('options', { exclude: ['mm/'] })).stats.walked).toBe(false);
		expect(files((await run('options', { include: ['virt/'] })).sources)).toEqual(['virt/kvm/pfncache.c', 'virt/kvm/kvm_main.c (neighbour)']);
		expect(files((await run('options')).sources)).toContain('arch/x86/kvm/xen.c');
	});

	it('stats a larger tree on helper threads and notices one changed file', async () => {
		const { root } = get('many');
		const cold = await run('many', { jobs: 2 });
		expect(cold.stats.scanned).toBe(700);
		const warm = await run('many', { jobs: 2 });
		expect(warm.stats).toMatchObject({ walked: false, read: 0 });
		expect(files(warm.sources)).toEqual(files(cold.sources));
		sneak(join(root, 'd3/f10.c'), () => writeFileSync(join(root, 'd3/f10.c'), PLAIN_FILE.replace('return 0', 'return 7')));
		const changed = await run('many', { jobs: 2 });
		expect(changed.stats).toMatchObject({ walked: true, read: 1 });
	});
});

describe('SignatureScan', () => {
	it('gives every path the signature lstat gives, on a helper thread as on this one', async () => {
		const root = tree({ 'a/x.c': 'x', 'a/ü ñ.h': 'yy', 'b/z.c': 'zzz' });
		symlinkSync('x.c', join(root, 'a/link.c'));
		const paths = ['', 'a', 'a/x.c', 'a/ü ñ.h', 'a/link.c', 'b/z.c', 'a/missing.c', join(root, 'b'), ...Array.from({ length: 600 }, () => 'b/z.c')];
		const expected = paths.map((p) => {
			const st = lstatSync(p.startsWith('/') ? p : p ? join(root, p) : root, { throwIfNoEntry: false });
			return st ? [st.size, st.mtimeMs, st.ctimeMs, st.ino] : [-1, -1, -1, -1];
		});
		for (const helpers of [0, 1]) {
			// A text that goes on past the paths given, as the cache's does.
			const scan = new SignatureScan(root, { count: paths.length, at: (i) => paths[i], utf8: Buffer.from([...paths, 'not/this'].join('\0')) }, helpers);
			// Leave the helper time to take every path.
			if (helpers) await new Promise((resolve) => setTimeout(resolve, 1000));
			const sigs = await scan.finish();
			expect(paths.map((_, i) => [...sigs.subarray(i * 4, i * 4 + 4)])).toEqual(expected);
		}
	});
});

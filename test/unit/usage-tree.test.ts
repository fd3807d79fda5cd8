// The rewrite's whole-tree search for callers, in worker threads or in this one
// (symlinks not followed, .git skipped, .gitignore not honoured: an ignored caller
// still needs the rewrite); an open document is searched in its editor text.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskTree } from '../../server/src/index/diskTree';

function fixtureTree(): string {
	const root = mkdtempSync(join(tmpdir(), 'gpcscope-usage-tree-'));
	const files: Record<string, string> = {
		'arch/x86/kvm/xen.c': 'int f(void)\n{\n\treturn kvm_gpc_helper(1);\n}\n',
		'include/linux/helper.h': 'int kvm_gpc_helper(int usage);\n',
		'drivers/other.c': 'int kvm_gpc_helper_other;\n',
		'.git/objects.c': 'int kvm_gpc_helper(int usage);\n',
		'ignored/caller.c': 'int g(void) { return kvm_gpc_helper(2); }\n',
		'.gitignore': 'ignored/\n',
	};
	for (const [file, text] of Object.entries(files)) {
		mkdirSync(join(root, file, '..'), { recursive: true });
		writeFileSync(join(root, file), text);
	}
	symlinkSync(join(root, 'arch/x86/kvm/xen.c'), join(root, 'drivers/link.c'));
	execFileSync('git', ['init', '-q'], { cwd: root });
	return root;
}

describe('the rewrite\'s whole-tree search', () => {
	it.each([1, 2])('finds the files that name the function (%i thread(s))', async (jobs) => {
		const root = fixtureTree();
		const expected = ['arch/x86/kvm/xen.c', 'ignored/caller.c', 'include/linux/helper.h'];
		const tree = diskTree(root, { files: [], jobs });
		try {
			expect((await tree.search(['kvm_gpc_helper'])).map((s) => s.file)).toEqual(expected);
			// A second query of the same plan reuses the walk and the workers.
			expect((await tree.search(['kvm_gpc_helper_other'])).map((s) => s.file)).toEqual(['drivers/other.c']);
		} finally {
			await tree.dispose();
		}
	});

	it('searches an open document in its text, not on disk', async () => {
		const root = fixtureTree();
		const override = (file: string) =>
			file === 'drivers/other.c' ? { read: () => 'int x = kvm_gpc_helper(3);\n' } : file === 'arch/x86/kvm/xen.c' ? { read: () => 'int f(void);\n' } : undefined;
		const found = await diskTree(root, { files: [], override, jobs: 1 }).search(['kvm_gpc_helper']);
		expect(found.map((s) => s.file)).toEqual(['drivers/other.c', 'ignored/caller.c', 'include/linux/helper.h']);
	});
});

// The rewrite's whole-tree search for callers: GNU grep when there is one, else the
// index's walker; both find the same files (symlinks not followed, .git skipped,
// .gitignore not honoured: an ignored caller still needs the rewrite).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diskTree } from '../../server/src/index/diskTree';

const PATH = process.env.PATH;
afterEach(() => {
	process.env.PATH = PATH;
});

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
	it('finds the same files with grep and with the index walker', () => {
		const root = fixtureTree();
		const expected = ['arch/x86/kvm/xen.c', 'ignored/caller.c', 'include/linux/helper.h'];
		expect(diskTree(root, { files: [] }).grep(['kvm_gpc_helper']).map((s) => s.file)).toEqual(expected);
		process.env.PATH = '/nonexistent';
		expect(diskTree(root, { files: [] }).grep(['kvm_gpc_helper']).map((s) => s.file)).toEqual(expected);
	});
});

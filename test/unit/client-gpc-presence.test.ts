// The client's lazy start (client/src/gpc-presence.ts) without VS Code: the server is
// wanted only when an open C document uses the gpc API or the workspace is a KVM tree.
import { describe, expect, it, vi } from 'vitest';
import { watchForGpcCode } from '../../client/src/gpc-presence';

const { workspace } = vi.hoisted(() => ({
	workspace: {
		textDocuments: [] as unknown[],
		treeFiles: [] as string[],
		opened: undefined as undefined | ((d: unknown) => void),
		onDidOpenTextDocument(f: (d: unknown) => void) {
			this.opened = f;
			return { dispose: () => (this.opened = undefined) };
		},
		onDidChangeWorkspaceFolders: () => ({ dispose: () => undefined }),
		findFiles(glob: string) {
			return Promise.resolve(this.treeFiles.filter((f) => f.endsWith(glob.slice(3))).map((path) => ({ path })));
		},
		asRelativePath: (u: { path: string }) => u.path,
	},
}));
vi.mock('vscode', () => ({ workspace, Disposable: class { constructor(readonly dispose: () => void) {} } }));

const doc = (path: string, text: string, languageId = 'c') => ({ uri: { scheme: 'file', path }, languageId, getText: () => text });
const settle = () => new Promise((r) => setTimeout(r, 0));

async function watch(): Promise<string[]> {
	const found: string[] = [];
	watchForGpcCode((why) => found.push(why));
	await settle();
	return found;
}

describe('lazy start: does the workspace have gpc code?', () => {
	it('no: plain C files open, no KVM tree', async () => {
		workspace.textDocuments = [doc('/w/hello.c', 'int main(void) { void *khva = 0; return 0; }')];
		workspace.treeFiles = ['/w/include/linux/list.h'];
		expect(await watch()).toEqual([]);
	});

	it('yes, once: an opened document uses the gpc API of any era', async () => {
		workspace.textDocuments = [];
		workspace.treeFiles = [];
		const found = await watch();
		workspace.opened!(doc('/w/notes.txt', 'kvm_gpc_check', 'plaintext'));
		workspace.opened!(doc('/w/old.c', 'kvm_gfn_to_pfn_cache_init(kvm, gpc, NULL, KVM_HOST_USES_PFN, gpa, len);'));
		expect(found).toEqual(['/w/old.c uses the gpc API']);
		expect(workspace.opened).toBeUndefined(); // stops listening once decided
	});

	it('yes: the workspace has virt/kvm/pfncache.c (a file-name lookup)', async () => {
		workspace.textDocuments = [doc('/w/hello.c', 'int x;')];
		workspace.treeFiles = ['/w/virt/kvm/pfncache.c', '/w/include/linux/kvm_host.h'];
		expect(await watch()).toEqual(['/w/virt/kvm/pfncache.c is in the workspace']);
	});
});

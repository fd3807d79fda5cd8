// The hover of a gpc call on an atomic path links to what makes it atomic: when that is
// a caller's call site in another file (AtomicContext.file), the link names that file.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hover } from '../../server/src/features/hover';
import { analyzePath, engine } from '../helpers';

const CALLEE = `struct gfn_to_pfn_cache {
	rwlock_t lock;
	struct mutex refresh_lock;
	gpa_t gpa;
	void *khva;
	bool valid;
};

int kvm_gfn_to_pfn_cache_refresh(struct kvm *kvm, struct gfn_to_pfn_cache *gpc,
		gpa_t gpa, unsigned long len);

void touch(struct kvm *kvm, struct gfn_to_pfn_cache *gpc)
{
	kvm_gfn_to_pfn_cache_refresh(kvm, gpc, gpc->gpa, 8);
}
`;

const CALLER = `void touch(struct kvm *kvm, struct gfn_to_pfn_cache *gpc);

void caller(struct kvm *kvm, struct gfn_to_pfn_cache *gpc)
{
	unsigned long flags;

	spin_lock_irqsave(&kvm->lock, flags);
	touch(kvm, gpc);
	spin_unlock_irqrestore(&kvm->lock, flags);
}
`;

async function hoverRefresh(files: Record<string, string>, file: string): Promise<string> {
	const root = mkdtempSync(join(tmpdir(), 'gpcscope-hover-'));
	mkdirSync(join(root, 'arch/x86/kvm'), { recursive: true });
	for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
	const result = await analyzePath(root);
	const text = files[file];
	const row = text.split('\n').findIndex((l) => l.includes('kvm_gfn_to_pfn_cache_refresh(kvm'));
	const tree = (await engine()).parser.parse(text)!;
	try {
		const h = hover({ tree, file, result, uriOf: (f) => `file:///tree/${f}` }, { line: row, character: 2 });
		return (h?.contents as { value: string }).value;
	} finally {
		tree.delete();
	}
}

describe('hover: the atomic-context link', () => {
	it('points at the caller\'s file when the atomic site is there', async () => {
		const value = await hoverRefresh({ 'arch/x86/kvm/touch.c': CALLEE, 'arch/x86/kvm/caller.c': CALLER }, 'arch/x86/kvm/touch.c');
		expect(value).toContain('**Atomic:** caller() calls it while &kvm->lock is held ([caller.c:8](file:///tree/arch/x86/kvm/caller.c#L8))');
	});

	it('points at a line of the same file, labelled by its line', async () => {
		const same = CALLEE + '\n' + CALLER.split('\n').slice(1).join('\n');
		const value = await hoverRefresh({ 'arch/x86/kvm/touch.c': same }, 'arch/x86/kvm/touch.c');
		const row = same.split('\n').findIndex((l) => l.includes('\ttouch(kvm, gpc);')) + 1;
		expect(value).toContain(`([line ${row}](file:///tree/arch/x86/kvm/touch.c#L${row}))`);
	});
});

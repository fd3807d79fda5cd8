// The engine's per-file outline (where the functions are) after an edit inside one function
// is moved from the one before, not walked again: it must equal a fresh outline.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fullOutline, movedOutline, Outlines } from '../../server/src/analysis/outline';
import { functionName } from '../../server/src/parse/declarations';
import { DEMO, engine } from '../helpers';
import { random } from '../memo-property';

const INSERTS = ['\tint gpcscope_local = 0;', '\tread_lock(&gpc->lock);', '\t}', '\t{', '\tif (x)', '', '\t\tfoo(a,\n\t\t    b);'];

describe('Outlines', () => {
	it.each(['arch/x86/kvm/x86.c', 'arch/x86/kvm/xen.c', 'virt/kvm/pfncache.c'])('equal a fresh outline after each random edit of the demo %s', async (file) => {
		const { parser } = await engine();
		const rand = random(9);
		const original = readFileSync(join(DEMO, file), 'utf8');
		let text = original;
		let tree = parser.parse(text)!;
		let outline = fullOutline(text, tree, functionName);
		let moved = 0;
		let movedWithErrors = 0;
		let near: number | undefined;
		for (let step = 0; step < 120; step++) {
			const lines = text.split('\n');
			// After an edit that left an error, the next is typed nearby (finishing the statement).
			let at = near !== undefined ? Math.max(0, Math.min(lines.length - 1, near + Math.floor(rand() * 5) - 2)) : Math.floor(rand() * lines.length);
			for (let tries = 0; tries < 20 && !lines[at].startsWith('\t'); tries++) at = Math.floor(rand() * lines.length);
			if (rand() < 0.3) lines.splice(at, 1);
			else lines.splice(at, 0, INSERTS[Math.floor(rand() * INSERTS.length)]);
			const next = lines.join('\n');
			const nextTree = parser.parse(next)!;
			const fresh = fullOutline(next, nextTree, functionName);
			const fast = movedOutline(text, outline, next, nextTree);
			if (fast) {
				moved++;
				if (fresh.errors.length) movedWithErrors++;
				expect(fast, `step ${step}, line ${at + 1}`).toEqual(fresh);
			}
			tree.delete();
			// One edit nearby may finish what left an error; if it does not, start again.
			const stillBroken = nextTree.rootNode.hasError && near !== undefined;
			near = nextTree.rootNode.hasError && !stillBroken ? at : undefined;
			if (stillBroken) {
				nextTree.delete();
				text = original;
				tree = parser.parse(text)!;
				outline = fullOutline(text, tree, functionName);
			} else {
				text = next;
				tree = nextTree;
				outline = fresh;
			}
		}
		tree.delete();
		expect(moved).toBeGreaterThan(10);
		expect(movedWithErrors).toBeGreaterThan(0);
	});

	it('serves the moved outline to the engine, and a full one when the file changed elsewhere', async () => {
		const { parser } = await engine();
		const text = readFileSync(join(DEMO, 'arch/x86/kvm/xen.c'), 'utf8');
		const outlines = new Outlines();
		const tree = parser.parse(text)!;
		outlines.get('xen.c', text, () => tree, functionName);
		const at = text.indexOf('\n', text.indexOf('{', text.indexOf('kvm_xen_shared_info_init('))) + 1;
		const edited = `${text.slice(0, at)}\tint gpcscope_local = 0;\n${text.slice(at)}`;
		const editedTree = parser.parse(edited)!;
		expect(outlines.get('xen.c', edited, () => editedTree, functionName)).toEqual(fullOutline(edited, editedTree, functionName));
		const header = `/* a new first line */\n${edited}`;
		const headerTree = parser.parse(header)!;
		expect(outlines.get('xen.c', header, () => headerTree, functionName)).toEqual(fullOutline(header, headerTree, functionName));
		for (const t of [tree, editedTree, headerTree]) t.delete();
	});
});

// Pristine Debian trees: no crash, no findings (except those reviewed and
// listed below with why they are true), and every gpc call site analysed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexed, REPO } from '../helpers';
import { kernelTree, type KernelVersion } from './trees';

/**
 * 6.1 still carries the usage-flag machinery that upstream removed for 6.9: there,
 * gpc-dead-usage-flag is the expected finding (hints only); tested in the build tier.
 */
const EXPECTED_RULES: Record<KernelVersion, string[]> = { '6.1': ['gpc-dead-usage-flag'], '6.12': [] };

/** Findings reviewed one by one and kept because they are true: "file:line:rule" → reason. */
const REVIEWED: Record<KernelVersion, Record<string, string>> = {
	'6.1': {},
	'6.12': {},
};

const CALL = /\b(kvm_gpc_[a-z_]+|kvm_gfn_to_pfn_cache_[a-z_]+)\s*\(/g;

/** gpc API calls a plain text scan finds: indented (inside a function body), not in comments. */
async function textScanCallSites(tree: string): Promise<number> {
	let count = 0;
	for (const source of (await indexed(tree)).sources) {
		let inComment = false;
		for (const line of readFileSync(join(tree, source.file), 'latin1').split('\n')) {
			const trimmed = line.trim();
			if (inComment) {
				if (trimmed.includes('*/')) inComment = false;
				continue;
			}
			if (trimmed.startsWith('/*') && !trimmed.includes('*/')) {
				inComment = true;
				continue;
			}
			if (!/^\s/.test(line) || /^(\*|\/\/|\/\*)/.test(trimmed)) continue;
			count += [...line.replace(/\/\*.*?\*\//g, '').matchAll(CALL)].length;
		}
	}
	return count;
}

describe.each(['6.12', '6.1'] as const)('linux-%s', (version) => {
	it('is silent, and every gpc call site is analysed inside a parsed function', async () => {
		const tree = kernelTree(version);
		const started = Date.now();
		const r = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'check', tree, '--format', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
		const seconds = (Date.now() - started) / 1000;
		expect(r.stderr).not.toMatch(/internal error/);
		expect([0, 1]).toContain(r.status);
		const report = JSON.parse(r.stdout);
		const found = report.diagnostics.map((d: { file: string; line: number; rule: string }) => `${d.file}:${d.line}:${d.rule}`);
		const textScan = await textScanCallSites(tree);
		console.log(
			`linux-${version}: era ${report.apiEra}, ${report.stats.filesScanned} files scanned, ${report.stats.filesParsed} parsed, ` +
				`${report.stats.functionsAnalysed} functions, ${report.stats.unparsedRegions} unparsed regions, ` +
				`call sites: text scan ${textScan}, analysed ${report.stats.apiCallSitesAnalysed}, ${found.length} findings, ${seconds.toFixed(1)} s`,
		);
		const unexpected = report.diagnostics.filter(
			(d: { file: string; line: number; rule: string }) => !(`${d.file}:${d.line}:${d.rule}` in REVIEWED[version]) && !EXPECTED_RULES[version].includes(d.rule),
		);
		if (version === '6.1') expect(report.diagnostics.every((d: { severity: string }) => d.severity === 'hint')).toBe(true);
		expect(unexpected, JSON.stringify(unexpected, null, 1)).toEqual([]);
		expect(report.stats.apiCallSitesAnalysed).toBe(textScan);
		expect(report.apiEra).toBe(version === '6.1' ? '6.1' : '6.9+');
	});
});

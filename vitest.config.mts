import { defineConfig } from 'vitest/config';

// Tiers: `unit` (fast, in-process), `kernel` (real Debian trees, downloaded into
// a cache outside the repo), `spin` (Promela cross-check), `webview` (headless Chromium),
// `e2e` (the VSIX in code-server).
export default defineConfig({
	test: {
		projects: [
			{ test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
			{ test: { name: 'kernel', include: ['test/kernel/**/*.test.ts'], testTimeout: 900_000, hookTimeout: 900_000, fileParallelism: false } },
			{ test: { name: 'spin', include: ['test/spin/**/*.test.ts'], testTimeout: 900_000 } },
			{ test: { name: 'webview', include: ['test/webview/**/*.test.ts'], testTimeout: 120_000 } },
			// A real VS Code (code-server, installed once into a cache by scripts/e2e-setup.sh) driven through Chromium.
			{ test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 1_500_000, fileParallelism: false } },
			// `build`: the gpc-dead-usage-flag rewrite of the 6.1 tree, compiled (make arch/x86/kvm/).
			{ test: { name: 'build', include: ['test/build/**/*.test.ts'], testTimeout: 3_600_000, hookTimeout: 3_600_000, fileParallelism: false } },
			// `editors`: Debian's nvim and emacs, headless, configured by the README's own snippets, on the 6.1 tree.
			{ test: { name: 'editors', include: ['test/editors/**/*.test.ts'], testTimeout: 1_800_000, hookTimeout: 1_800_000, fileParallelism: false } },
			// `reliability`: every file of both trees, the ≥100,000-case fuzz, a 100,000-file workspace.
			// Slow: its tests run only with GPCSCOPE_RELIABILITY=1 (scripts/fuzz-nightly.sh); skipped otherwise.
			{ test: { name: 'reliability', include: ['test/reliability/**/*.test.ts'], testTimeout: 14_400_000, hookTimeout: 3_600_000 } },
		],
	},
});

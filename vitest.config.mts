import { defineConfig } from 'vitest/config';

// Tiers: `unit` (fast, in-process), `kernel` (real Debian trees, downloaded into
// a cache outside the repo), `spin` (Promela cross-check), `webview` (headless Chromium).
export default defineConfig({
	test: {
		projects: [
			{ test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
			{ test: { name: 'kernel', include: ['test/kernel/**/*.test.ts'], testTimeout: 900_000, hookTimeout: 900_000, fileParallelism: false } },
			{ test: { name: 'spin', include: ['test/spin/**/*.test.ts'], testTimeout: 900_000 } },
			{ test: { name: 'webview', include: ['test/webview/**/*.test.ts'], testTimeout: 120_000 } },
		],
	},
});

// Bundles the extension client, the language server and the CLI into dist/,
// and copies the tree-sitter wasm files into grammars/ after checking each
// against the sha256 recorded in grammars/provenance.json.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const provenance = JSON.parse(readFileSync(join(root, 'grammars/provenance.json'), 'utf8'));

for (const [target, record] of Object.entries(provenance)) {
	const source = join(root, record.source);
	const bytes = readFileSync(source);
	const sha256 = createHash('sha256').update(bytes).digest('hex');
	if (sha256 !== record.sha256) {
		console.error(`grammars: ${record.source} has sha256 ${sha256}, provenance.json records ${record.sha256} (${record.package}@${record.version})`);
		process.exit(1);
	}
	copyFileSync(source, join(root, 'grammars', target));
}

mkdirSync(join(root, 'dist'), { recursive: true });
const common = {
	bundle: true,
	platform: 'node',
	target: 'node20',
	format: 'cjs',
	sourcemap: true,
	logLevel: 'warning',
	absWorkingDir: root,
	// web-tree-sitter locates its runtime through import.meta.url, which CJS bundles lack.
	define: { 'import.meta.url': '__gpcscopeImportMetaUrl' },
	banner: { js: "const __gpcscopeImportMetaUrl = require('url').pathToFileURL(__filename).href;" },
};
await Promise.all([
	build({ ...common, entryPoints: { extension: 'client/src/extension.ts' }, outdir: 'dist', external: ['vscode'] }),
	build({ ...common, entryPoints: { server: 'server/src/serverMain.ts', cli: 'server/src/cli.ts', worker: 'server/src/index/worker.ts' }, outdir: 'dist' }),
]);
chmodSync(join(root, 'dist/cli.js'), 0o755);

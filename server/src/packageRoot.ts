// The installed package's root: the folder above dist/ (bundled) or server/src/ (tests).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

export function packageRoot(): string {
	if (cached) return cached;
	for (let dir = __dirname; ; dir = dirname(dir)) {
		if (existsSync(join(dir, 'grammars', 'provenance.json'))) return (cached = dir);
		if (dirname(dir) === dir) throw new Error(`gpcscope: cannot find the package root above ${__dirname}`);
	}
}

// The instances view: every gpc instance of the workspace (owner struct and
// field), its lifecycle sites, and how many findings mention it.
import type { EngineResult } from '../analysis/engine';
import type { InstanceInfo } from '../protocol';

export function instances(results: { result: EngineResult; uriOf: (file: string) => string }[]): InstanceInfo[] {
	const out: InstanceInfo[] = [];
	for (const { result, uriOf } of results) {
		for (const [id, sites] of result.lifecycle) {
			const field = id.split('.').pop()!;
			out.push({
				id,
				sites: sites
					.map((s) => ({ role: s.role, uri: uriOf(s.file), line: s.range.start.line, function: s.functionName }))
					.sort((a, b) => a.uri.localeCompare(b.uri) || a.line - b.line),
				// Findings name the instance by its access path, which ends in the field.
				findings: result.findings.filter((f) => new RegExp(`\\b${field}\\b`).test(f.message)).length,
			});
		}
	}
	return out.sort((a, b) => a.id.localeCompare(b.id));
}

// Why gpc-dead-usage-flag fires, or is silent, in words for the hover.
import { censusPhrase, GUEST, HOST, siteLocation, type UsageCensus, type UsageSite } from './census';

const MAX_LISTED = 6;

function list(sites: UsageSite[]): string {
	const shown = sites.slice(0, MAX_LISTED).map((s) => `\`${siteLocation(s)}\``);
	const more = sites.length - shown.length;
	return shown.join(', ') + (more > 0 ? `, and ${more} more` : '');
}

/** Short markdown: the census, and what it means for the usage machinery of this tree. */
export function usageCensusExplanation(census: UsageCensus): string {
	if (!census.usageEnum) {
		return '**pfncache usage flags**: this tree has no `enum pfn_cache_usage` (the 6.9+ API, or it is not indexed), so there is nothing to remove.';
	}
	const enumAt = `\`${census.usageEnum.file}:${census.usageEnum.line + 1}\``;
	if (census.guest.length) {
		return [
			`**pfncache usage flags are live.** ${list(census.guest)} ${census.guest.length === 1 ? 'passes' : 'pass'} the guest bit (\`${census.guest[0].value}\`),`,
			'so invalidating that cache must kick its vCPU out of guest mode, and `enum pfn_cache_usage` (' + enumAt + '),',
			'the `usage`/`vcpu` fields and the vCPU request are needed. `gpc-dead-usage-flag` stays silent.',
		].join(' ');
	}
	if (census.unknown.length) {
		return [
			`**pfncache usage flags may be live.** gpcscope cannot evaluate the usage value \`${census.unknown[0].value}\` at ${list(census.unknown)};`,
			`it may carry \`${GUEST}\`, so \`gpc-dead-usage-flag\` stays silent.`,
		].join(' ');
	}
	const n = census.sites.length;
	return [
		`**pfncache usage flags are dead:** ${censusPhrase(census).replace(GUEST, `\`${GUEST}\``)}${n ? ` (${n === 1 ? 'it passes' : 'they all pass'} \`${HOST}\`: ${list(census.sites)})` : ''}.`,
		'So no cache is ever used by the guest directly: `enum pfn_cache_usage` (' + enumAt + '), the `usage` and `vcpu` arguments and fields,',
		'the usage tests in `pfncache.c` and the vCPU request on invalidation do nothing. Upstream removed them in 6.9',
		'("KVM: pfncache: remove KVM_GUEST_USES_PFN usage"); the quick fixes and *Remove pfncache usage flags from the tree* do the same here.',
	].join(' ');
}

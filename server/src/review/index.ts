// Patch review and baselines: the public surface for the command line.
export { review, type ReviewOptions, type ReviewResult, type ReviewedFinding, type PatchRef } from './review';
export { formatReviewJson, formatReviewSarif, formatReviewText, reviewJson, reviewSummary } from './format';
export { applyBaseline, baselineOf, filterNew, gitBaseline, parseBaseline, readBaseline, type Baseline, type BaselineOptions, type NewOnly } from './baseline';
export { ReviewError } from './tree';
export { runReviewCommand, type ReviewCommandOptions } from './command';

// The dead usage flag rule and its fixes: findings for the engine, the plan
// behind quick fixes and the whole-tree refactor, and `gpcscope fix`.
export { censusOf, deadUsageFindings } from '../analysis/rules/gpc-dead-usage-flag';
export { usageCensusExplanation } from './explain';
export { takeCensus, type UsageCensus, type UsageSite } from './census';
export { planUsageRemoval, type UsagePlan, type Refusal, type Group, type PlannedEdit } from './plan';
export { fixCommand } from './fix';

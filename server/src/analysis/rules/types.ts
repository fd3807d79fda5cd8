// The contract between the engine and one rule.
import type { SyntaxNode } from '../../parse/parser';
import type { NodeSpan } from '../../parse/positions';
import type { ApiEra } from '../api';
import type { Observation } from '../observations';
import type { FileFacts } from '../facts';
import type { Fix, Range } from '../findings';
import type { SourceFile } from '../source';
import type { UsageCensus } from '../../usage/census';
import type { Parser } from 'web-tree-sitter';
import type { RuleId } from '../../catalogue';

export type Related =
	| {
			node: NodeSpan;
			message: string;
			/** Another file than the finding's, relative to the root. */
			file?: string;
	  }
	/** A place known by its row only (a call site of a calling context's chain, in another function). */
	| { line: number; file: string; message: string };

export interface FunctionRuleContext {
	file: string;
	era: ApiEra;
	functionName: string;
	report(node: SyntaxNode, message: string, related?: Related[], fix?: Fix): void;
	/** The function is annotated `__acquires(...)`: returning with the lock held is its contract. */
	acquiresLock: boolean;
	/** The tree has kvm_gpc_mark_dirty_in_slot(): mark-dirty before unlock is the contract. */
	hasMarkDirtyHelper: boolean;
	/** Why writes through this instance need no mark-dirty, if they need none. */
	dirtyExemption(instance: string): string | undefined;
}

export interface FunctionRule {
	/** Its catalogue entry (catalogue.ts) has the severity, summary and page. */
	id: RuleId;
	/** One checker per analysed function: observations arrive in replay order. */
	create(ctx: FunctionRuleContext): { observe(o: Observation): void; finish?(): void };
}

/** What a rule over the analysed files as a whole sees. */
export interface SourceRuleContext {
	/** The analysed files (not the neighbours read for their call graph only). */
	sources: readonly SourceFile[];
	/** Pass-1 facts of every file, neighbours included. */
	facts: readonly FileFacts[];
	era: ApiEra;
	/** A finding; the engine gives it the rule's severity. */
	report(file: string, range: Range, message: string, fix?: Fix): void;
}

/** What rules leave for the editor features besides findings. */
export interface RuleNotes {
	/** gpc-dead-usage-flag's census: the hover explains why the rule fires or is silent. */
	usageCensus?: UsageCensus;
}

/** A rule over the syntax of the analysed files as a whole; one checker per engine, keeping its own state between analyses. */
export interface SourceRule {
	id: RuleId;
	create(parser: Parser): { check(ctx: SourceRuleContext): RuleNotes };
}

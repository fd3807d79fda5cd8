// The calls pass 1 keeps for calling contexts (FunctionFacts.calls), one string
// each: `callee`, or `callee(,RUNSTATE_runnable)` with the argument texts a
// context can bind and '' for the others. facts.ts writes them, contexts.ts
// reads them; both ask here what an argument can carry.

/** Named constants and numbers: what a calling context can bind a parameter to. */
export const CONSTANT = /^([A-Z][A-Za-z0-9_]*|\d+[uUlL]*|0x[0-9a-fA-F]+|true|false)$/;
const COMPARISON = /^\(?\s*(\w+)\s*(==|!=)\s*(\w+)\s*\)?$/;

/** What a caller passes for a parameter, given what the caller itself knows (of its own parameters). */
export function bind(arg: string, known: Record<string, string>): string | undefined {
	if (CONSTANT.test(arg)) return arg;
	if (Object.hasOwn(known, arg)) return known[arg];
	const eq = COMPARISON.exec(arg);
	if (eq && Object.hasOwn(known, eq[1]) && CONSTANT.test(eq[3])) return String((known[eq[1]] === eq[3]) === (eq[2] === '=='));
	return undefined;
}

/** Whether bind() can ever give `arg` a value in a function with these parameters (pass 1 keeps no other argument). */
export function bindable(arg: string, params: readonly string[]): boolean {
	if (CONSTANT.test(arg) || params.includes(arg)) return true;
	const eq = COMPARISON.exec(arg);
	return !!eq && params.includes(eq[1]) && CONSTANT.test(eq[3]);
}

/** A call as a string: the arguments bind() may use ('' for the others; never containing a comma), trailing '' dropped. */
export function encodeCall(callee: string, args: string[]): string {
	const kept = [...args];
	while (kept.length && !kept[kept.length - 1]) kept.pop();
	return kept.length ? `${callee}(${kept.join(',')})` : callee;
}

/** A call of FunctionFacts.calls: its callee and the arguments pass 1 kept ('' for the others). */
export function decodeCall(call: string): { callee: string; args: string[] } {
	const open = call.indexOf('(');
	return open < 0 ? { callee: call, args: [] } : { callee: call.slice(0, open), args: call.slice(open + 1, -1).split(',') };
}

// Which function_definition nodes are functions. C has no nested functions, but
// tree-sitter's error recovery makes some: `else list_for_each_entry(pos, head,
// member) { ... }` (vmw_validation_res_unreserve() in vmwgfx) parses as a
// definition of "list_for_each_entry" whose type is `else`, nested in the real
// function's body. Taken for a function, it becomes the definition every
// `list_for_each_entry` "call" of the tree resolves to. The same recovery can
// also swallow the real functions that follow a misparsed one into its body:
// those keep the shape of a definition at the start of a line, and stay.
import type { SyntaxNode } from './parser';

/** Nodes a function definition may sit in at file level. */
const FILE_LEVEL = new Set([
	'translation_unit', 'preproc_if', 'preproc_ifdef', 'preproc_elif', 'preproc_elifdef', 'preproc_else',
	'linkage_specification', 'declaration_list', 'ERROR',
]);

/** Words C reserves: a "type" spelled like one (`else`, `do`) is a statement tree-sitter misread. */
const KEYWORD = /^(else|do|if|while|for|switch|case|default|return|goto|break|continue|sizeof)$/;

/** Every function_definition in `root` that is a function, in document order. */
export function functionDefinitions(root: SyntaxNode): SyntaxNode[] {
	return root.descendantsOfType('function_definition').filter((fn): fn is SyntaxNode => !!fn && isFunctionDefinition(fn));
}

/** The function (never a misparsed statement) `node` is inside, if any. */
export function enclosingDefinition(node: SyntaxNode): SyntaxNode | undefined {
	for (let p: SyntaxNode | null = node; p; p = p.parent) if (p.type === 'function_definition' && isFunctionDefinition(p)) return p;
	return undefined;
}

/** Whether a function_definition node is a function of the file rather than a statement tree-sitter misread. */
export function isFunctionDefinition(fn: SyntaxNode): boolean {
	const declarator = functionDeclarator(fn.childForFieldName('declarator'));
	if (!declarator || hasMacroArguments(declarator)) return false;
	if (atFileLevel(fn)) return true;
	// Nested in a body: only a swallowed real definition, in the kernel's layout, is one.
	const type = fn.childForFieldName('type');
	return fn.startPosition.column === 0 && !!type && !KEYWORD.test(type.text) && namesEveryParameter(declarator);
}

function atFileLevel(fn: SyntaxNode): boolean {
	for (let p = fn.parent; p; p = p.parent) if (!FILE_LEVEL.has(p.type)) return false;
	return true;
}

function functionDeclarator(d: SyntaxNode | null): SyntaxNode | undefined {
	for (let cur = d; cur; cur = cur.childForFieldName('declarator')) if (cur.type === 'function_declarator') return cur;
	return undefined;
}

/**
 * `for_each_set_bit(i, &mask, n) { ... }` after an `if` without braces: the "parameters" are
 * expressions. A real definition declares each parameter.
 */
function hasMacroArguments(declarator: SyntaxNode): boolean {
	const params = declarator.childForFieldName('parameters');
	return !!params && params.namedChildren.some((p) => !!p && p.type !== 'parameter_declaration' && p.type !== 'variadic_parameter' && p.type !== 'comment');
}

/** `(struct kvm *kvm, int n)`, `(void)`, `(const char *fmt, ...)`: never a bare `(val, head)`. */
function namesEveryParameter(declarator: SyntaxNode): boolean {
	const params = (declarator.childForFieldName('parameters')?.namedChildren ?? []).filter((p): p is SyntaxNode => !!p && p.type === 'parameter_declaration');
	if (params.length === 1 && params[0].text === 'void') return true;
	return params.every((p) => !!p.childForFieldName('declarator'));
}

// Declarations: declared names and types, function declarators, names and
// headers, parameters, and the types of a function's variables.
import { isFunctionDefinition } from './definitions';
import type { SyntaxNode } from './parser';

/** The declared name of a declarator (`*gpc`, `gpc = ...`, `buf[4]`). */
export function declaratorName(d: SyntaxNode | null): string | undefined {
	let cur = d;
	while (cur) {
		if (cur.type === 'identifier' || cur.type === 'field_identifier') return cur.text;
		cur = cur.childForFieldName('declarator');
	}
	return undefined;
}

export function isPointerDeclarator(d: SyntaxNode | null): boolean {
	let cur = d;
	while (cur) {
		if (cur.type === 'pointer_declarator') return true;
		cur = cur.childForFieldName('declarator');
	}
	return false;
}

/** `struct kvm_vcpu` → "kvm_vcpu"; other types → their text. */
export function typeName(type: SyntaxNode | null): string | undefined {
	if (!type) return undefined;
	if (type.type === 'struct_specifier' || type.type === 'union_specifier') return type.childForFieldName('name')?.text;
	return type.text;
}

/** `enum pfn_cache_usage` / `struct kvm_vcpu` / `bool`, whitespace normalised. */
export function typeText(t: SyntaxNode | null): string {
	return t ? t.text.replace(/\s+/g, ' ').trim() : '';
}

/** The function declarator inside a declarator chain (`*foo(...)`, `foo(...)`). */
export function functionDeclarator(d: SyntaxNode | null): SyntaxNode | undefined {
	for (let cur = d; cur; cur = cur.childForFieldName('declarator')) {
		if (cur.type === 'function_declarator') return cur;
	}
	return undefined;
}

/** The name a function definition defines. */
export function functionName(fn: SyntaxNode): string | undefined {
	return declaratorName(functionDeclarator(fn.childForFieldName('declarator'))?.childForFieldName('declarator') ?? null);
}

/** The declaration part of a definition (return type, name, parameters, annotations). */
export function functionHeader(fn: SyntaxNode): string {
	const body = fn.childForFieldName('body');
	return body ? fn.text.slice(0, body.startIndex - fn.startIndex) : fn.text;
}

/** Name and declarator of a function definition or a declaration of one (never of a statement tree-sitter misread as a definition). */
export function declaredFunction(node: SyntaxNode): { name: string; declarator: SyntaxNode } | undefined {
	if (node.type === 'function_definition' && !isFunctionDefinition(node)) return undefined;
	const candidates = node.type === 'function_definition' ? [node.childForFieldName('declarator')] : node.childrenForFieldName('declarator');
	for (const c of candidates) {
		const fd = functionDeclarator(c);
		const name = fd && declaratorName(fd.childForFieldName('declarator'));
		if (fd && name) return { name, declarator: fd };
	}
	return undefined;
}

export function isStatic(fn: SyntaxNode): boolean {
	return fn.namedChildren.some((c) => c?.type === 'storage_class_specifier' && c.text === 'static');
}

/** A parameter as a function's text spells it. */
export interface Param {
	node: SyntaxNode;
	name: string;
	/** `enum pfn_cache_usage`, `struct kvm_vcpu`, `bool`... (pointer-ness in `pointer`). */
	type: string;
	pointer: boolean;
}

/** The parameters of a function declarator, as written. */
export function parametersOf(fnDecl: SyntaxNode): Param[] {
	const out: Param[] = [];
	for (const p of fnDecl.childForFieldName('parameters')?.namedChildren ?? []) {
		if (p?.type !== 'parameter_declaration') continue;
		const t = p.childForFieldName('type');
		const d = p.childForFieldName('declarator');
		out.push({ node: p, name: declaratorName(d) ?? '', type: typeText(t), pointer: !!d && /^\s*\*/.test(d.text) });
	}
	return out;
}

/** A function declarator's parameters, in order: declared name, type name and declarator. */
export function parameters(fnDecl: SyntaxNode | undefined): { name?: string; type?: string; declarator: SyntaxNode | null }[] {
	const out: { name?: string; type?: string; declarator: SyntaxNode | null }[] = [];
	for (const p of fnDecl?.childForFieldName('parameters')?.namedChildren ?? []) {
		if (p?.type !== 'parameter_declaration') continue;
		const declarator = p.childForFieldName('declarator');
		out.push({ name: declaratorName(declarator), type: typeName(p.childForFieldName('type')), declarator });
	}
	return out;
}

/** The variables a declaration declares, with their type name (`struct kvm_vcpu *v, *w` → v, w: kvm_vcpu). */
export function declaredVariables(decl: SyntaxNode): { name: string; type: string }[] {
	const type = typeName(decl.childForFieldName('type') ?? null);
	if (!type) return [];
	return decl.childrenForFieldName('declarator').flatMap((d) => {
		const name = declaratorName(d);
		return name ? [{ name, type }] : [];
	});
}

/** Declared types of a function's parameters and locals (`struct kvm_vcpu *v` → v: kvm_vcpu); a parameter wins over a local. */
export function variableTypes(fn: SyntaxNode): Map<string, string> {
	const body = fn.childForFieldName('body');
	const locals = new Map<string, string>();
	for (const decl of fn.descendantsOfType('declaration')) {
		if (!decl || !body || decl.startIndex < body.startIndex || decl.endIndex > body.endIndex) continue;
		for (const v of declaredVariables(decl)) locals.set(v.name, v.type);
	}
	const params = new Map<string, string>();
	for (const p of parameters(functionDeclarator(fn.childForFieldName('declarator')))) if (p.name && p.type) params.set(p.name, p.type);
	return new Map([...locals, ...params]);
}

// Pass 1: where the tree registers code that the kernel runs in interrupt
// context. hrtimer callbacks (`t.function = cb;` with hrtimer_init(&t, clock,
// mode), or hrtimer_setup(&t, cb, clock, mode)) run in hard-IRQ context even on
// PREEMPT_RT only when their mode is *_HARD; interrupt handlers stay in hard-IRQ
// context on PREEMPT_RT (where every other handler is force-threaded) only with
// IRQF_NO_THREAD, IRQF_PERCPU or IRQF_ONESHOT, or as per-CPU or NMI handlers.
import type { SyntaxNode } from '../parse/parser';
import { callArguments, calleeName } from '../parse/nodes';
import { canonicalPath } from './paths';

/** One hrtimer_init/hrtimer_setup/hrtimer_start* of a timer, or one `timer.function = cb`. */
export interface TimerSetup {
	/** The timer, without its base variable: "arch.xen.timer" for `&vcpu->arch.xen.timer`. */
	timer: string;
	callback?: string;
	/** HRTIMER_MODE_ABS_HARD, ...; undefined for a `.function` assignment. */
	mode?: string;
	/** hrtimer_init, hrtimer_setup, hrtimer_start, or `.function`. */
	via: string;
	line: number;
}

/** One request of an interrupt handler. */
export interface IrqRequest {
	handler: string;
	/** The threaded handler of request_threaded_irq(), which never runs in hard-IRQ context. */
	threadFn?: string;
	/** The flags argument as written. */
	flags: string;
	via: string;
	line: number;
}

export interface IrqEntries {
	timers: TimerSetup[];
	irqs: IrqRequest[];
}

/** Text that may register an hrtimer or an interrupt handler. */
export const REGISTERS_IRQ_ENTRY = /\bhrtimer_(init|setup|start)|\brequest_\w*(irq|nmi)\b|\.function\s*=/;
const TIMER_CALL = /^hrtimer_(init|setup|setup_on_stack|init_on_stack|start|start_range_ns|start_expires)$/;

/** Argument positions of the IRQ request functions: handler, thread function, flags. */
const IRQ_CALLS: Record<string, { handler: number; thread?: number; flags?: number }> = {
	request_irq: { handler: 1, flags: 2 },
	request_threaded_irq: { handler: 1, thread: 2, flags: 3 },
	request_any_context_irq: { handler: 1, flags: 2 },
	devm_request_irq: { handler: 2, flags: 3 },
	devm_request_threaded_irq: { handler: 2, thread: 3, flags: 4 },
	devm_request_any_context_irq: { handler: 2, flags: 3 },
	request_percpu_irq: { handler: 1 },
	request_percpu_nmi: { handler: 1 },
	request_nmi: { handler: 1, flags: 2 },
};

/** The registrations in one file (cheap: files that name none are not walked). */
export function irqEntries(root: SyntaxNode, text: string): IrqEntries | undefined {
	if (!REGISTERS_IRQ_ENTRY.test(text)) return undefined;
	const out: IrqEntries = { timers: [], irqs: [] };
	for (const node of root.descendantsOfType(['call_expression', 'assignment_expression'])) {
		if (!node) continue;
		if (node.type === 'assignment_expression') {
			const left = node.childForFieldName('left');
			const right = node.childForFieldName('right');
			if (left?.type !== 'field_expression' || left.childForFieldName('field')?.text !== 'function' || right?.type !== 'identifier') continue;
			const timer = timerKey(left.childForFieldName('argument'));
			if (timer) out.timers.push({ timer, callback: right.text, via: '.function', line: node.startPosition.row });
			continue;
		}
		const callee = calleeName(node);
		if (!callee) continue;
		const args = callArguments(node);
		if (TIMER_CALL.test(callee)) {
			const timer = timerKey(args[0]);
			if (!timer) continue;
			const setup = callee.startsWith('hrtimer_setup');
			const mode = args[args.length - 1]?.text.replace(/\s+/g, ' ');
			const callback = setup && args[1]?.type === 'identifier' ? args[1].text : undefined;
			out.timers.push({ timer, callback, mode, via: callee, line: node.startPosition.row });
			continue;
		}
		const irq = IRQ_CALLS[callee];
		if (!irq) continue;
		const handler = args[irq.handler];
		if (handler?.type !== 'identifier' || handler.text === 'NULL') continue;
		const thread = irq.thread !== undefined ? args[irq.thread] : undefined;
		out.irqs.push({
			handler: handler.text,
			threadFn: thread?.type === 'identifier' && thread.text !== 'NULL' ? thread.text : undefined,
			flags: irq.flags !== undefined ? (args[irq.flags]?.text.replace(/\s+/g, ' ') ?? '') : '',
			via: callee,
			line: node.startPosition.row,
		});
	}
	return out.timers.length || out.irqs.length ? out : undefined;
}

/** `&vcpu->arch.xen.timer` → "arch.xen.timer"; a global `&my_timer` → "my_timer". */
function timerKey(arg: SyntaxNode | null | undefined): string | undefined {
	if (!arg) return undefined;
	const path = canonicalPath(arg, {});
	if (!path) return undefined;
	const dot = path.indexOf('.');
	return dot < 0 ? path : path.slice(dot + 1);
}

/** Flags that keep a primary handler in hard-IRQ context under forced threading (kernel/irq/manage.c). */
const HARD_FLAGS = /\bIRQF_(NO_THREAD|PERCPU|ONESHOT)\b/;

/** A function the kernel runs in hard-IRQ context even on PREEMPT_RT, and why. */
export interface HardIrqEntry {
	fn: string;
	why: string;
	file: string;
	line: number;
}

/**
 * The hard-IRQ entry points of the tree. A timer is hard when one of its setups names a
 * *_HARD mode (hrtimer_init()/hrtimer_setup() decide; hrtimer_start() must agree, so it
 * counts when no setup names the mode); a handler is hard when its request says so.
 */
export function hardIrqEntries(files: readonly { file: string; entries?: IrqEntries }[]): Map<string, HardIrqEntry> {
	const out = new Map<string, HardIrqEntry>();
	const timers = new Map<string, { file: string; setups: TimerSetup[] }[]>();
	for (const f of files) {
		for (const t of f.entries?.timers ?? []) {
			const list = timers.get(t.timer) ?? [];
			let own = list.find((x) => x.file === f.file);
			if (!own) list.push((own = { file: f.file, setups: [] }));
			own.setups.push(t);
			timers.set(t.timer, list);
		}
	}
	for (const [timer, perFile] of timers) {
		const setups = perFile.flatMap((p) => p.setups.map((s) => ({ ...s, file: p.file })));
		const inits = setups.filter((s) => s.mode && /^hrtimer_(init|setup)/.test(s.via));
		const deciding = inits.length ? inits : setups.filter((s) => s.mode);
		const hard = deciding.find((s) => /_HARD\b/.test(s.mode!));
		if (!hard) continue;
		for (const s of setups) {
			if (!s.callback || out.has(s.callback)) continue;
			out.set(s.callback, {
				fn: s.callback,
				why: `${s.callback}() is the callback of an ${hard.mode} hrtimer (${timer}, ${hard.via}() at ${hard.file}:${hard.line + 1}): hard-IRQ context, even on PREEMPT_RT`,
				file: hard.file,
				line: hard.line,
			});
		}
	}
	for (const f of files) {
		for (const r of f.entries?.irqs ?? []) {
			if (out.has(r.handler)) continue;
			const percpu = /percpu|nmi/.test(r.via);
			if (!percpu && !HARD_FLAGS.test(r.flags)) continue;
			const how = percpu ? `${r.via}()` : `${r.via}() with ${HARD_FLAGS.exec(r.flags)![0]}`;
			out.set(r.handler, {
				fn: r.handler,
				why: `${r.handler}() is an interrupt handler requested by ${how} at ${f.file}:${r.line + 1}: not force-threaded, hard-IRQ context even on PREEMPT_RT`,
				file: f.file,
				line: r.line,
			});
		}
	}
	return out;
}

import { readFileSync } from 'node:fs';
import { Engine } from '../../server/src/analysis/engine';
import { analyzeFunction, functionName } from '../../server/src/analysis/flow';
(async () => {
	const e = await Engine.create();
	const f = process.argv[2];
	const text = readFileSync(f, 'latin1');
	let t = performance.now();
	const tree = e.parser.parse(text)!;
	const r = e.analyze([{ file: f, read: () => text, tree: () => tree }]);
	console.log('engine', Math.round(performance.now() - t));
	for (const fn of tree.rootNode.descendantsOfType('function_definition')) {
		t = performance.now();
		const a = analyzeFunction(fn!, r.knowledge);
		const ms = performance.now() - t;
		if (ms > 100) console.log(functionName(fn!), Math.round(ms), 'ms', a.iterations, 'iterations', a.cfg.nodes.length, 'nodes', fn!.endPosition.row - fn!.startPosition.row, 'lines');
	}
	process.exit(0);
})();

import { runFuzz } from './fuzz';
(async () => {
	const t = performance.now();
	const [slices, wholeFiles, generated, fixtures] = process.argv.slice(2).map(Number);
	const { reports, corpus } = await runFuzz({ seed: Number(process.env.SEED ?? 1), slices, wholeFiles, generated, fixtures });
	console.log('corpus', corpus.whole.length, corpus.slices.length, corpus.fixtures.length, corpus.kernel);
	for (const r of reports) console.log(r.family, r.cases, r.edits, r.seconds.toFixed(1), (r.seconds / r.cases * 1000).toFixed(1), 'ms/case', r.failures.map((f) => f.slice(0, 3000)));
	console.log('total', ((performance.now() - t) / 1000).toFixed(1));
	process.exit(0);
})();

import { describe } from 'vitest';
import { everyFileTest, wholeTreeCheckTest } from './all-files';
import { ENABLED } from './tier';

describe.skipIf(!ENABLED)('every file of linux-6.1', () => {
	everyFileTest('6.1');
	wholeTreeCheckTest('6.1');
});

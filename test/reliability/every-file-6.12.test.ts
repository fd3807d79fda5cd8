import { describe } from 'vitest';
import { everyFileTest, wholeTreeCheckTest } from './all-files';
import { ENABLED } from './tier';

describe.skipIf(!ENABLED)('every file of linux-6.12', () => {
	everyFileTest('6.12');
	wholeTreeCheckTest('6.12');
});

// Write errors name the file they were writing (fs write/fsync errors do not), keeping their code.
import test from 'ava';
import { namingPath } from '../../lib/atomic.js';

test('a write error without a path gets the destination prefixed, its code kept; one that has it is left alone', (t) => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const named = namingPath(enospc, '/data/stack/.livestack/livestack.state') as NodeJS.ErrnoException;
  t.is(named.message, '/data/stack/.livestack/livestack.state: ENOSPC: no space left on device, write');
  t.is(named.code, 'ENOSPC');
  t.is(named.cause, enospc);
  const open = Object.assign(new Error("ENOENT: no such file or directory, open '/data/x.fits.tmp-1'"), { code: 'ENOENT' });
  t.is(namingPath(open, '/data/x.fits'), open);
});

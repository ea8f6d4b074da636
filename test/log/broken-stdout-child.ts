// A process whose stdout reader has gone: it logs through the real logger and exits at once, as the worker
// does when its door process dies during its start.
import { createLogger } from '../../src/log/logger.ts';

process.stdin.once('data', () => {
  const log = createLogger('info');
  log.info('a line still buffered at exit');
  log.info('and another');
  process.exit(0);
});

// The collector the ack comparison of collector.bench.mjs runs against: startCollector in its
// own process, with the internal `ack` option the CLI does not offer ('queued': 200 once queued,
// the behaviour before durable acknowledgement; 'committed': 200 once the rows are in SQLite).
//   node bench/collector-child.mjs <db path> <queued|committed>
// Prints "listening on <url>"; SIGTERM writes what was received and exits.
import { startCollector } from '../dist/src/collector/server.js';

const [dbPath, ack] = process.argv.slice(2);
if (!dbPath || (ack !== 'queued' && ack !== 'committed')) {
  console.error('usage: node bench/collector-child.mjs <db path> <queued|committed>');
  process.exit(2);
}
const collector = await startCollector({ port: 0, grpcPort: false, db: dbPath, ack });
console.log(`listening on ${collector.url}`);
process.once('SIGTERM', () => {
  collector.close().then(() => process.exit(0), () => process.exit(1));
});

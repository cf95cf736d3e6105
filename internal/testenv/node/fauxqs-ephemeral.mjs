// Starts fauxqs (an SQS emulator speaking the AWS JSON 1.0 protocol) in memory on
// 127.0.0.1 with an ephemeral port and prints "listening PORT". It exits when its stdin
// closes, so it never outlives the test run. fauxqs's own startFauxqs listens on 0.0.0.0;
// the tests stay on loopback, so this builds the app and listens itself.
//
// FAUXQS_MODULES is the node_modules directory holding fauxqs (an ES module: NODE_PATH
// does not apply to import). Queue URLs are built from the request's Host header
// (http://127.0.0.1:PORT/000000000000/NAME), as an empty store host asks.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.FAUXQS_MODULES;
if (!modules) {
  process.stderr.write('fauxqs-ephemeral: FAUXQS_MODULES is not set\n');
  process.exit(2);
}
const dist = path.join(modules, 'fauxqs', 'dist');
const { buildApp } = await import(pathToFileURL(path.join(dist, 'app.js')).href);
const { SqsStore } = await import(pathToFileURL(path.join(dist, 'sqs', 'sqsStore.js')).href);

const sqsStore = new SqsStore();
sqsStore.host = '';
const app = buildApp({ logger: false, stores: { sqsStore } });
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write('listening ' + app.server.address().port + '\n');

const stop = () => { app.close().finally(() => process.exit(0)); };
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

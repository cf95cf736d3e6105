// Starts dynalite in memory on 127.0.0.1 with an ephemeral port and prints
// "listening PORT". It exits when its stdin closes, so it never outlives the test run.
const dynalite = require('dynalite');
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  process.stdout.write('listening ' + server.address().port + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
// dynalite rethrows a request's 'error' event (index.js: req.on('error', err => { throw err })),
// so one client that goes away mid-body (a cancelled context, a fault test) would end the
// server for every test after it. A client leaving is not a server failure: log it and go on.
process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) {
    process.stderr.write('dynalite: a client went away mid-request (' + err.message + '); still serving\n');
    return;
  }
  process.stderr.write(String((err && err.stack) || err) + '\n');
  process.exit(1);
});

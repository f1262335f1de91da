// Preloaded into every test file's process by scripts/run-tests.js (`--import`).
//
// A test file whose tests are done must exit even if something it started (a server, a timer, a
// child process) still holds the event loop, or the suite waits for it until its overall bound.
// Node's own `--test-force-exit` does that, but it exits before the file's last results have
// crossed the pipe to the runner: under load the runner then counts fewer tests than ran, and a
// failure's name and message can be lost (nodejs/node#64833). This exits the same file a grace
// period after its last test instead, once its results are written, with the exit status the test
// runner already chose, and says which file it had to stop.
import { after } from 'node:test';

const GRACE_MS = Number(process.env.FIREBREAK_TEST_EXIT_GRACE_MS ?? 3000);

after(() => {
  const timer = setTimeout(() => {
    process.stderr.write(`run-tests: ${process.argv[1]} still held the event loop ${GRACE_MS} ms after its last test; exited\n`);
    process.exit();
  }, GRACE_MS);
  // Never keeps a file alive: one that exits by itself does so at once.
  timer.unref();
});

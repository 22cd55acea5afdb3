#!/usr/bin/env node
// Launcher: the compiled CLI lives in dist/ (built by `npm install` through the `prepare` script).
// It runs the CLI in this same process, never as a child: the pid a supervisor starts is the
// server's, so its SIGTERM drains the server (docs/operations.md, src/cli/signals.test.ts).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('lancash: not built yet; run `npm install` (or `npm run build`) first');
    process.exit(1);
  }
  throw err;
});

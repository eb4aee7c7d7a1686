#!/usr/bin/env node
// The `bamboo` command. An installed package runs its build (dist/); a checkout of the sources
// runs them through tsx (a dev dependency), so an edit needs no build.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const sources = join(__dirname, '..', 'cli', 'main.ts');
let main;
if (existsSync(sources)) {
  require('tsx/cjs');
  ({ main } = require(sources));
} else {
  ({ main } = require('../dist/cli/main.js'));
}
main(process.argv).then((code) => process.exit(code));

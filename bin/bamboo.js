#!/usr/bin/env node
// The `bamboo` command: runs the TypeScript CLI through tsx (no build step).
require('tsx/cjs');
const { main } = require('../cli/main.ts');
main(process.argv).then((code) => process.exit(code));

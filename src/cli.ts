#!/usr/bin/env node
import { Command } from 'commander';
import * as start from './cli/start.ts';
import * as checkConfig from './cli/check-config.ts';
import * as evalCmd from './cli/eval.ts';
import * as replay from './cli/replay.ts';
import * as simulate from './cli/simulate.ts';
import * as users from './cli/users.ts';

/**
 * The `bulwark` command line. Each subcommand lives in `src/cli/<name>.ts` and exports
 * `register(program: Command): void`; add it to the list below.
 */
const program = new Command();
program.name('bulwark').description('Bulwark: API abuse detection and mitigation gateway').version('0.1.0');

const modules: { register(p: Command): void }[] = [start, checkConfig, evalCmd, replay, simulate, users];
for (const m of modules) m.register(program);

await program.parseAsync(process.argv);

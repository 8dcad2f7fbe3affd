import type { Command } from 'commander';
import { loadPolicy } from '../config/load.ts';
import { ConfigError } from '../config/errors.ts';

/**
 * Validates a policy file. Prints `ok` (exit 0), or one line per problem as `CODE path: reason`
 * (e.g. `BWK_CONFIG_INVALID rateLimits[2].limit: expected positive integer`) on stderr and exits 1.
 * @returns the process exit code.
 */
export function checkConfig(file: string, out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  try {
    loadPolicy(file);
    out('ok\n');
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const i of e.issues) err(`${e.code} ${i.path || '(root)'}: ${i.message}\n`);
      return 1;
    }
    err(`BWK_CONFIG_READ (root): ${(e as Error).message}\n`);
    return 1;
  }
}

/** Registers `bulwark check-config FILE`. */
export function register(program: Command): void {
  program
    .command('check-config')
    .description('Validate a policy file: prints "ok", or each error as "CODE path: reason" and exits 1')
    .argument('<file>', 'policy YAML file')
    .action((file: string) => {
      process.exitCode = checkConfig(file);
    });
}

import type { Command } from 'commander';
import YAML from 'yaml';
import { runSimulation, formatReport, type SimulateOptions } from '../simulate/run.ts';
import { simulatePolicy } from '../simulate/policy.ts';

/** Flags of `bulwark simulate` (commander output). */
interface SimulateFlags {
  target?: string;
  factor: string;
  duration: string;
  scale: string;
  seed: string;
  json?: boolean;
  progress: boolean;
  printPolicy?: boolean;
}

function num(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new RangeError(`--${name} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return n;
}

/**
 * A progress bar on stderr: redrawn in place on a TTY, one line every 10 % otherwise (CI logs stay short).
 * @returns the progress callback and a function that ends the bar.
 */
function progressBar(enabled: boolean): { update: NonNullable<SimulateOptions['onProgress']>; end(): void } {
  const tty = process.stderr.isTTY === true;
  let lastDecile = -1;
  const render = (p: Parameters<NonNullable<SimulateOptions['onProgress']>>[0]): string => {
    const width = 30;
    const filled = Math.round(p.done * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(p.done * 100).toFixed(0).padStart(3)}%  requests ${p.sent}  blocked ${p.blocked}  attacks stopped ${p.stopped}/${p.attacks}`;
  };
  return {
    update: (p) => {
      if (!enabled) return;
      if (tty) process.stderr.write(`\r${render(p)}`);
      else {
        const d = Math.floor(p.done * 10);
        if (d > lastDecile) {
          lastDecile = d;
          process.stderr.write(`${render(p)}\n`);
        }
      }
    },
    end: () => {
      if (enabled && tty) process.stderr.write('\n');
    },
  };
}

/** Registers `bulwark simulate`. Exit code 1 when a target is missed, 2 on a usage error. */
export function register(program: Command): void {
  program
    .command('simulate')
    .description('Run benign users and attackers of every kind against a gateway in front of the demo API; report who was stopped')
    .option('-t, --target <url>', 'gateway URL on loopback (default: start a gateway + demo API in-process with the simulation policy)')
    .option('-f, --factor <n>', 'time compression factor F: windows, bans and think times divided by F', '60')
    .option('-d, --duration <minutes>', 'simulated minutes to run (wall time = minutes × 60 / F seconds)', '80')
    .option('--scale <x>', 'benign population scale (1 = 16 browser, 8 mobile, 20 shared-IP users, 1 crawler)', '1')
    .option('--seed <n>', 'random seed', '7')
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--print-policy', 'print the time-compressed simulation policy (YAML) for a gateway started separately, then exit')
    .action(async (flags: SimulateFlags) => {
      let opts: SimulateOptions;
      try {
        opts = {
          target: flags.target,
          factor: num('factor', flags.factor, 1, 1000),
          durationMin: num('duration', flags.duration, 1, 600),
          scale: num('scale', flags.scale, 0.1, 4),
          seed: num('seed', flags.seed, 0, 2 ** 32),
        };
        if (opts.target !== undefined) {
          let host: string;
          try {
            host = new URL(opts.target).hostname;
          } catch {
            throw new RangeError(`--target must be a URL such as http://127.0.0.1:8080, got ${JSON.stringify(opts.target)}`);
          }
          if (!['127.0.0.1', '[::1]', 'localhost'].includes(host)) throw new RangeError(`--target must be on loopback (127.0.0.1, [::1]), got ${host}`);
        }
        const wallS = (opts.durationMin! * 60) / opts.factor!;
        if (wallS > 600) throw new RangeError(`the run would take ${wallS.toFixed(0)} s of wall time (max 600): raise --factor or lower --duration`);
      } catch (err) {
        process.stderr.write(`bulwark simulate: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      if (flags.printPolicy) {
        process.stdout.write(`# bulwark simulate policy, time compression F = ${opts.factor}: windows and durations divided by F\n` + YAML.stringify(simulatePolicy(opts.factor!)));
        return;
      }
      if (opts.target) {
        process.stderr.write(
          `bulwark simulate: the gateway at ${opts.target} must run the simulation policy with the same factor\n` +
            `  (bulwark simulate --print-policy --factor ${opts.factor} > sim.yaml && bulwark start --policy sim.yaml)\n`,
        );
      }
      const bar = progressBar(flags.progress && !flags.json);
      opts.onProgress = bar.update;
      let report;
      try {
        report = await runSimulation(opts);
      } catch (err) {
        bar.end();
        process.stderr.write(`bulwark simulate: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      bar.end();
      process.stdout.write((flags.json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
      process.exitCode = report.ok ? 0 : 1;
    });
}

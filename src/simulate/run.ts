import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sim, type ClientStats } from './sim.ts';
import { scenarios as allScenarios, type Scenario } from './scenarios.ts';
import { simulatePolicy } from './policy.ts';

/**
 * `bulwark simulate`: runs benign users and attackers of every kind against a live gateway in front of the demo
 * API (an in-process `startBulwark()` on loopback with the time-compressed simulation policy when no target
 * is given), then reports per scenario whether and how fast it was stopped, and for benign traffic whether
 * anyone was blocked. Bounded in time (`durationMin` simulated minutes = durationMin × 60 / F wall seconds,
 * plus a grace period of 15 s for requests in flight) and in count (every attacker has a request cap).
 */

/** Options of {@link runSimulation}. */
export interface SimulateOptions {
  /** Time compression factor F (default 60: one simulated minute per wall second). */
  factor?: number;
  /** Simulated minutes to run (default 80). */
  durationMin?: number;
  /** Gateway URL (loopback only). When absent, a gateway and demo API are started in-process. */
  target?: string;
  /** Benign population scale (default 1; short runs use less). */
  scale?: number;
  seed?: number;
  /** Adjusts the simulation policy before the in-process gateway starts (e.g. to put a detector in monitor mode). */
  adjustPolicy?: (policy: Record<string, unknown>) => Record<string, unknown>;
  /** Called about every 250 ms with progress (elapsed 0–1, requests, blocked). */
  onProgress?: (p: { done: number; sent: number; blocked: number; stopped: number; attacks: number }) => void;
}

/** Result of one scenario. Times: wall seconds and simulated seconds (wall × F). */
export interface ScenarioReport {
  name: string;
  kind: 'benign' | 'attack';
  description: string;
  expected?: string;
  clients: number;
  requests: number;
  passed: number;
  blocked: number;
  errors: number;
  /** Attack: blocked at least once and ≥ 90 % of its later requests blocked. */
  stopped: boolean;
  /** Requests the scenario (all its clients) had sent when its first request was blocked. */
  requestsUntilStopped?: number;
  wallSecondsUntilStopped?: number;
  simSecondsUntilStopped?: number;
  /** Share of its requests that reached the upstream. */
  throughShare: number;
  /** Clients that were blocked at least once. */
  clientsBlocked: number;
  /** Rule ids that blocked its clients first (from the gateway's security events; in-process runs only). */
  blockedBy: string[];
}

/** A pass/fail target of the run. */
export interface Target {
  name: string;
  ok: boolean;
  detail: string;
}

/** The whole report. */
export interface SimulationReport {
  factor: number;
  durationMin: number;
  wallSeconds: number;
  scenarios: ScenarioReport[];
  benign: { clients: number; clientsBlocked: number; requests: number; blocked: number; blockedShare: number };
  sharedIp: { clients: number; clientsBlocked: number; requests: number; blocked: number };
  /** Rule ids of the decisions created during the run, with counts. */
  decisions: Record<string, number>;
  targets: Target[];
  ok: boolean;
}

function summarize(s: Scenario, stats: ClientStats[], factor: number, until: number | undefined, reasons: Map<string, string[]>): ScenarioReport {
  const sum = (f: (c: ClientStats) => number): number => stats.reduce((a, c) => a + f(c), 0);
  const requests = sum((c) => c.sent);
  const passed = sum((c) => c.passed);
  const blocked = sum((c) => c.blocked);
  const blockedClients = stats.filter((c) => c.firstBlockIndex !== undefined);
  const first = blockedClients.reduce<ClientStats | undefined>((a, c) => (a === undefined || c.firstBlockMs! < a.firstBlockMs! ? c : a), undefined);
  // After the first block, each client's later requests: ≥ 90 % of them must be blocked too (a rate limit that
  // lets the flood through at the limit would not count as stopped). Clients never blocked count fully.
  let after = 0;
  let afterPassed = 0;
  for (const c of stats) {
    if (c.firstBlockIndex !== undefined) {
      after += c.afterBlockSent;
      afterPassed += c.afterBlockPassed;
    } else if (first !== undefined) {
      after += c.sent;
      afterPassed += c.passed;
    }
  }
  const r: ScenarioReport = {
    name: s.name,
    kind: s.kind,
    description: s.description,
    expected: s.expected,
    clients: stats.length,
    requests,
    passed,
    blocked,
    errors: sum((c) => c.errors),
    stopped: first !== undefined && (after === 0 || afterPassed / after <= 0.1),
    throughShare: requests ? passed / requests : 0,
    clientsBlocked: blockedClients.length,
    blockedBy: [...new Set(blockedClients.flatMap((c) => reasons.get(c.ip) ?? []))].slice(0, 4),
  };
  if (first) {
    r.requestsUntilStopped = until;
    r.wallSecondsUntilStopped = first.firstBlockMs! / 1000;
    r.simSecondsUntilStopped = (first.firstBlockMs! / 1000) * factor;
  }
  return r;
}

/**
 * Runs the simulation.
 * @returns the report (`ok` false when a target is missed).
 * @throws {RangeError} for a non-loopback target or an invalid factor.
 */
export async function runSimulation(opts: SimulateOptions = {}): Promise<SimulationReport> {
  const factor = opts.factor ?? 60;
  const durationMin = opts.durationMin ?? 80;
  const policy = opts.adjustPolicy ? opts.adjustPolicy(simulatePolicy(factor)) : simulatePolicy(factor);
  let target = opts.target;
  let stop: (() => Promise<void>) | undefined;
  const decisionCounts: Record<string, number> = {};
  /** client IP → rule ids of its first enforced (non-monitor) block or throttle. */
  const firstReasons = new Map<string, string[]>();
  if (target === undefined) {
    const { startBulwark } = await import('../app.ts');
    const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-sim-'));
    const app = await startBulwark({ policy, dataDir, host: '127.0.0.1', gatewayPort: 0, adminPort: 0, demoPort: 0, logLevel: 'silent', watch: false });
    target = app.gatewayUrl;
    const unsubs = [
      app.services.decisions.subscribe((ch) => {
        if (ch.op === 'put') decisionCounts[ch.decision.source] = (decisionCounts[ch.decision.source] ?? 0) + 1;
      }),
      app.services.events.subscribe((e) => {
        if ((e.action === 'throttle' || e.action === 'block' || e.action === 'ban') && !firstReasons.has(e.clientIp) && firstReasons.size < 10_000) firstReasons.set(e.clientIp, e.reasons.slice(0, 3));
      }),
    ];
    stop = async () => {
      for (const u of unsubs) u();
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  const wallMs = (durationMin * 60_000) / factor;
  const t0 = Date.now();
  const sim = new Sim({ target, factor, deadline: t0 + wallMs, seed: opts.seed ?? 7 });
  const list = allScenarios(opts.scale ?? 1);
  const attacks = list.filter((s) => s.kind === 'attack');
  const timer = setInterval(() => {
    const stopped = attacks.filter((s) => sim.clients.some((c) => c.stats.scenario === s.name && c.stats.firstBlockIndex !== undefined)).length;
    opts.onProgress?.({ done: Math.min(1, (Date.now() - t0) / wallMs), sent: sim.sent, blocked: sim.blocked, stopped, attacks: attacks.length });
  }, 250);
  try {
    const runs = list.map(async (s) => {
      await sim.wait(s.startMin * 60);
      if (!sim.running) return;
      await s.run(sim, Date.now());
    });
    const grace = new Promise<void>((r) => setTimeout(r, wallMs + 15_000).unref());
    await Promise.race([Promise.all(runs), grace]);
  } finally {
    clearInterval(timer);
    await sim.close().catch(() => {});
    await stop?.();
  }
  const scenarios = list.map((s) => summarize(s, sim.clients.filter((c) => c.stats.scenario === s.name).map((c) => c.stats), factor, sim.scenarioFirstBlock.get(s.name), firstReasons));
  const benignStats = sim.clients.filter((c) => list.find((s) => s.name === c.stats.scenario)?.kind === 'benign').map((c) => c.stats);
  const shared = sim.clients.filter((c) => c.stats.scenario === 'benign-shared-ip').map((c) => c.stats);
  const bReq = benignStats.reduce((a, c) => a + c.sent, 0);
  const bBlk = benignStats.reduce((a, c) => a + c.blocked, 0);
  const report: SimulationReport = {
    factor,
    durationMin,
    wallSeconds: (Date.now() - t0) / 1000,
    scenarios,
    benign: { clients: benignStats.length, clientsBlocked: benignStats.filter((c) => c.blocked > 0).length, requests: bReq, blocked: bBlk, blockedShare: bReq ? bBlk / bReq : 0 },
    sharedIp: { clients: shared.length, clientsBlocked: shared.filter((c) => c.blocked > 0).length, requests: shared.reduce((a, c) => a + c.sent, 0), blocked: shared.reduce((a, c) => a + c.blocked, 0) },
    decisions: decisionCounts,
    targets: [],
    ok: false,
  };
  const missed = scenarios.filter((s) => s.kind === 'attack' && !s.stopped).map((s) => s.name);
  report.targets.push({ name: 'every attacker kind stopped', ok: missed.length === 0, detail: missed.length ? `not stopped: ${missed.join(', ')}` : `${attacks.length}/${attacks.length} stopped` });
  report.targets.push({ name: 'no benign client blocked', ok: report.benign.clientsBlocked === 0, detail: `${report.benign.clientsBlocked} of ${report.benign.clients} benign clients blocked` });
  report.targets.push({ name: 'shared-IP users not blocked', ok: report.sharedIp.clientsBlocked === 0 && report.sharedIp.requests > 0, detail: `${report.sharedIp.clientsBlocked} of ${report.sharedIp.clients} users behind 100.64.7.7 blocked, ${report.sharedIp.requests} requests` });
  const benignActive = scenarios.filter((s) => s.kind === 'benign').every((s) => s.requests > 0);
  report.targets.push({ name: 'benign traffic flowed', ok: benignActive, detail: scenarios.filter((s) => s.kind === 'benign').map((s) => `${s.name} ${s.requests}`).join(', ') });
  report.ok = report.targets.every((t) => t.ok);
  return report;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Formats the report as the plain-text table `bulwark simulate` prints. */
export function formatReport(r: SimulationReport): string {
  const L: string[] = [];
  L.push(`Bulwark simulate — ${r.durationMin} simulated minutes in ${r.wallSeconds.toFixed(1)} s wall time`);
  L.push(`Time compression F = ${r.factor}: every detector window, bucket, ban and rate-limit window is divided by ${r.factor}, and so are`);
  L.push(`the clients' think times and rates. Each client puts the same number of events into each (scaled) window as in`);
  L.push(`real time, so every threshold ("more than 5 failed logins in 10 minutes") compares the same counts and means the same.`);
  L.push(`Simulation policy differences from the default: trusted proxy 127.0.0.1; session tokens as identity (accepted on`);
  L.push(`the demo's authenticated routes); 100/min per session + 200/min per IP (exceeding it bans 15 min) + 30 logins/min`);
  L.push(`per IP, for 20 users behind one NAT IP; fingerprint flood minRequests 100/min (default 600: too many requests for`);
  L.push(`this machine at F); flow rule payment-needs-balance. Times are given in simulated seconds (sim s) and wall seconds.`);
  if (r.durationMin < 64) L.push(`Note: the low-and-slow attacker needs about 60 simulated minutes (20 failures, one per 140–180 s) to be caught.`);
  L.push('');
  const head = ['scenario', 'clients', 'requests', 'stopped', 'reqs→stop', 'sim s→stop', 'wall s→stop', 'through', 'first blocked by'];
  const rows = r.scenarios
    .filter((s) => s.kind === 'attack')
    .map((s) => [
      s.name,
      String(s.clients),
      String(s.requests),
      s.stopped ? 'yes' : 'NO',
      s.requestsUntilStopped === undefined ? '-' : String(s.requestsUntilStopped),
      s.simSecondsUntilStopped === undefined ? '-' : s.simSecondsUntilStopped.toFixed(0),
      s.wallSecondsUntilStopped === undefined ? '-' : s.wallSecondsUntilStopped.toFixed(2),
      pct(s.throughShare),
      s.blockedBy.join(' ') || '-',
    ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  L.push('Attackers');
  L.push(line(head));
  for (const row of rows) L.push(line(row));
  L.push('');
  L.push('Benign traffic');
  const bh = ['scenario', 'clients', 'requests', 'clients blocked', 'requests blocked', 'blocked by'];
  const brows = r.scenarios
    .filter((s) => s.kind === 'benign')
    .map((s) => [s.name, String(s.clients), String(s.requests), String(s.clientsBlocked), pct(s.requests ? s.blocked / s.requests : 0), s.blockedBy.join(' ') || '-']);
  brows.push(['all benign', String(r.benign.clients), String(r.benign.requests), String(r.benign.clientsBlocked), pct(r.benign.blockedShare), '']);
  const bw = bh.map((h, i) => Math.max(h.length, ...brows.map((row) => row[i]!.length)));
  const bline = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(bw[i]!) : c.padStart(bw[i]!))).join('  ');
  L.push(bline(bh));
  for (const row of brows) L.push(bline(row));
  if (Object.keys(r.decisions).length) {
    L.push('');
    L.push('Decisions created, by rule: ' + Object.entries(r.decisions).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', '));
  }
  L.push('');
  L.push('Targets');
  for (const t of r.targets) L.push(`  [${t.ok ? 'ok' : 'MISSED'}] ${t.name}: ${t.detail}`);
  L.push(r.ok ? 'All targets met.' : 'Some targets missed.');
  return L.join('\n');
}

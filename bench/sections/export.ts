/**
 * Export memory (`npm run bench export`, or `node bench/sections/export.ts`): issue 5 requires that an
 * export of 100,000 events streams in constant memory. A child process runs Bulwark with the control plane
 * on a temporary SQLite database and inserts synthetic security events (≈ 0.8 KB of JSON each, with signals
 * and evidence); this process downloads `GET /api/v1/events/export` over HTTP (CSV and NDJSON) while the
 * child samples its own RSS and V8 heap every 10 ms. Printed: bytes streamed, time, the peak RSS / heap
 * growth over the pre-export baseline (includes garbage not yet collected, so it depends on GC pacing), and
 * the heap still retained after a forced GC, at 10,000 and 100,000 events (env BENCH_EXPORT_EVENTS). Constant
 * memory means the growth does not scale with the event count (the NDJSON body itself is ~100 MB).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SELF = fileURLToPath(import.meta.url);
const CHILD_FLAG = 'bench-export-child';
const PASSWORD = 'bench-export-password';
const MB = 1024 * 1024;
/** Event counts measured, cumulative (env BENCH_EXPORT_EVENTS, comma-separated; default 10000,100000). */
const SIZES = (process.env.BENCH_EXPORT_EVENTS ?? '10000,100000').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);

type Msg = { type: string; [k: string]: unknown };

function ask(child: ChildProcess, msg: Msg, type: string, timeoutMs = 600_000): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`export bench: no ${type} from child`)), timeoutMs);
    const on = (m: Msg): void => {
      if (m?.type !== type) return;
      clearTimeout(t);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send(msg);
  });
}

/** Child: Bulwark + control plane on a temp data dir; fills the event store and samples memory on request. */
async function child(): Promise<void> {
  const { startBulwark } = await import('../../src/app.ts');
  const { controlPlanePlugin } = await import('../../src/controlplane/plugin.ts');
  const { uuidv7 } = await import('../../src/events/record.ts');
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const dataDir = await mkdtemp(join(tmpdir(), 'bulwark-bench-export-'));
  process.env.BULWARK_ADMIN_PASSWORD = PASSWORD;
  const app = await startBulwark({ dataDir, host: '127.0.0.1', gatewayPort: 0, adminPort: 0, demoPort: 0, logLevel: 'silent', watch: false, plugins: [controlPlanePlugin] });
  let inserted = 0;
  let sampler: NodeJS.Timeout | undefined;
  let peak = { rss: 0, heap: 0 };
  process.on('message', async (m: Msg) => {
    if (m.type === 'fill') {
      const target = m.n as number;
      const t0 = Date.now() - 86_400_000;
      while (inserted < target) {
        const batch = [];
        for (let i = 0; i < 1000 && inserted < target; i++, inserted++) {
          const time = t0 + inserted;
          batch.push({
            id: uuidv7(time), time, requestId: `bench-${inserted}`, clientIp: `10.${(inserted >> 16) & 255}.${(inserted >> 8) & 255}.${inserted & 255}`,
            clientKey: `10.${(inserted >> 16) & 255}.${(inserted >> 8) & 255}.${inserted & 255}`, country: 'DE', method: 'GET',
            target: `/api/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--&page=${inserted}`, route: '/api/search', host: 'bench.local',
            userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36', status: 403,
            action: 'block' as const, wouldBe: 'block' as const, monitor: false, anomalyScore: 10, risk: 0.7, level: 'HIGH' as const,
            signals: [
              { ruleId: 'sqli.942100', detector: 'payload', category: 'sqli', score: 5, severity: 'critical' as const, tags: ['OWASP_CRS/ATTACK-SQLI', 'CWE-89'],
                evidence: { location: { kind: 'query' as const, name: 'q' }, value: "1' UNION SELECT password FROM users--", transformed: "1' union select password from users--", matched: 'union select' } },
              { ruleId: 'sqli.942190', detector: 'payload', category: 'sqli', score: 5, severity: 'critical' as const, evidence: { matched: 'select password from' } },
            ],
            reasons: ['sqli.942100', 'sqli.942190'], latencyMs: 0.4, category: 'sqli',
          });
        }
        await app.services.eventStore.insertBatch(batch);
      }
      process.send!({ type: 'filled', n: inserted });
    } else if (m.type === 'baseline') {
      gc();
      await new Promise((r) => setTimeout(r, 50));
      gc();
      const u = process.memoryUsage();
      peak = { rss: u.rss, heap: u.heapUsed };
      sampler = setInterval(() => {
        const x = process.memoryUsage();
        if (x.rss > peak.rss) peak.rss = x.rss;
        if (x.heapUsed > peak.heap) peak.heap = x.heapUsed;
      }, 10);
      process.send!({ type: 'baseline', rss: u.rss, heap: u.heapUsed });
    } else if (m.type === 'peak') {
      if (sampler) clearInterval(sampler);
      gc();
      await new Promise((r) => setTimeout(r, 50));
      gc();
      process.send!({ type: 'peak', rss: peak.rss, heap: peak.heap, retained: process.memoryUsage().heapUsed });
    } else if (m.type === 'stop') {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
      process.exit(0);
    }
  });
  process.send!({ type: 'ready', url: app.adminUrl });
}

/** Parent: drives the child and streams the exports over HTTP. */
export async function run(): Promise<void> {
  console.log('\n## Export: 100,000 events streamed over HTTP (constant memory)');
  const c = fork(SELF, [CHILD_FLAG], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await ask(c, { type: 'noop' }, 'ready', 60_000).catch(async () => {
      throw new Error('child did not start');
    });
    const base = ready.url as string;
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const tok = await fetch(`${base}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify({ name: 'bench', role: 'viewer' }) });
    const { token } = (await tok.json()) as { token: string };
    console.log('| events | format | bytes streamed | time (s) | MB/s | peak RSS growth (MB) | peak heap growth (MB) | heap retained after GC (MB) |');
    console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
    for (const n of SIZES) {
      await ask(c, { type: 'fill', n }, 'filled');
      for (const format of ['csv', 'ndjson'] as const) {
        const b = await ask(c, { type: 'baseline' }, 'baseline');
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1/events/export?format=${format}`, { headers: { authorization: `Bearer ${token}` } });
        if (res.status !== 200) throw new Error(`export answered ${res.status}`);
        let bytes = 0;
        const reader = res.body!.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
        }
        const s = (performance.now() - t0) / 1000;
        const p = await ask(c, { type: 'peak' }, 'peak');
        const rss = ((p.rss as number) - (b.rss as number)) / MB;
        const heap = ((p.heap as number) - (b.heap as number)) / MB;
        const kept = ((p.retained as number) - (b.heap as number)) / MB;
        console.log(`| ${n.toLocaleString('en')} | ${format} | ${(bytes / MB).toFixed(1)} MB | ${s.toFixed(2)} | ${(bytes / MB / s).toFixed(1)} | ${rss.toFixed(1)} | ${heap.toFixed(1)} | ${kept.toFixed(1)} |`);
      }
    }
    console.log('Constant memory: growth at 100,000 events should be close to growth at 10,000 (not 10×), and far below the bytes streamed.');
  } finally {
    await new Promise<void>((res) => {
      if (c.exitCode !== null) return res();
      c.once('exit', () => res());
      c.send({ type: 'stop' });
    });
  }
}

if (process.argv[2] === CHILD_FLAG) await child();
else if (process.argv[1] === SELF) await run();

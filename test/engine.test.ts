import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { startUpstream, startTestBulwark, send } from './helpers/index.ts';

// Rate limits and behavioural risk are off in these tests: one client sends every attack, and the subject
// here is the payload engine's own verdict.

const run = promisify(execFile);
const CLI = new URL('../src/cli.ts', import.meta.url).pathname;

/** Own fixture corpus (not from the shared corpora): attacks of several categories and benign API requests. */
function fixture(): object[] {
  const h = (extra: [string, string][] = []) => [['Host', 'api.example.test'], ['User-Agent', 'fixture/1.0'], ...extra];
  const json = (o: unknown) => {
    const body = JSON.stringify(o);
    return { method: 'POST', target: '/api/items', headers: h([['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]]), body };
  };
  return [
    { id: 'a1', label: 'attack', category: 'sqli', method: 'GET', target: "/search?q=1%27%20or%20%271%27%3D%271", headers: h(), body: '' },
    { id: 'a2', label: 'attack', category: 'sqli', ...json({ q: "x' UNION/**/SELECT password FROM users--" }) },
    { id: 'a3', label: 'attack', category: 'xss', method: 'GET', target: '/search?q=%3Csvg%2Fonload%3Dalert(1)%3E', headers: h(), body: '' },
    { id: 'a4', label: 'attack', category: 'xss', ...json({ comment: '<img src=x onerror=alert(document.cookie)>' }) },
    { id: 'a5', label: 'attack', category: 'xss', method: 'GET', target: '/go?next=javascript%3Aalert(1)', headers: h(), body: '' },
    { id: 'b1', label: 'benign', category: null, method: 'GET', target: "/api/users?name=O%27Brien&sort=name+ASC", headers: h(), body: '' },
    { id: 'b2', label: 'benign', category: null, ...json({ message: '<p>Hello</p>', where: 'Status=="ACTIVE" AND Type=="BANK"' }) },
    { id: 'b3', label: 'benign', category: null, method: 'GET', target: '/api/search?q=select+a+drink+or+two', headers: h(), body: '' },
  ];
}

test('payload detector in the gateway: attacks get 403 over real HTTP, benign requests pass', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { rateLimits: [], behavior: { enabled: false } } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const bad = await send(bw.gatewayUrl, "/search?q=1%27%20or%20%271%27%3D%271");
  assert.equal(bad.status, 403);
  const xss = await send(bw.gatewayUrl, '/comments', { method: 'POST', body: JSON.stringify({ text: '<script>alert(1)</script>' }), headers: { 'content-type': 'application/json' } });
  assert.equal(xss.status, 403);
  const ok = await send(bw.gatewayUrl, "/api/users?name=O%27Brien");
  assert.equal(ok.status, 200);
  const okBody = await send(bw.gatewayUrl, '/comments', { method: 'POST', body: JSON.stringify({ text: '<p>Message</p>' }), headers: { 'content-type': 'application/json' } });
  assert.equal(okBody.status, 200);
  // the upstream never saw the attacks
  assert.ok(up.requests.every((r) => !r.url.includes('%271%27')));
});

test('exclusions and monitor mode from the policy file apply in the gateway', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({
    upstream: up.url,
    policy: {
      rateLimits: [],
      behavior: { enabled: false },
      detection: {
        exclusions: [{ id: 'sql-console', categories: ['sqli'], paths: ['/console/**'], parameters: ['query'] }],
        monitor: { categories: ['xss'] },
      },
    },
  });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal((await send(bw.gatewayUrl, "/console/run?query=1%27%20or%20%271%27%3D%271")).status, 200, 'excluded parameter on its route');
  assert.equal((await send(bw.gatewayUrl, "/other?query=1%27%20or%20%271%27%3D%271")).status, 403, 'same parameter elsewhere');
  assert.equal((await send(bw.gatewayUrl, '/x?c=%3Cscript%3Ealert(1)%3C%2Fscript%3E')).status, 200, 'xss in monitor mode passes');
});

test('bulwark eval --json and --misclassified on a fixture corpus; bulwark replay against a live gateway', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-eval-'));
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { rateLimits: [], behavior: { enabled: false } } });
  t.after(async () => {
    await bw.stop();
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });
  const corpus = join(dir, 'fixture.jsonl.gz');
  await writeFile(corpus, gzipSync(fixture().map((r) => JSON.stringify(r)).join('\n') + '\n'));
  const mis = join(dir, 'mis.jsonl');
  const { stdout } = await run(process.execPath, [CLI, 'eval', '--corpus', corpus, '--json', '--misclassified', mis], { timeout: 60_000 });
  const r = JSON.parse(stdout) as { overall: Record<string, number>; categories: Record<string, Record<string, number>>; timing_us: { p50: number; p99: number } };
  assert.deepEqual(Object.keys(r).sort(), ['categories', 'overall', 'timing_us']);
  assert.deepEqual(Object.keys(r.overall).sort(), ['f1', 'fn', 'fp', 'fpr', 'tn', 'tp', 'tpr']);
  assert.equal(r.overall.tp, 5);
  assert.equal(r.overall.fp, 0);
  assert.equal(r.overall.tn, 3);
  assert.equal(r.categories.sqli!.tp, 2);
  assert.equal(r.categories.xss!.tp, 3);
  assert.ok(r.timing_us.p50 > 0 && r.timing_us.p99 >= r.timing_us.p50);
  assert.equal((await readFile(mis, 'utf8')).trim(), '', 'nothing misclassified');
  // table output
  const table = await run(process.execPath, [CLI, 'eval', '--corpus', corpus, '--paranoia', '2'], { timeout: 60_000 });
  assert.match(table.stdout, /overall\s+5\s+0\s+0\s+3\s+100\.00%/);
  // bad input: exit code 2 with a message
  await assert.rejects(run(process.execPath, [CLI, 'eval', '--corpus', join(dir, 'missing.jsonl')]), (e: { code?: number; stderr?: string }) => e.code === 2 && /BWK_CORPUS_READ/.test(e.stderr ?? ''));
  // replay over raw TCP: the gateway blocks the attacks, lets benign through
  const rep = await run(process.execPath, [CLI, 'replay', '--corpus', corpus, '--target', bw.gatewayUrl, '--concurrency', '3', '--json'], { timeout: 60_000 });
  const rr = JSON.parse(rep.stdout) as { overall: Record<string, number> };
  assert.equal(rr.overall.tp, 5);
  assert.equal(rr.overall.tn, 3);
  assert.ok(up.requests.some((x) => x.url === '/api/users?name=O%27Brien&sort=name+ASC'), 'raw request-target preserved');
  await assert.rejects(run(process.execPath, [CLI, 'replay', '--corpus', corpus, '--target', 'http://192.0.2.1:8080']), (e: { code?: number }) => e.code === 2);
});

test('the whole engine stays fast on 64 KiB pathological requests through the gateway pipeline', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { rateLimits: [], behavior: { enabled: false } } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const big = 65536;
  const cases: { path: string; body?: string; ct?: string }[] = [
    { path: '/?q=' + encodeURIComponent("'".repeat(big)) },
    { path: '/p', body: JSON.stringify({ q: '<'.repeat(big) }), ct: 'application/json' },
    { path: '/p', body: JSON.stringify({ q: '('.repeat(big) }), ct: 'application/json' },
    { path: '/p', body: JSON.stringify({ q: '/*'.repeat(big / 2) }), ct: 'application/json' },
    { path: '/p', body: '['.repeat(big), ct: 'application/json' },
    { path: '/p', body: 'a[=1&'.repeat(big / 5), ct: 'application/x-www-form-urlencoded' },
    { path: '/p', body: '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n<a onx=\r\n'.repeat(1200), ct: 'multipart/form-data; boundary=b' },
    { path: '/p', body: '<a b="'.repeat(big / 6), ct: 'application/xml' },
  ];
  for (const c of cases) {
    const t0 = performance.now();
    const r = await send(bw.gatewayUrl, c.path, c.body === undefined ? {} : { method: 'POST', body: c.body, headers: { 'content-type': c.ct! } });
    const ms = performance.now() - t0;
    assert.ok(r.status === 200 || r.status === 403 || r.status === 400 || r.status === 413 || r.status === 414 || r.status === 431, `status ${r.status}`);
    assert.ok(ms < 5000, `${c.path} ${c.ct ?? ''}: ${ms.toFixed(0)} ms`);
  }
});

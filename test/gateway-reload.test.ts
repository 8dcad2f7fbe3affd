import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { startUpstream, startTestBulwark, send, getText, metricValue, tempDir } from './helpers/index.ts';
import { startBulwark } from '../src/app.ts';
import { ConfigError } from '../src/config/errors.ts';
import type { Detector } from '../src/core/detector.ts';
import type { SecurityEvent } from '../src/events/types.ts';

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function allEvents(bw: { services: { events: { flush(): Promise<void> }; eventStore: { query(q: object): Promise<{ events: SecurityEvent[] }> } } }): Promise<SecurityEvent[]> {
  await bw.services.events.flush();
  return (await bw.services.eventStore.query({ limit: 1000 })).events;
}

test('global monitor mode records "would throttle" and lets the request pass', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { mode: 'monitor', rateLimits: [{ id: 'one', limit: 1, burst: 1, window: '1m' }] } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal((await send(bw.gatewayUrl, '/')).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/')).status, 200, 'monitor mode never enforces');
  assert.equal(up.requests.length, 2);
  const ev = await allEvents(bw);
  assert.equal(ev.length, 1, 'only the "would" action becomes an event (sampleAllowed is 0)');
  assert.equal(ev[0]!.action, 'allow');
  assert.equal(ev[0]!.wouldBe, 'throttle');
  assert.equal(ev[0]!.monitor, true);
  assert.equal(ev[0]!.status, 200);
  const m = await getText(bw.adminUrl + '/metrics');
  assert.equal(metricValue(m.body, 'bulwark_decisions_total', 'action="throttle"'), 1);
  assert.ok(m.body.includes('monitor="true"'));
});

test('per-rule monitor mode: only that rule is relaxed', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({
    upstream: up.url,
    policy: {
      rateLimits: [
        { id: 'watch', limit: 1, burst: 1, window: '1m', monitor: true },
        { id: 'enforce', match: { path: '/strict/**' }, limit: 1, burst: 1, window: '1m' },
      ],
    },
  });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal((await send(bw.gatewayUrl, '/a')).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/a')).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/strict/x')).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/strict/x')).status, 429);
});

test('ban signals create decisions that block later requests', async (t) => {
  const up = await startUpstream();
  const banner: Detector = {
    name: 'test-banner',
    inspectRequest(ctx) {
      if (ctx.path === '/trap') return { ruleId: 'test.trap', detector: 'test-banner', category: 'honeypot', score: 0, action: 'ban', ban: { durationMs: 60_000 }, message: 'touched the trap' };
    },
  };
  const bw = await startTestBulwark({ upstream: up.url, policy: { rateLimits: [] }, detectors: () => [banner] });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal((await send(bw.gatewayUrl, '/ok')).status, 200);
  const trap = await send(bw.gatewayUrl, '/trap');
  assert.equal(trap.status, 403);
  const after = await send(bw.gatewayUrl, '/ok');
  assert.equal(after.status, 403, 'banned by the decision');
  const ds = bw.services.decisions.list();
  assert.equal(ds.length, 1);
  assert.equal(ds[0]!.value, '127.0.0.1');
  assert.equal(ds[0]!.source, 'test.trap');
  assert.equal(ds[0]!.reason, 'touched the trap');
  const ev = await allEvents(bw);
  assert.ok(ev.some((e) => e.action === 'ban' && e.decisionId === ds[0]!.id));
});

test('response-phase ban signals create decisions', async (t) => {
  const up = await startUpstream({ status: 401 });
  const watcher: Detector = {
    name: 'test-401',
    observeResponse(_ctx, res) {
      if (res.status === 401) return { ruleId: 'test.401', detector: 'test-401', category: 'bruteforce', score: 0, action: 'ban' };
    },
  };
  const bw = await startTestBulwark({ upstream: up.url, policy: { rateLimits: [] }, detectors: () => [watcher] });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal((await send(bw.gatewayUrl, '/login', { method: 'POST', body: 'x' })).status, 401, 'response already sent');
  await until(() => bw.services.decisions.list().length === 1);
  assert.equal((await send(bw.gatewayUrl, '/login')).status, 403);
});

test('hot reload on file change; invalid files keep the old policy', async (t) => {
  const dir = await tempDir();
  const file = join(dir, 'policy.yaml');
  await writeFile(file, 'rateLimits:\n  - id: a\n    limit: 1\n    burst: 1\n');
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policyFile: file, watch: true, dataDir: join(dir, 'data') });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal(bw.policy().rateLimits[0]!.id, 'a');
  assert.equal((await send(bw.gatewayUrl, '/')).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/')).status, 429);

  // atomic replace (how editors and ConfigMaps write)
  await writeFile(file + '.tmp', 'mode: monitor\nrateLimits:\n  - id: b\n    limit: 1\n    burst: 1\n');
  await rename(file + '.tmp', file);
  await until(() => bw.policy().rateLimits[0]?.id === 'b');
  assert.equal(bw.policy().mode, 'monitor');
  assert.equal((await send(bw.gatewayUrl, '/')).status, 200);

  // an invalid file is rejected with path: reason and the old policy stays
  const before = bw.policy();
  await writeFile(file, 'rateLimits:\n  - id: c\n    limit: -5\n');
  await until(async () => metricValue((await getText(bw.adminUrl + '/metrics')).body, 'bulwark_policy_reloads_total', 'result="error"') >= 1);
  assert.equal(bw.policy(), before);
  const m = (await getText(bw.adminUrl + '/metrics')).body;
  assert.ok(metricValue(m, 'bulwark_policy_reloads_total', 'result="success"') >= 1);

  // SIGHUP-equivalent reload() re-reads the file and throws the ConfigError
  await assert.rejects(bw.reload(), (e: unknown) => e instanceof ConfigError && e.code === 'BWK_CONFIG_INVALID' && e.issues.some((i) => i.path === 'rateLimits[0].limit'));
  assert.equal(bw.policy(), before);
  await writeFile(file, 'rateLimits: []\n');
  await bw.reload();
  assert.deepEqual(bw.policy().rateLimits, []);
});

test('reload swaps atomically: in-flight requests finish on the old pipeline', async (t) => {
  const up = await startUpstream({ delayMs: 300 });
  let closed = 0;
  const mk = (): Detector => ({ name: 'test-closable', inspectRequest() {}, close: () => void closed++ });
  const bw = await startTestBulwark({ upstream: up.url, policy: { rateLimits: [] }, detectors: () => [mk()] });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const old = bw.pipeline();
  const inflight = send(bw.gatewayUrl, '/slow');
  await new Promise((r) => setTimeout(r, 100));
  await bw.reload({ rateLimits: [], mode: 'monitor' } as never);
  assert.notEqual(bw.pipeline(), old);
  assert.equal(closed, 0, 'old detectors stay open while a request uses them');
  assert.equal((await inflight).status, 200);
  await until(() => closed === 1);
});

test('startBulwark rejects an invalid policy file with path and reason', async () => {
  const dir = await tempDir();
  const file = join(dir, 'bad.yaml');
  await writeFile(file, 'rateLimits:\n  - id: x\n    limit: 0\nbogus: 1\n');
  await assert.rejects(
    startBulwark({ policyFile: file, dataDir: join(dir, 'data'), host: '127.0.0.1', gatewayPort: 0, adminPort: 0, demoPort: 0, logLevel: 'silent' }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'BWK_CONFIG_INVALID');
      const paths = e.issues.map((i) => i.path);
      assert.ok(paths.includes('rateLimits[0].limit'), paths.join());
      assert.match(e.message, /rateLimits\[0\]\.limit: expected positive integer/);
      return true;
    },
  );
});

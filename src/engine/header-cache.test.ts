import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderResultCache } from './header-cache.ts';

test('HeaderResultCache: one results array per value, filled in place; long values are not cached', () => {
  const c = new HeaderResultCache(3, 8, 16);
  const e = c.entry('Mozilla/5.0')!;
  assert.equal(e.length, 3);
  assert.deepEqual([...e], [undefined, undefined, undefined]);
  e[1] = null;
  e[2] = { transformed: 'x', matched: 'y' };
  assert.equal(c.entry('Mozilla/5.0'), e, 'same array for the same value');
  assert.equal(c.entry('x'.repeat(17)), undefined);
  assert.equal(c.size, 1);
});

test('HeaderResultCache: bounded to maxKeys values; recently used values survive a generation change', () => {
  const c = new HeaderResultCache(1, 8);
  const keep = c.entry('keep')!;
  for (let i = 0; i < 1000; i++) {
    c.entry(`ua-${i}`);
    if (i % 3 === 0) assert.equal(c.entry('keep'), keep, `still cached after ${i} other values`);
    assert.ok(c.size <= 8, `size ${c.size}`);
  }
  assert.notEqual(c.entry('ua-0'), undefined, 'an evicted value gets a new, empty array');
  assert.equal(c.entry('ua-0')![0], undefined);
});

test('pure rules take their input alone: match declares one parameter (the part and scope would make a cached result wrong)', async () => {
  const { ruleRegistry } = await import('./registry.ts');
  const pure = ruleRegistry().filter((r) => r.kind === 'part' && r.pure === true);
  assert.ok(pure.length >= 31, `${pure.length} pure rules`);
  assert.deepEqual(pure.filter((r) => r.kind === 'part' && r.match.length > 1).map((r) => r.id), []);
});

test('a pure rule hit on a cached header value is reported again on the next request with that value', async () => {
  const { PayloadEngine } = await import('./engine.ts');
  const { ruleRegistry } = await import('./registry.ts');
  const { validatePolicy } = await import('../config/load.ts');
  const { RequestContext } = await import('../core/context.ts');
  const engine = new PayloadEngine(validatePolicy({}).detection, ruleRegistry());
  const ua = '() { :; }; /bin/cat /etc/passwd';
  const referer = 'https://shop.example/?q=<script>alert(1)</script>';
  const ids = (i: number): string[] => {
    const headers = { host: 'api.example', 'user-agent': ua, referer };
    const ctx = new RequestContext({ id: `r${i}`, clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: 'GET', target: '/api/items', headers, rawHeaders: Object.entries(headers).flat(), httpVersion: '1.1' });
    return engine.inspectRequest(ctx).map((s) => `${s.ruleId}@${s.evidence?.location?.name}`).sort();
  };
  const first = ids(0);
  assert.ok(first.includes('cmdi.932140@user-agent'), first.join(' ')); // shellshock: a pure rule
  assert.ok(first.includes('xss.941160@referer'), first.join(' ')); // HTML injection: a pure rule
  for (let i = 1; i < 4; i++) assert.deepEqual(ids(i), first, 'the cached results give the same signals');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules, findToolAgent, PROBE_PREFIXES, PROBE_SUFFIXES } from './scanner.ts';
import { matchAll, timeAll, ruleMetaProblems, checkAll, testContext, testScope } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

/** Request-rule findings for a request. */
function check(target: string, headers: [string, string][]): string[] {
  return checkAll(rules, testScope([], testContext('GET', target, [['Host', 'api.example.test'], ...headers]))).map((x) => x.slice(0, 6));
}

test('detects scanner User-Agents and scanner headers', () => {
  for (const ua of ['sqlmap/1.7.2#stable (https://sqlmap.org)', 'Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)', 'Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)', 'masscan/1.3', 'Mozilla/5.0 zgrab/0.x', 'Mozilla/5.0 (Windows NT 10.0) Nuclei - Open-source project (github.com/projectdiscovery/nuclei)', 'WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)', 'gobuster/3.6', 'Fuzz Faster U Fool v2.1.0', 'ZAP/2.14']) {
    assert.deepEqual(check('/', [['User-Agent', ua]]), ['913100'], ua);
  }
  assert.deepEqual(check('/', [['User-Agent', 'Mozilla/5.0'], ['Acunetix-Product', 'WVS/5.0']]), ['913110']);
});

test('does not flag browsers, SDKs and words that contain tool names', () => {
  for (const ua of ['Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0', 'sendgrid/6.11.0;python', 'okta-sdk-java/8.2.1', 'Zapier', 'BurpSuite-free-user-agent-not-really Mozilla', 'Mozilla/5.0 (Hydra Mobile)', 'curl/8.4.0', 'python-requests/2.31.0']) {
    assert.deepEqual(check('/', [['User-Agent', ua]]), [], ua);
  }
  assert.equal(findToolAgent('nucleic acid app/1.0'), null);
});

test('probe paths are low-severity signals', () => {
  for (const p of ['/.env', '/.git/config', '/wp-admin/', '/phpmyadmin/index.php', '/server-status', '/actuator/env', '/backup.sql', '/index.php.bak', '/%2e%65nv']) {
    assert.deepEqual(check(p, [['User-Agent', 'x']]), ['913200'], p);
  }
  const probe = rules.find((r) => r.id === '913200')!;
  assert.equal(probe.severity, 'notice');
  for (const p of ['/api/v1/environments', '/docs/getting-started', '/api/git/commits', '/environment', '/v1/admin/users']) {
    assert.deepEqual(check(p, [['User-Agent', 'x']]), [], p);
  }
});

test('detects out-of-band interaction hosts in values', () => {
  assert.ok(matchAll(rules, 'http://x1y2.oastify.com/a', 'query').includes('913120'));
  assert.ok(matchAll(rules, 'nslookup abc.burpcollaborator.net', 'json').includes('913120'));
  assert.deepEqual(matchAll(rules, 'https://www.notoastify.com/', 'query'), []);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['oastify.com'.repeat(5957), '.'.repeat(65536)];
  for (const s of inputs) assert.ok(timeAll(rules, s) < 2000);
  const t0 = performance.now();
  check('/' + '.env'.repeat(16384), [['User-Agent', 'nmap'.repeat(16384)]]);
  check('/' + '/.git'.repeat(13107), [['User-Agent', 'zap '.repeat(16384)]]);
  assert.ok(performance.now() - t0 < 2000);
});

test('913200 reports the first listed probe prefix or suffix, as a plain scan of both lists would', () => {
  const probe = rules.find((r) => r.id === '913200')!;
  if (probe.kind !== 'request') throw new Error('913200 is a request rule');
  // reference: every prefix in list order, then every suffix in list order
  const reference = (raw: string): string | null => {
    const p = decodeURIComponent(raw).toLowerCase();
    for (const pre of PROBE_PREFIXES) {
      const i = p.indexOf(pre);
      if (i === -1) continue;
      const e = i + pre.length < p.length ? p.charCodeAt(i + pre.length) : -1;
      if (pre.endsWith('/') || e === -1 || e === 0x2f || e === 0x2e || e === 0x3f || e === 0x5f || e === 0x2d) return `probe path ${pre}`;
    }
    for (const suf of PROBE_SUFFIXES) if (p.endsWith(suf) && p.length > suf.length + 1) return `backup file ${suf}`;
    return null;
  };
  const pieces = [...PROBE_PREFIXES, ...PROBE_SUFFIXES, '/api', '/v1', '/users', '/42', '/', '.', '-x', '_y', 'a', '/Admin', '/.', '/w'];
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  let hits = 0;
  for (let i = 0; i < 20_000; i++) {
    let path = '';
    for (let k = 0, m = 1 + rnd(4); k < m; k++) path += pieces[rnd(pieces.length)];
    if (!path.startsWith('/')) path = '/' + path;
    const found: readonly { hit: string }[] = probe.check(testScope([], testContext('GET', path)));
    const want = reference(path);
    assert.equal(found[0]?.hit ?? null, want, path);
    if (want !== null) hits++;
  }
  assert.ok(hits > 5_000, `only ${hits} probe hits`);
});

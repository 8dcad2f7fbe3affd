import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Detector } from '../src/core/detector.ts';
import type { RequestContext } from '../src/core/context.ts';
import { startUpstream, startTestBulwark, sendRaw } from './helpers/index.ts';

/**
 * Malformed HTTP/1.1 requests over raw TCP against a live gateway: each protocol anomaly must be answered,
 * either by Node's HTTP parser itself (llhttp, strict mode: 400 before any pipeline stage runs) or by the
 * payload engine's protocol rules (403 with the rule id in the problem details). The table below also
 * documents which of the two answers each case; the gateway engineer records parser-level rejections as
 * events (`clientError`).
 */

interface Case {
  name: string;
  raw: string;
  /** `node`: Node answers 400 itself; `rule`: the pipeline sees it and a protocol rule blocks (403). */
  by: 'node' | 'rule';
  /** For `rule` cases: the rule id expected in the verdict. */
  rule?: string;
  /**
   * `node` cases: the status Node answers (default 400). `rule` cases: another status accepted besides 403
   * (the gateway's own answer to a body it cannot read).
   */
  status?: number;
}

const CRLF = '\r\n';
const req = (lines: string[], body = ''): string => lines.join(CRLF) + CRLF + CRLF + body;

const CASES: Case[] = [
  { name: 'missing Host (HTTP/1.1)', raw: req(['GET /a HTTP/1.1', 'Connection: close']), by: 'node' },
  { name: 'duplicate Host', raw: req(['GET /a HTTP/1.1', 'Host: a', 'Host: b', 'Connection: close']), by: 'rule', rule: '920141' },
  { name: 'Content-Length with Transfer-Encoding', raw: req(['POST /a HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Transfer-Encoding: chunked', 'Connection: close'], '0\r\n\r\n'), by: 'node' },
  { name: 'conflicting Content-Length', raw: req(['POST /a HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Content-Length: 6', 'Connection: close'], 'hello!'), by: 'node' },
  { name: 'repeated equal Content-Length', raw: req(['POST /a HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Content-Length: 5', 'Connection: close'], 'hello'), by: 'node' },
  { name: 'non-decimal Content-Length', raw: req(['POST /a HTTP/1.1', 'Host: a', 'Content-Length: +5', 'Connection: close'], 'hello'), by: 'node' },
  // llhttp accepts the headers (the request reaches the pipeline, 920161 fires) but fails on the body, and
  // the gateway answers 400 for the unreadable body.
  { name: 'unknown Transfer-Encoding', raw: req(['POST /a HTTP/1.1', 'Host: a', 'Transfer-Encoding: xchunked', 'Connection: close'], '0\r\n\r\n'), by: 'rule', rule: '920161', status: 400 },
  { name: 'chunked not last', raw: req(['POST /a HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked, gzip', 'Connection: close'], '0\r\n\r\n'), by: 'node' },
  { name: 'control character in header value', raw: req(['GET /a HTTP/1.1', 'Host: a', 'X-A: a\u0001b', 'Connection: close']), by: 'node' },
  { name: 'NUL in header value', raw: req(['GET /a HTTP/1.1', 'Host: a', 'X-A: a\u0000b', 'Connection: close']), by: 'node' },
  { name: 'space in header name', raw: req(['GET /a HTTP/1.1', 'Host: a', 'X A: b', 'Connection: close']), by: 'node' },
  { name: 'space before colon', raw: req(['GET /a HTTP/1.1', 'Host: a', 'Transfer-Encoding : chunked', 'Connection: close']), by: 'node' },
  { name: 'obs-fold continuation line', raw: req(['GET /a HTTP/1.1', 'Host: a', 'X-A: a', ' folded', 'Connection: close']), by: 'node' },
  { name: 'CR in request-target', raw: req(['GET /a\rb HTTP/1.1', 'Host: a', 'Connection: close']), by: 'node' },
  { name: 'control character in request-target', raw: req(['GET /a\u0001b HTTP/1.1', 'Host: a', 'Connection: close']), by: 'node' },
  { name: 'unsupported HTTP version', raw: req(['GET /a HTTP/1.2', 'Host: a', 'Connection: close']), by: 'node' },
  { name: 'NUL in request-target', raw: req(['GET /a\u0000b HTTP/1.1', 'Host: a', 'Connection: close']), by: 'node' },
  { name: 'DEL in request-target', raw: req(['GET /a\u007fb HTTP/1.1', 'Host: a', 'Connection: close']), by: 'node' },
  { name: 'bare LF line endings', raw: 'GET /a HTTP/1.1\nHost: a\nConnection: close\n\n', by: 'node' },
  { name: 'header section over 16 KiB', raw: req(['GET /a HTTP/1.1', 'Host: a', 'X-Big: ' + 'a'.repeat(17000), 'Connection: close']), by: 'node' },
  { name: 'HTTP/1.0 with Transfer-Encoding', raw: req(['POST /a HTTP/1.0', 'Host: a', 'Transfer-Encoding: chunked', 'Connection: close'], '0\r\n\r\n'), by: 'rule', rule: '920161' },
  { name: 'method override to TRACE', raw: req(['POST /a HTTP/1.1', 'Host: a', 'X-HTTP-Method-Override: TRACE', 'Content-Length: 0', 'Connection: close']), by: 'rule', rule: '921100' },
  { name: 'body on GET', raw: req(['GET /a HTTP/1.1', 'Host: a', 'Content-Length: 2', 'X-HTTP-Method-Override: TRACE', 'Connection: close'], 'hi'), by: 'rule', rule: '921100' },
  { name: 'method override to DELETE on GET', raw: req(['GET /items/1 HTTP/1.1', 'Host: a', 'X-HTTP-Method-Override: DELETE', 'Connection: close']), by: 'rule', rule: '921100' },
  { name: 'CRLF injection in query', raw: req(['GET /a?q=%0d%0aSet-Cookie:%20x=1 HTTP/1.1', 'Host: a', 'Connection: close']), by: 'rule', rule: '921110' },
  { name: 'JSON body that does not parse', raw: req(['POST /a HTTP/1.1', 'Host: a', 'Content-Type: application/json', 'Content-Length: 9', 'Connection: close'], '{"a": 1,}'), by: 'rule', rule: '920130' },
];

test('each malformed request is answered by node:http (400) or by a protocol rule (403)', async (t) => {
  const up = await startUpstream();
  // The response phase runs for every request that reached the pipeline (blocked ones too), after the
  // response is sent; it records the signals of the request.
  const seen: { target: string; ids: string[] }[] = [];
  const probe: Detector = {
    name: 'test-reached',
    observeResponse(ctx: RequestContext) {
      seen.push({ target: ctx.target, ids: [...ctx.signals.map((s) => s.ruleId), ...(ctx.matchedDecision ? ['decision:' + ctx.matchedDecision.source] : []), ...(ctx.verdict?.reasons ?? []).map((r) => 'reason:' + r)] });
    },
  };
  // risk accumulation off: each case is judged on its own, not banned for the previous ones
  const bw = await startTestBulwark({ upstream: up.url, policy: { rateLimits: [], behavior: { risk: { enabled: false } } }, detectors: () => [probe] });
  t.after(() => Promise.all([bw.stop(), up.close()]));
  const port = Number(new URL(bw.gatewayUrl).port);
  const table: string[] = [];
  const problems: string[] = [];
  for (const c of CASES) {
    const before = seen.length;
    const res = await sendRaw(port, Buffer.from(c.raw, 'latin1'), 3000);
    // the response phase runs after the response is sent: give it a moment
    for (let k = 0; k < 30 && seen.length === before; k++) await new Promise((r) => setTimeout(r, 10));
    const sawPipeline = seen.length > before;
    const ids = sawPipeline ? seen[seen.length - 1]!.ids : [];
    table.push(`${res.status} | pipeline=${sawPipeline} | ${ids.join(',') || '-'} | ${c.name}`);
    if (c.by === 'node') {
      if (res.status !== (c.status ?? 400) || sawPipeline) problems.push(`${c.name}: expected node:http to answer ${c.status ?? 400} before the pipeline, got ${res.status} (pipeline=${sawPipeline})`);
    } else if (!(res.status === 403 || (c.status !== undefined && res.status === c.status)) || !ids.some((x) => x.endsWith('.' + c.rule))) {
      problems.push(`${c.name}: expected ${c.status ?? 403} with rule ${c.rule}, got ${res.status} with ${ids.join(',')}`);
    }
  }
  t.diagnostic('status | pipeline | signals and verdict reasons | case\n' + table.join('\n'));
  assert.deepEqual(problems, []);
  // requests node:http rejected before the pipeline are recorded as events too (hostile input leaves a trace)
  await bw.services.events.flush();
  const page = await bw.services.eventStore.query({ ruleId: 'gateway.http-parse-error', limit: 1000 });
  const nodeCases = CASES.filter((c) => c.by === 'node').length;
  assert.equal(page.events.length, nodeCases, `one parse-error event per node:http rejection (${page.events.length} of ${nodeCases})`);
  for (const e of page.events) {
    assert.equal(e.action, 'block');
    assert.equal(e.status, 400);
    assert.equal(e.category, 'protocol');
    assert.match(String(e.signals[0]?.evidence?.detail?.code), /^HPE_/);
  }
});

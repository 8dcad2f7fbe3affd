import type { Detector } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { DetectorResult, ResponseInfo, Signal } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import { KeyedRecords, RecordDistinct, RecordFields, RecordSliding } from '../window.ts';
import { fmtMs, identityOf, isGoodBot, segmentsOf, signal, templatedRoute, reloadable } from './common.ts';

/** Fields of {@link RecordFields} in an (identity, route) record: last numeric id (NaN: none), the current run's step and length. */
const LAST_ID = 0;
const STEP = 1;
const RUN = 2;

/** Most query parameters looked at per request (bounded work on hostile query strings). */
const MAX_QUERY_PARAMS = 64;

/** Reads the first value of any of `names` from a raw query string (no decoding beyond what comparison needs). */
function pageValue(rawQuery: string, names: ReadonlySet<string>): { name: string; value: string } | undefined {
  if (rawQuery === '') return undefined;
  let start = 0;
  for (let n = 0; n < MAX_QUERY_PARAMS && start <= rawQuery.length; n++) {
    let end = rawQuery.indexOf('&', start);
    if (end === -1) end = rawQuery.length;
    const eq = rawQuery.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      const name = rawQuery.slice(start, Math.min(eq, start + 64)).toLowerCase();
      if (names.has(name)) return { name, value: rawQuery.slice(eq + 1, Math.min(end, eq + 1 + 256)) };
    }
    start = end + 1;
  }
  return undefined;
}

/**
 * Enumeration and scraping (OWASP OAT-011 Scraping; OWASP API1:2023 object-level authorization probing).
 * Counters are per identity (`by`: user → API key → IP, so users behind one NAT are kept apart when they are
 * authenticated) and per templated route (`ctx.route` from API discovery, else ids templated here: digits,
 * UUIDs, ≥ 16 hex digits → `{id}`), over `window` (5 min):
 *
 * - `behavior.enum.distinct`: ≥ `maxDistinctIds` (100) distinct ids on one route;
 * - `behavior.enum.sequential`: a run of `sequentialRun` (20) consecutive numeric ids (+1 or −1 steps), a
 *   walk no human browsing produces;
 * - `behavior.enum.notfound`: ≥ `notFoundRatio` (50 %) 404 answers after ≥ `notFoundMinRequests` (20) on
 *   templated routes (guessing ids);
 * - `behavior.enum.pagination`: ≥ `maxDistinctPages` (50) distinct `page`/`offset`/`cursor`… values on one
 *   path (pagination sweep).
 *
 * Each emits `action` (default ban of the identity's scope for `banDuration`, 1 h) and resets the counters.
 * Good crawlers the bots detector verified are exempt (`behavior.bots.allowGoodBots` with `verifyCrawlers`).
 * State: two LRUs, of (identity, route) and of (identity, path, page parameter) entries, each bounded by
 * min(`state.maxKeys`, 50,000). An entry is a numeric record (in one typed array per LRU: 12 doubles for a route,
 * 2 for a pagination key) plus, from its second distinct id or page value on, at most `maxDistinctIds`
 * (`maxDistinctPages`) value hashes (~ 40 bytes each). A new identity on an id route allocates no object of its own.
 */
function buildEnumerationDetector(policy: Policy): Detector | undefined {
  const cfg = policy.behavior.enumeration;
  if (!policy.behavior.enabled || !cfg.enabled) return undefined;
  const maxKeys = Math.min(policy.state.maxKeys, 50_000);
  // (identity, route): distinct ids, the sequential-walk run, requests and 404s on the route
  const ids = new RecordDistinct(0, cfg.window, Math.min(65536, cfg.maxDistinctIds));
  const walk = new RecordFields(ids.end, [Number.NaN, 0, 0]);
  const requests = new RecordSliding(walk.end, cfg.window);
  const notFound = new RecordSliding(requests.end, cfg.window);
  const routes = new KeyedRecords(maxKeys, [ids, walk, requests, notFound]);
  // (identity, path, page parameter): distinct page values
  const pageValues = new RecordDistinct(0, cfg.window, Math.min(65536, cfg.maxDistinctPages));
  const pages = new KeyedRecords(maxKeys, [pageValues]);
  const pageNames = new Set(cfg.paginationParams.map((p) => p.toLowerCase()));

  // crawlers the bots detector verified (isGoodBot), not User-Agent claims
  const exempt = (ctx: RequestContext): boolean => isGoodBot(ctx);
  const emit = (ctx: RequestContext, rule: string, message: string, detail: Record<string, string | number | boolean>): Signal => {
    const id = identityOf(ctx, cfg.by);
    return signal({
      ruleId: `behavior.enum.${rule}`,
      detector: 'enumeration',
      category: 'enumeration',
      action: cfg.action,
      risk: 0.8,
      monitor: cfg.monitor,
      message,
      detail: { identity: id.scope, windowMs: cfg.window, ...detail },
      ban: { scope: id.scope, value: id.value, durationMs: cfg.banDuration },
      tags: ['OWASP_OAT/OAT-011', 'OWASP_API/API1:2023'],
    });
  };

  return {
    name: 'enumeration',
    inspectRequest(ctx: RequestContext): DetectorResult {
      // most requests have neither an id segment nor a pagination parameter: done before any identity work
      const t = templatedRoute(ctx);
      const pv = pageNames.size > 0 ? pageValue(ctx.rawQuery, pageNames) : undefined;
      if ((t === undefined && pv === undefined) || exempt(ctx)) return undefined;
      const now = ctx.startedAt;
      const who = identityOf(ctx, cfg.by).key;
      const out: Signal[] = [];
      if (t !== undefined) {
        const key = who + '\n' + t.route;
        const st = routes.get(key);
        ids.add(routes, st, t.id, now);
        const distinct = ids.count(routes, st, now);
        const num = t.id.length <= 15 ? Number(t.id) : Number.NaN;
        let run = walk.get(routes, st, RUN);
        if (Number.isInteger(num)) {
          const d = num - walk.get(routes, st, LAST_ID);
          if ((d === 1 || d === -1) && (run <= 1 || d === walk.get(routes, st, STEP))) {
            run++;
            walk.set(routes, st, STEP, d);
          } else if (d !== 0) {
            run = 1;
            walk.set(routes, st, STEP, 0);
          }
          walk.set(routes, st, RUN, run);
          walk.set(routes, st, LAST_ID, num);
        }
        if (distinct >= cfg.maxDistinctIds) {
          routes.delete(key);
          out.push(emit(ctx, 'distinct', `${distinct} distinct ids on ${t.route} in ${fmtMs(cfg.window)}`, { route: t.route, distinctIds: distinct, threshold: cfg.maxDistinctIds }));
        } else if (run >= cfg.sequentialRun) {
          routes.delete(key);
          out.push(emit(ctx, 'sequential', `sequential id walk of ${run} on ${t.route}`, { route: t.route, run, threshold: cfg.sequentialRun }));
        }
      }
      if (pv !== undefined) {
        const path = t?.route ?? ctx.method + ' /' + segmentsOf(ctx).join('/');
        const key = who + '\n' + path + '\n' + pv.name;
        const w = pages.get(key);
        pageValues.add(pages, w, pv.value, now);
        const n = pageValues.count(pages, w, now);
        if (n >= cfg.maxDistinctPages) {
          pages.delete(key);
          out.push(emit(ctx, 'pagination', `pagination sweep: ${n} distinct ${pv.name} values on ${path} in ${fmtMs(cfg.window)}`, { route: path, param: pv.name, distinctPages: n, threshold: cfg.maxDistinctPages }));
        }
      }
      return out.length ? out : undefined;
    },
    observeResponse(ctx: RequestContext, res: ResponseInfo): DetectorResult {
      if (res.byGateway) return undefined;
      const t = templatedRoute(ctx);
      if (t === undefined || exempt(ctx)) return undefined;
      const now = ctx.startedAt + res.latencyMs;
      const key = identityOf(ctx, cfg.by).key + '\n' + t.route;
      const st = routes.peek(key);
      if (st === -1) return undefined;
      requests.add(routes, st, now);
      if (res.status === 404) notFound.add(routes, st, now);
      const n = requests.total(routes, st, now);
      const nf = notFound.total(routes, st, now);
      if (n < cfg.notFoundMinRequests || nf / n < cfg.notFoundRatio) return undefined;
      routes.delete(key);
      return emit(ctx, 'notfound', `${nf} of ${n} requests on ${t.route} answered 404 in ${fmtMs(cfg.window)}`, { route: t.route, notFound: nf, requests: n, ratio: cfg.notFoundRatio });
    },
  };
}

/** Registry factory of {@link buildEnumerationDetector}, kept across policy reloads with its state ({@link reloadable}). */
export const enumerationDetector = reloadable(buildEnumerationDetector, (p) => [p.behavior.enabled, p.behavior.enumeration, p.behavior.bots, p.state.maxKeys]);

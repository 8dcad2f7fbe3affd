import { LruMap } from '../core/lru.ts';
import type { PartRule, RuleHit } from './types.ts';

/**
 * Memoises a pure part-rule matcher for header values. The same User-Agent and Referer strings arrive on a
 * large share of requests, and header values are inspected on every request; for rules whose result depends
 * only on the (transformed) input, a small LRU of recent header inputs saves re-running the matcher.
 *
 * Bounded: at most `maxKeys` inputs of at most `maxLength` chars are kept (default 512 × 512 chars ≈ 0.5 MB
 * worst case per rule); a client rotating User-Agents only evicts entries. Only for pure matchers: the
 * result must not depend on the part's location or the scope.
 */
export function memoizeHeaders(match: PartRule['match'], maxKeys = 512, maxLength = 512): PartRule['match'] {
  const cache = new LruMap<string, RuleHit>(maxKeys);
  return (input, part, scope) => {
    if (part.loc.kind !== 'header' || input.length > maxLength) return match(input, part, scope);
    const hit = cache.get(input);
    if (hit !== undefined) return hit;
    const r = match(input, part, scope);
    cache.set(input, r);
    return r;
  };
}

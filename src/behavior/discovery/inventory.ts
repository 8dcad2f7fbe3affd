import type { SqliteDb } from '../../store/sqlite.ts';
import { migrate } from '../../store/sqlite.ts';
import { decodeComponent, segmentPlaceholder } from './classify.ts';
import type { DiscoveryPolicy } from './schema.ts';

/** Where an endpoint entered the inventory. */
export type EndpointSource = 'openapi' | 'learned';

/** One endpoint of the inventory: a method and a templated route, with its traffic summary. */
export interface Endpoint {
  method: string;
  /** Templated route, e.g. `/api/users/{id}`. */
  route: string;
  source: EndpointSource;
  /** First and last time seen (ms since epoch; 0 when only seeded). */
  firstSeen: number;
  lastSeen: number;
  /** Requests observed (responses, any status). */
  count: number;
  /** Responses by status class: `1xx` … `5xx`. */
  status: Record<string, number>;
  /** Typical query parameter names and how often each was seen (bounded by `maxParamsPerEndpoint`). */
  params: Record<string, number>;
}

/** JSON export of the inventory (served by the control plane, written by `bulwark eval --learn`). */
export interface InventoryExport {
  /** When learning started (ms since epoch); new endpoints are flagged after `createdAt + learningPeriod`. */
  createdAt: number;
  learningUntil: number;
  seeded: boolean;
  /** Endpoints not added because the inventory was full. */
  dropped: number;
  endpoints: Endpoint[];
}

/** Result of resolving a request path against the inventory. */
export interface Resolution {
  /** Templated route (always set; unknown segments are kept literal or replaced by their placeholder). */
  route: string;
  /** The endpoint (method + route), when the inventory has it. */
  endpoint?: Endpoint;
  /** True when the path matched learned/seeded nodes all the way down. */
  matched: boolean;
  /**
   * The inventory's trie generation when resolved ({@link Inventory.observe} reuses the resolution while the
   * trie, the policy and the endpoint set's removals are unchanged).
   */
  gen: number;
}

interface Node {
  lit?: Map<string, Node>;
  wild?: Node;
  wildName?: string;
  /** The wildcard matches any segment (OpenAPI parameter or collapsed variable position), not only ids. */
  wildAny: boolean;
  depth: number;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Splits a raw path into at most `maxDepth` non-empty segments (the rest folded into the last as `{rest}`). */
export function splitPath(path: string, maxDepth: number): string[] {
  const out: string[] = [];
  let start = 0;
  const n = Math.min(path.length, 8192);
  for (let i = 0; i <= n; i++) {
    if (i === n || path.charCodeAt(i) === 47) {
      if (i > start) {
        if (out.length >= maxDepth) {
          out.push('{rest}');
          return out;
        }
        out.push(path.slice(start, i));
      }
      start = i + 1;
    }
  }
  return out;
}

/**
 * Source of trie generations, shared by all inventories so that a generation identifies one state of one
 * inventory (a resolution from another inventory never matches).
 */
let generations = 0;

function newNode(depth: number): Node {
  return { wildAny: false, depth };
}

/**
 * The endpoint inventory: a trie of path segments (literal children, one wildcard child) plus per-endpoint
 * statistics. Resolution is O(path segments). Bounded: at most `maxEndpoints` endpoints and `4 × maxEndpoints`
 * trie nodes; a position collapses to `{var}` once it has `variableThreshold` distinct literal children, so a
 * resource collection addressed by names does not fill the inventory.
 *
 * Only responses that show the endpoint exists (status < 400, or 401/403) teach the trie, so a scanner's
 * 404 probes never become endpoints nor collapse real positions.
 */
export class Inventory {
  private root: Node = newNode(0);
  private nodes = 1;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly seededKeys = new Set<string>();
  /** Endpoints changed since the last persist (held by object: the hot path needs no key string). */
  private readonly dirty = new Set<Endpoint>();
  private removed: string[] = [];
  /** When learning started, ms since epoch. */
  createdAt: number;
  dropped = 0;
  /** Trie generation: changes whenever a resolution could change (trie edit, endpoint removal, policy). */
  private gen = ++generations;
  private pol: DiscoveryPolicy;

  /** @param policy - the `behavior.discovery` section; @param now - creation time (ms). */
  constructor(policy: DiscoveryPolicy, now = Date.now()) {
    this.pol = policy;
    this.createdAt = now;
  }

  /** The `behavior.discovery` section in force (replaced on policy reload). */
  get policy(): DiscoveryPolicy {
    return this.pol;
  }

  set policy(p: DiscoveryPolicy) {
    this.pol = p;
    this.gen = ++generations;
  }

  /** True when an OpenAPI document seeded the inventory. */
  get seeded(): boolean {
    return this.seededKeys.size > 0;
  }

  /** Number of endpoints held. */
  get size(): number {
    return this.endpoints.size;
  }

  /** End of the learning period, ms since epoch. */
  get learningUntil(): number {
    return this.createdAt + this.policy.learningPeriod;
  }

  /** True when `method route` is in the OpenAPI seed. */
  isSeeded(method: string, route: string): boolean {
    return this.seededKeys.has(method + ' ' + route);
  }

  /** Looks up an endpoint by method and templated route. */
  get(method: string, route: string): Endpoint | undefined {
    return this.endpoints.get(method + ' ' + route);
  }

  /**
   * Templates a path without learning: literal children first, then the wildcard child (for identifier-like
   * segments, or any segment when the wildcard is an OpenAPI parameter or a collapsed `{var}`).
   */
  resolve(method: string, path: string): Resolution {
    const segs = splitPath(path, this.policy.maxDepth);
    let node: Node | undefined = this.root;
    let route = '';
    let matched = true;
    for (const seg of segs) {
      let next: Node | undefined;
      let name: string | undefined;
      if (node !== undefined) {
        next = node.lit?.get(seg);
        if (next !== undefined) name = seg;
        else if (node.wild !== undefined) {
          if (node.wildAny || segmentPlaceholder(seg) !== undefined) {
            next = node.wild;
            name = node.wildName;
          }
        }
      }
      if (name === undefined) {
        matched = false;
        name = segmentPlaceholder(seg) ?? literal(seg);
      }
      route += '/' + name;
      node = next;
    }
    if (route === '') route = '/';
    const endpoint = this.endpoints.get(method + ' ' + route);
    return { route, endpoint, matched: matched && node !== undefined, gen: this.gen };
  }

  /**
   * Learns a request that reached an existing endpoint and updates its statistics.
   * @param status - response status; the trie learns only when it shows the endpoint exists.
   * @param params - query parameter names of the request (decoded).
   * @param prior - this request's {@link Inventory.resolve} result from the request phase (same method and
   *   path): while the trie is unchanged it stands in for learning a fully matched path (which would change
   *   nothing) and for resolving again.
   * @returns the templated route after learning.
   */
  observe(method: string, path: string, status: number, params: readonly string[], now = Date.now(), prior?: Resolution): string {
    const exists = status < 400 || status === 401 || status === 403;
    const fresh = prior !== undefined && prior.gen === this.gen;
    let route: string;
    let ep: Endpoint | undefined;
    if (fresh && (prior.matched || !exists)) {
      route = prior.route;
      // endpoints leave the map only in a collapse, which changes the generation
      ep = prior.endpoint;
    } else route = exists ? this.learnPath(path) : this.resolve(method, path).route;
    if (ep === undefined) {
      const key = method + ' ' + route;
      ep = this.endpoints.get(key);
      if (ep === undefined) {
        if (!exists) return route;
        if (this.endpoints.size >= this.policy.maxEndpoints) {
          this.dropped++;
          return route;
        }
        ep = { method, route, source: 'learned', firstSeen: now, lastSeen: now, count: 0, status: {}, params: {} };
        this.endpoints.set(key, ep);
      }
    }
    if (ep.firstSeen === 0) ep.firstSeen = now;
    ep.lastSeen = now;
    ep.count++;
    const cls = status >= 100 && status < 600 ? STATUS_CLASSES[Math.floor(status / 100) - 1]! : 'other';
    ep.status[cls] = (ep.status[cls] ?? 0) + 1;
    const max = this.policy.maxParamsPerEndpoint;
    let held = -1;
    for (const p of params) {
      if (ep.params[p] !== undefined) ep.params[p]++;
      else {
        if (held < 0) held = Object.keys(ep.params).length;
        if (held < max) {
          ep.params[p] = 1;
          held++;
        }
      }
    }
    this.dirty.add(ep);
    return route;
  }

  private learnPath(path: string): string {
    const segs = splitPath(path, this.policy.maxDepth);
    const maxNodes = this.policy.maxEndpoints * 4;
    let node: Node | undefined = this.root;
    let route = '';
    for (const seg of segs) {
      if (node === undefined) {
        route += '/' + (segmentPlaceholder(seg) ?? literal(seg));
        continue;
      }
      const exact: Node | undefined = node.lit?.get(seg);
      if (exact !== undefined) {
        route += '/' + seg;
        node = exact;
        continue;
      }
      const ph = segmentPlaceholder(seg);
      if (ph !== undefined || (node.wild !== undefined && node.wildAny)) {
        if (node.wild === undefined) {
          if (this.nodes >= maxNodes) {
            node = undefined;
            route += '/' + ph;
            continue;
          }
          node.wild = newNode(node.depth + 1);
          node.wildName = ph;
          this.nodes++;
          this.gen = ++generations;
        }
        route += '/' + node.wildName;
        node = node.wild;
        continue;
      }
      // a new literal segment
      if (this.nodes >= maxNodes) {
        route += '/' + literal(seg);
        node = undefined;
        continue;
      }
      node.lit ??= new Map();
      const child = newNode(node.depth + 1);
      node.lit.set(literal(seg), child);
      this.nodes++;
      this.gen = ++generations;
      if (node.lit.size >= this.policy.variableThreshold && node.depth >= this.policy.minVariableDepth) {
        this.collapse(node, route);
        route += '/' + node.wildName;
        node = node.wild;
      } else {
        route += '/' + literal(seg);
        node = child;
      }
    }
    return route === '' ? '/' : route;
  }

  /** Turns a position with too many literal children into a `{var}` wildcard; endpoints below the literals are dropped. */
  private collapse(node: Node, prefix: string): void {
    this.gen = ++generations;
    const lits = node.lit;
    node.lit = undefined;
    if (lits) for (const c of lits.values()) this.nodes -= countNodes(c);
    if (node.wild === undefined) {
      node.wild = newNode(node.depth + 1);
      this.nodes++;
    }
    node.wildName = '{var}';
    node.wildAny = true;
    if (!lits) return;
    for (const [key, ep] of this.endpoints) {
      const r = ep.route;
      if (!r.startsWith(prefix + '/')) continue;
      const rest = r.slice(prefix.length + 1);
      const slash = rest.indexOf('/');
      const first = slash === -1 ? rest : rest.slice(0, slash);
      if (lits.has(first) && ep.source === 'learned') {
        this.endpoints.delete(key);
        this.dirty.delete(ep);
        this.removed.push(key);
      }
    }
  }

  /** Inserts a templated route (`{name}` segments are wildcards matching any segment) without statistics. */
  private insertTemplate(route: string, anyWild: boolean): void {
    this.gen = ++generations;
    let node = this.root;
    for (const seg of splitPath(route, this.policy.maxDepth)) {
      if (seg.length > 2 && seg.charCodeAt(0) === 123 && seg.charCodeAt(seg.length - 1) === 125) {
        if (node.wild === undefined) {
          node.wild = newNode(node.depth + 1);
          node.wildName = seg;
          this.nodes++;
        }
        if (anyWild || seg === '{var}') node.wildAny = true;
        node = node.wild;
      } else {
        node.lit ??= new Map();
        let c = node.lit.get(seg);
        if (c === undefined) {
          c = newNode(node.depth + 1);
          node.lit.set(seg, c);
          this.nodes++;
        }
        node = c;
      }
    }
  }

  /**
   * Seeds the inventory from a parsed OpenAPI 3 / Swagger 2 document: every `paths` key and method becomes an
   * endpoint of source `openapi`; `{param}` segments match any value. The base path (Swagger `basePath`, or the
   * path of the first OpenAPI `servers[].url`) is prefixed.
   * @returns the number of endpoints seeded.
   */
  seedOpenApi(doc: unknown): number {
    if (typeof doc !== 'object' || doc === null) return 0;
    const d = doc as { paths?: Record<string, unknown>; basePath?: string; servers?: { url?: string }[] };
    let base = typeof d.basePath === 'string' ? d.basePath : '';
    const server = Array.isArray(d.servers) ? d.servers[0]?.url : undefined;
    if (!base && typeof server === 'string') {
      try {
        base = new URL(server, 'http://x').pathname;
      } catch {
        base = '';
      }
    }
    base = base.replace(/\/+$/, '');
    let n = 0;
    for (const [p, item] of Object.entries(d.paths ?? {})) {
      if (typeof item !== 'object' || item === null) continue;
      const route = (base + (p.startsWith('/') ? p : '/' + p)) || '/';
      const norm = '/' + splitPath(route, this.policy.maxDepth).join('/');
      this.insertTemplate(norm, true);
      for (const m of Object.keys(item)) {
        if (!HTTP_METHODS.includes(m.toLowerCase())) continue;
        const method = m.toUpperCase();
        const key = method + ' ' + norm;
        this.seededKeys.add(key);
        if (!this.endpoints.has(key) && this.endpoints.size < this.policy.maxEndpoints) {
          this.endpoints.set(key, { method, route: norm, source: 'openapi', firstSeen: 0, lastSeen: 0, count: 0, status: {}, params: {} });
          n++;
        }
      }
    }
    return n;
  }

  /** The inventory as JSON-serialisable data, endpoints sorted by route then method. */
  export(): InventoryExport {
    const endpoints = [...this.endpoints.values()].map((e) => ({ ...e, status: { ...e.status }, params: { ...e.params } }));
    endpoints.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : a.method < b.method ? -1 : 1));
    return { createdAt: this.createdAt, learningUntil: this.learningUntil, seeded: this.seeded, dropped: this.dropped, endpoints };
  }

  /** Loads an export (e.g. persisted state); seeded templates keep matching any value. */
  import(data: InventoryExport): void {
    if (typeof data.createdAt === 'number' && data.createdAt < this.createdAt) this.createdAt = data.createdAt;
    for (const e of data.endpoints ?? []) {
      if (typeof e?.route !== 'string' || typeof e.method !== 'string') continue;
      const key = e.method + ' ' + e.route;
      if (this.endpoints.size >= this.policy.maxEndpoints && !this.endpoints.has(key)) break;
      this.insertTemplate(e.route, e.source === 'openapi');
      const cur = this.endpoints.get(key);
      if (cur) {
        cur.count += e.count ?? 0;
        cur.firstSeen = cur.firstSeen === 0 ? (e.firstSeen ?? 0) : Math.min(cur.firstSeen, e.firstSeen || cur.firstSeen);
        cur.lastSeen = Math.max(cur.lastSeen, e.lastSeen ?? 0);
        for (const [k, v] of Object.entries(e.status ?? {})) cur.status[k] = (cur.status[k] ?? 0) + v;
        for (const [k, v] of Object.entries(e.params ?? {})) if (cur.params[k] !== undefined || Object.keys(cur.params).length < this.policy.maxParamsPerEndpoint) cur.params[k] = (cur.params[k] ?? 0) + v;
      } else {
        this.endpoints.set(key, { method: e.method, route: e.route, source: e.source === 'openapi' ? 'openapi' : 'learned', firstSeen: e.firstSeen ?? 0, lastSeen: e.lastSeen ?? 0, count: e.count ?? 0, status: { ...(e.status ?? {}) }, params: { ...(e.params ?? {}) } });
      }
    }
  }

  /** Creates the SQLite tables (namespace `discovery`). */
  static migrate(db: SqliteDb): void {
    migrate(db, 'discovery', [
      {
        version: 1,
        up: `CREATE TABLE discovery_endpoints (key TEXT PRIMARY KEY, method TEXT NOT NULL, route TEXT NOT NULL, data TEXT NOT NULL, updated_at INTEGER NOT NULL);
             CREATE TABLE discovery_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);`,
      },
    ]);
  }

  /** Loads the persisted inventory from SQLite (after {@link Inventory.migrate}). */
  load(db: SqliteDb): void {
    const meta = db.prepare("SELECT v FROM discovery_meta WHERE k = 'createdAt'").get() as { v: string } | undefined;
    const rows = db.prepare('SELECT data FROM discovery_endpoints').all() as { data: string }[];
    const endpoints: Endpoint[] = [];
    for (const r of rows) {
      try {
        endpoints.push(JSON.parse(r.data) as Endpoint);
      } catch {
        /* a corrupt row is skipped */
      }
    }
    this.import({ createdAt: meta ? Number(meta.v) : this.createdAt, learningUntil: 0, seeded: false, dropped: 0, endpoints });
    this.dirty.clear();
  }

  /** Writes changed endpoints (and removals from collapses) in one transaction. @returns rows written. */
  persist(db: SqliteDb, now = Date.now()): number {
    const put = db.prepare('INSERT INTO discovery_endpoints (key, method, route, data, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at');
    const del = db.prepare('DELETE FROM discovery_endpoints WHERE key = ?');
    const meta = db.prepare("INSERT INTO discovery_meta (k, v) VALUES ('createdAt', ?) ON CONFLICT(k) DO NOTHING");
    let n = 0;
    db.transaction(() => {
      meta.run(String(this.createdAt));
      for (const k of this.removed) del.run(k);
      for (const e of this.dirty) {
        const k = e.method + ' ' + e.route;
        if (this.endpoints.get(k) !== e) continue;
        put.run(k, e.method, e.route, JSON.stringify(e), now);
        n++;
      }
    })();
    this.removed = [];
    this.dirty.clear();
    return n;
  }
}

function countNodes(n: Node): number {
  let c = 1;
  if (n.lit) for (const x of n.lit.values()) c += countNodes(x);
  if (n.wild) c += countNodes(n.wild);
  return c;
}

/** Response status classes by `status / 100 - 1`. */
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** A literal segment as it appears in a route: kept raw (percent-encoded) but capped at 64 chars. */
function literal(seg: string): string {
  return seg.length > 64 ? '{blob}' : seg;
}

/** Decoded query parameter names of a raw query string (at most 64, each at most 128 chars). */
export function queryParamNames(rawQuery: string): string[] {
  if (rawQuery === '') return [];
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= rawQuery.length && out.length < 64; i++) {
    if (i === rawQuery.length || rawQuery.charCodeAt(i) === 38) {
      if (i > start) {
        const pair = rawQuery.slice(start, i);
        const eq = pair.indexOf('=');
        const name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq)).slice(0, 128);
        if (name && !out.includes(name)) out.push(name);
      }
      start = i + 1;
    }
  }
  return out;
}

const registry = new WeakMap<object, Inventory>();

/**
 * The inventory shared by every discovery detector built for the same services object (it survives policy
 * reloads, which rebuild detectors but not services). Singleton-free: keyed by the services object.
 */
export function inventoryFor(owner: object, policy: DiscoveryPolicy): Inventory {
  let inv = registry.get(owner);
  if (inv === undefined) {
    inv = new Inventory(policy);
    registry.set(owner, inv);
  } else inv.policy = policy;
  return inv;
}

/** The inventory export for a services object (undefined when discovery never ran for it). For the control plane. */
export function getInventory(owner: object): InventoryExport | undefined {
  return registry.get(owner)?.export();
}

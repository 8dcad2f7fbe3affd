import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { DecisionService } from '../decisions/types.ts';
import type { EventSink, EventStore } from '../events/types.ts';
import type { SqliteDb } from '../store/sqlite.ts';

/**
 * Shared services handed to detector factories and planes by the composition root (`src/app.ts`).
 * Everything here outlives a policy reload; detectors are rebuilt on reload, services are not.
 */
export interface Services {
  logger: Logger;
  metrics: Metrics;
  decisions: DecisionService;
  events: EventSink;
  eventStore: EventStore;
  /** The embedded SQLite database (`<dataDir>/bulwark.db`). */
  db: SqliteDb;
  /** Directory of persistent state (env `BULWARK_DATA_DIR`, default `./data`). */
  dataDir: string;
  /** Optional Redis URL when state is shared between instances (env `BULWARK_REDIS_URL`). */
  redisUrl?: string;
  /**
   * Prefix of every Redis key Bulwark writes (rate-limit state and decisions), so several deployments or
   * tests can share one Redis (`--redis-prefix`, env `BULWARK_REDIS_PREFIX`; default `bulwark:`).
   */
  redisPrefix?: string;
}

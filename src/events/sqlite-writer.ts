/**
 * Writer thread of {@link SqliteEventStore}: opens its own connection to the events database file and
 * inserts the batches posted by the main thread, one transaction each, answering `{ id, ok, error? }`.
 * WAL mode lets the main connection read (and write other tables) concurrently; writers serialize on the
 * database lock with the 5 s busy timeout set by `openDatabase`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../store/sqlite.ts';
import { prepareEventInsert } from './sqlite-store.ts';
import type { SecurityEvent } from './types.ts';

if (parentPort) {
  const port = parentPort;
  const db = openDatabase((workerData as { file: string }).file);
  const insert = prepareEventInsert(db);
  port.on('message', (m: { id: number; events: SecurityEvent[] }) => {
    try {
      insert(m.events);
      port.postMessage({ id: m.id, ok: true });
    } catch (err) {
      port.postMessage({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
  port.on('close', () => db.close());
}

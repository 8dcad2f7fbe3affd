import { test } from 'node:test';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresEventStore } from './postgres-store.ts';
import { checkEventStoreContract } from './testkit.ts';

const PG = process.env.BULWARK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

test('PostgreSQL event store: same contract as SQLite (filters, cursor, stream, prune)', async (t) => {
  const schema = `bw_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const store = new PostgresEventStore(PG, { schema });
  t.after(async () => {
    await store.close();
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  });
  await checkEventStoreContract(store);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../../core/context.ts';
import { geoSchema } from './schema.ts';
import { GeoDetector, geoDetector } from './detector.ts';
import { AsnRanges, defaultAsnDb, defaultCountryDb, openAsnDb, openCountryDb } from './db.ts';
import { countryDistanceKm, COUNTRY_CENTROIDS } from './centroids.ts';
import { policySchema } from '../../config/schema.ts';
import type { Services } from '../../core/services.ts';

// Public DNS resolver addresses are used only as lookup inputs; no traffic is sent to them.
const countryFile = defaultCountryDb();
const asnFile = defaultAsnDb();
const skip = !countryFile || !asnFile ? 'GeoIP database packages not installed' : false;

function ctx(ip: string, over: { apiKey?: string; user?: string; at?: number } = {}): RequestContext {
  const c = new RequestContext({ id: 'r', clientIp: ip, clientKey: ip, peerIp: ip, method: 'GET', target: '/', headers: {}, startedAt: over.at ?? Date.now() });
  if (over.apiKey) c.apiKey = over.apiKey;
  if (over.user) c.user = over.user;
  return c;
}

test('country centroid table and distances', () => {
  assert.ok(COUNTRY_CENTROIDS.size > 200);
  const usKr = countryDistanceKm('US', 'KR')!;
  assert.ok(usKr > 9000 && usKr < 13000, `US–KR ${usKr}`);
  const deNl = countryDistanceKm('DE', 'NL')!;
  assert.ok(deNl < 600, `DE–NL ${deNl}`);
  assert.equal(countryDistanceKm('US', 'ZZ'), undefined);
});

test('real country and ASN lookups from the bundled databases', { skip }, async () => {
  const country = openCountryDb(countryFile!)!;
  assert.equal(country.country('8.8.8.8'), 'US');
  assert.equal(country.country('168.126.63.1'), 'KR');
  assert.equal(country.country('193.0.14.129'), 'NL');
  assert.equal(country.country('127.0.0.1'), undefined);
  assert.equal(country.country('not-an-ip'), undefined);
  const asn = (await openAsnDb(asnFile!))!;
  assert.ok(asn instanceof AsnRanges && asn.size > 100_000);
  assert.deepEqual(asn.lookup('8.8.8.8'), { asn: 15169, org: 'Google LLC' });
  // organisation names come out of one packed string: neighbours' names must not bleed into each other
  assert.deepEqual(asn.lookup('1.1.1.1'), { asn: 13335, org: 'Cloudflare, Inc.' });
  assert.deepEqual(asn.lookup('168.126.63.1'), { asn: 4766, org: 'Korea Telecom' });
  assert.deepEqual(asn.lookup('2001:4860:4860::8888'), { asn: 15169, org: 'Google LLC' });
  assert.deepEqual(asn.lookup('2606:4700:4700::1111'), { asn: 13335, org: 'Cloudflare, Inc.' });
  assert.equal(asn.lookup('10.0.0.1'), undefined);
});

test('sets ctx.geo, flags hosting ASNs, denied countries and impossible travel', { skip }, async () => {
  const p = geoSchema.parse({ denyCountries: ['nl'] });
  const asn = await openAsnDb(asnFile!);
  const d = new GeoDetector(p, { country: openCountryDb(countryFile!), asn });
  const c1 = ctx('8.8.8.8');
  const s1 = d.inspectRequest(c1)!;
  assert.equal(c1.geo?.country, 'US');
  assert.equal(c1.geo?.asn, 15169);
  assert.equal(c1.geo?.hosting, true);
  assert.equal(typeof c1.geo?.lat, 'number');
  assert.deepEqual(s1.map((s) => s.ruleId), ['behavior.geo.hosting']);
  assert.equal(s1[0]!.action, undefined, 'hosting is risk only');
  assert.equal(s1[0]!.score, 0);

  const c2 = ctx('193.0.14.129');
  const s2 = d.inspectRequest(c2)!;
  assert.equal(s2[0]!.ruleId, 'behavior.geo.country_denied');
  assert.equal(s2[0]!.action, 'block');

  const t0 = Date.now();
  assert.equal(d.inspectRequest(ctx('168.126.63.1', { user: 'alice', at: t0 })), undefined);
  const travel = d.inspectRequest(ctx('8.8.8.8', { user: 'alice', at: t0 + 10 * 60_000 }))!;
  const it = travel.find((s) => s.ruleId === 'behavior.geo.impossible_travel')!;
  assert.ok(it, 'KR then US within 10 minutes');
  assert.equal(it.evidence?.detail?.from, 'KR');
  assert.equal(it.evidence?.detail?.to, 'US');
  assert.ok((it.evidence?.detail?.distanceKm as number) > 2000);
  // a different user on the same path, hours apart: no travel signal
  d.inspectRequest(ctx('168.126.63.1', { user: 'bob', at: t0 }));
  const later = d.inspectRequest(ctx('8.8.8.8', { user: 'bob', at: t0 + 5 * 3_600_000 }))!;
  assert.equal(later.find((s) => s.ruleId === 'behavior.geo.impossible_travel'), undefined);
});

test('allow list blocks other countries; allow-listed clients get geo but no signals', { skip }, () => {
  const d = new GeoDetector(geoSchema.parse({ allowCountries: ['KR'], hostingRisk: 0 }), { country: openCountryDb(countryFile!), asn: null });
  assert.equal(d.inspectRequest(ctx('8.8.8.8'))![0]!.ruleId, 'behavior.geo.country_not_allowed');
  assert.equal(d.inspectRequest(ctx('168.126.63.1')), undefined);
  const c = ctx('8.8.8.8');
  c.allowListed = true;
  assert.equal(d.inspectRequest(c), undefined);
  assert.equal(c.geo?.country, 'US');
});

test('missing databases disable the detector with a log line', () => {
  const logs: unknown[] = [];
  const logger = { warn: (...a: unknown[]) => logs.push(a), info: () => {}, error: () => {}, debug: () => {} };
  const policy = policySchema.parse({ behavior: { geo: { countryDatabase: '/nonexistent/c.mmdb', asnDatabase: '/nonexistent/a.mmdb' } } });
  const d = geoDetector(policy, { logger } as unknown as Services);
  // the ASN source resolves to null asynchronously; the country DB fails synchronously
  assert.ok(d === undefined || d instanceof GeoDetector);
  assert.equal(openCountryDb('/nonexistent/c.mmdb'), null);
  assert.ok(logs.length >= 1);
});

test('lookup cache and travel state are bounded; hostile identities are cheap', { skip }, () => {
  const d = new GeoDetector(geoSchema.parse({ cacheSize: 100 }), { country: openCountryDb(countryFile!), asn: null });
  const long = 'k'.repeat(65536);
  const t = performance.now();
  for (let i = 0; i < 2000; i++) d.inspectRequest(ctx(`11.${(i >> 8) & 255}.${i & 255}.1`, { apiKey: i % 10 === 0 ? long : 'key' + i }));
  assert.ok(performance.now() - t < 5000);
  assert.ok((d as unknown as { cache: { size: number } }).cache.size <= 100);
  assert.ok((d as unknown as { travel: { size: number } }).travel.size <= 100);
});

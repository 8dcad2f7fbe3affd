/**
 * Well-known cloud / hosting / VPS provider ASNs, used as a risk signal (traffic from datacenters is more often
 * automated than traffic from eyeball networks, but server-to-server API use is legitimate: risk only).
 * Bounded, hand-maintained list of the largest providers by their public ASN registrations (PeeringDB /
 * RIR whois): extend it with `behavior.geo.hostingAsns`.
 */
export const HOSTING_ASNS: ReadonlyMap<number, string> = new Map([
  [16509, 'Amazon AWS'], [14618, 'Amazon AWS'], [8987, 'Amazon AWS (EU)'],
  [15169, 'Google'], [396982, 'Google Cloud'], [19527, 'Google Cloud'],
  [8075, 'Microsoft Azure'], [8068, 'Microsoft'],
  [31898, 'Oracle Cloud'], [36351, 'IBM Cloud / SoftLayer'],
  [14061, 'DigitalOcean'], [63949, 'Akamai Connected Cloud (Linode)'], [20473, 'Vultr (Choopa)'],
  [16276, 'OVHcloud'], [24940, 'Hetzner Online'], [213230, 'Hetzner Cloud'], [12876, 'Scaleway'],
  [51167, 'Contabo'], [60781, 'Leaseweb NL'], [28753, 'Leaseweb DE'], [30633, 'Leaseweb US'],
  [45102, 'Alibaba Cloud'], [37963, 'Alibaba (Aliyun)'], [132203, 'Tencent Cloud'], [45090, 'Tencent'],
  [55990, 'Huawei Cloud'], [136907, 'Huawei Cloud'],
  [9009, 'M247'], [47583, 'Hostinger'], [8560, 'IONOS'], [60068, 'Datacamp (CDN77)'],
  [40676, 'Psychz Networks'], [8100, 'QuadraNet'], [36352, 'ColoCrossing (HostPapa)'],
  [13335, 'Cloudflare'], [54113, 'Fastly'], [20940, 'Akamai'], [46606, 'Unified Layer (Bluehost)'],
  [26496, 'GoDaddy'], [398101, 'GoDaddy'], [62567, 'DigitalOcean (legacy)'], [393406, 'DigitalOcean'],
  [200019, 'AlexHost'],
]);

/** True when the ASN is a known hosting provider (built-in list or `extra`). */
export function isHostingAsn(asn: number, extra?: ReadonlySet<number>): boolean {
  return HOSTING_ASNS.has(asn) || (extra?.has(asn) ?? false);
}

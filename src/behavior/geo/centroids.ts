/**
 * Approximate country centroids (latitude, longitude in degrees) by ISO 3166-1 alpha-2 code, for impossible-travel
 * checks. Source: the "Geographic coordinates" entries of the CIA World Factbook (public domain), rounded to
 * whole or half degrees. A country's centroid is a coarse stand-in for a client's position: distances between
 * neighbouring countries are understated or overstated by a few hundred km, which is why the default
 * impossible-travel distance (2,000 km) is well above that error.
 */
const RAW =
  'AD:42.5,1.5;AE:24,54;AF:33,65;AG:17,-61.8;AL:41,20;AM:40,45;AO:-12.5,18.5;AR:-34,-64;AT:47.3,13.3;AU:-27,133;' +
  'AZ:40.5,47.5;BA:44,18;BB:13.2,-59.5;BD:24,90;BE:50.8,4;BF:13,-2;BG:43,25;BH:26,50.5;BI:-3.5,30;BJ:9.5,2.3;' +
  'BN:4.5,114.7;BO:-17,-65;BR:-10,-55;BS:24.3,-76;BT:27.5,90.5;BW:-22,24;BY:53,28;BZ:17.3,-88.8;CA:60,-95;' +
  'CD:0,25;CF:7,21;CG:-1,15;CH:47,8;CI:8,-5;CL:-30,-71;CM:6,12;CN:35,105;CO:4,-72;CR:10,-84;CU:21.5,-80;' +
  'CV:16,-24;CY:35,33;CZ:49.8,15.5;DE:51,9;DJ:11.5,43;DK:56,10;DM:15.4,-61.3;DO:19,-70.7;DZ:28,3;EC:-2,-77.5;' +
  'EE:59,26;EG:27,30;ER:15,39;ES:40,-4;ET:8,38;FI:64,26;FJ:-18,175;FR:46,2;GA:-1,11.8;GB:54,-2;GD:12.1,-61.7;' +
  'GE:42,43.5;GH:8,-2;GM:13.5,-15.5;GN:11,-10;GQ:2,10;GR:39,22;GT:15.5,-90.3;GW:12,-15;GY:5,-59;HK:22.3,114.2;' +
  'HN:15,-86.5;HR:45.2,15.5;HT:19,-72.4;HU:47,20;ID:-5,120;IE:53,-8;IL:31.5,34.8;IN:20,77;IQ:33,44;IR:32,53;' +
  'IS:65,-18;IT:42.8,12.8;JM:18.3,-77.5;JO:31,36;JP:36,138;KE:1,38;KG:41,75;KH:13,105;KM:-12.2,44.3;KN:17.3,-62.7;' +
  'KP:40,127;KR:37,127.5;KW:29.5,45.8;KZ:48,68;LA:18,105;LB:33.8,35.8;LC:13.9,-61;LI:47.3,9.5;LK:7,81;LR:6.5,-9.5;' +
  'LS:-29.5,28.5;LT:56,24;LU:49.8,6.2;LV:57,25;LY:25,17;MA:32,-5;MC:43.7,7.4;MD:47,29;ME:42.5,19.3;MG:-20,47;' +
  'MK:41.8,22;ML:17,-4;MM:22,98;MN:46,105;MO:22.2,113.5;MR:20,-12;MT:35.8,14.6;MU:-20.3,57.6;MV:3.2,73;MW:-13.5,34;' +
  'MX:23,-102;MY:2.5,112.5;MZ:-18.3,35;NA:-22,17;NE:16,8;NG:10,8;NI:13,-85;NL:52.5,5.8;NO:62,10;NP:28,84;NZ:-41,174;' +
  'OM:21,57;PA:9,-80;PE:-10,-76;PG:-6,147;PH:13,122;PK:30,70;PL:52,20;PR:18.3,-66.5;PS:32,35.3;PT:39.5,-8;PY:-23,-58;' +
  'QA:25.5,51.3;RO:46,25;RS:44,21;RU:60,100;RW:-2,30;SA:25,45;SB:-8,159;SC:-4.6,55.7;SD:15,30;SE:62,15;SG:1.4,103.8;' +
  'SI:46.1,14.8;SK:48.7,19.5;SL:8.5,-11.5;SM:43.8,12.4;SN:14,-14;SO:10,49;SR:4,-56;SS:8,30;SV:13.8,-88.9;SY:35,38;' +
  'SZ:-26.5,31.5;TD:15,19;TG:8,1.2;TH:15,100;TJ:39,71;TL:-8.8,125.9;TM:40,60;TN:34,9;TO:-20,-175;TR:39,35;TT:11,-61;' +
  'TW:23.5,121;TZ:-6,35;UA:49,32;UG:1,32;US:38,-97;UY:-33,-56;UZ:41,64;VA:41.9,12.5;VC:13.3,-61.2;VE:8,-66;VN:16,106;' +
  'VU:-16,167;WS:-13.6,-172.3;XK:42.6,21;YE:15,48;ZA:-29,24;ZM:-15,30;ZW:-20,30;GL:72,-40;NC:-21.5,165.5;PF:-15,-140;' +
  'RE:-21.1,55.6;GP:16.3,-61.6;MQ:14.7,-61;GF:4,-53;YT:-12.8,45.2;BM:32.3,-64.8;KY:19.5,-80.5;VG:18.5,-64.5;' +
  'VI:18.3,-64.9;GU:13.5,144.8;AW:12.5,-70;CW:12.2,-69;IM:54.2,-4.5;JE:49.2,-2.1;GG:49.5,-2.6;FO:62,-7;GI:36.1,-5.3;' +
  'AX:60.1,19.9;AI:18.2,-63.2;MS:16.8,-62.2;TC:21.8,-71.8;FM:6.9,158.2;MH:9,168;PW:7.5,134.5;KI:1.4,173;NR:-0.5,166.9;' +
  'TV:-8,178;ST:1,7;MP:15.2,145.8;AS:-14.3,-170.7;CK:-21.2,-159.8;NU:-19,-169.9;SX:18,-63;BQ:12.2,-68.3;MF:18.1,-63;' +
  'BL:17.9,-62.8;PM:46.8,-56.2;WF:-13.3,-176.2;FK:-51.8,-59.5;SH:-15.9,-5.7;IO:-6,71.5;EH:24.5,-13';

/** Country → [latitude, longitude] in degrees. */
export const COUNTRY_CENTROIDS: ReadonlyMap<string, readonly [number, number]> = new Map(
  RAW.split(';').map((e) => {
    const [cc, ll] = e.split(':') as [string, string];
    const [lat, lon] = ll.split(',').map(Number) as [number, number];
    return [cc, [lat, lon] as const];
  }),
);

/**
 * Great-circle distance in km between two points (haversine formula, Earth radius 6,371 km).
 */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const dLat = (lat2 - lat1) * r;
  const dLon = (lon2 - lon1) * r;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Distance in km between two countries' centroids, or undefined when either is not in the table. */
export function countryDistanceKm(a: string, b: string): number | undefined {
  const p = COUNTRY_CENTROIDS.get(a);
  const q = COUNTRY_CENTROIDS.get(b);
  if (!p || !q) return undefined;
  return haversineKm(p[0], p[1], q[0], q[1]);
}

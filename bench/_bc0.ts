import autocannon from 'autocannon';
import { startServer } from './lib.ts';
const demo = await startServer('demo');
const b = await startServer('minimal', [demo.url]);
const c0 = await startServer('gateway-bare', [demo.url, JSON.stringify({ trustedProxies: ['127.0.0.1/32'] })]);
let n = 0;
const load = async (url: string) => (await autocannon({ url: url + '/api/products', connections: 50, duration: 3, requests: [{ method: 'GET', path: '/api/products', setupRequest: (req: any) => { const i = n++; return { ...req, headers: { 'x-forwarded-for': `10.${(i>>8)&255}.${i&255}.1`, 'user-agent': `FinApp/3.${i & 1023}`, accept: 'application/json' } }; } }] })).requests.average;
await load(b.url); await load(c0.url);
for (let i = 0; i < 4; i++) { const x = await load(b.url); const y = await load(c0.url); console.log('b', x.toFixed(0), 'c0', y.toFixed(0), 'ratio', (y / x).toFixed(3)); }
await Promise.all([b.stop(), c0.stop(), demo.stop()]);

/**
 * Live updates from `GET /api/v1/stream` (Server-Sent Events): one EventSource for the whole app, the
 * session cookie sent by the browser. On loss the browser's own retry is replaced by ours: exponential
 * backoff 1 s → 30 s with jitter, so a restarting server is not hit by every open dashboard at once.
 */
import { signal } from '@preact/signals';

/** Connection state shown in the header. */
export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'offline';
export const streamState = signal<StreamState>('offline');

type Listener = (data: any) => void;
const listeners = new Map<string, Set<Listener>>();
const NAMES = ['hello', 'event', 'decision', 'counters', 'incident', 'alert', 'dropped'];
let es: EventSource | undefined;
let retry = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let wanted = false;

/** Subscribes to a stream event name; returns the unsubscribe function. */
export function on(name: string, fn: Listener): () => void {
  let set = listeners.get(name);
  if (!set) listeners.set(name, (set = new Set()));
  set.add(fn);
  return () => set!.delete(fn);
}

function dispatch(name: string, raw: string): void {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return;
  }
  for (const fn of listeners.get(name) ?? []) {
    try {
      fn(data);
    } catch (err) {
      console.error('stream listener failed', err);
    }
  }
}

function open(): void {
  clearTimeout(timer);
  if (!wanted) return;
  streamState.value = retry === 0 ? 'connecting' : 'reconnecting';
  const src = new EventSource('/api/v1/stream', { withCredentials: true });
  es = src;
  for (const n of NAMES) src.addEventListener(n, (ev) => dispatch(n, (ev as MessageEvent).data));
  src.addEventListener('hello', () => {
    retry = 0;
    streamState.value = 'live';
  });
  src.onerror = () => {
    if (es !== src) return;
    src.close();
    es = undefined;
    if (!wanted) return;
    streamState.value = 'reconnecting';
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(retry, 5)) * (0.75 + Math.random() * 0.5);
    retry++;
    timer = setTimeout(open, delay);
  };
}

/** Opens the stream (idempotent). */
export function connect(): void {
  wanted = true;
  if (!es) {
    retry = 0;
    open();
  }
}

/** Closes the stream (on logout). */
export function disconnect(): void {
  wanted = false;
  clearTimeout(timer);
  es?.close();
  es = undefined;
  streamState.value = 'offline';
}

import type { IncomingMessage } from 'node:http';

/** Result of reading the start of a request body. */
export interface BodyPrefixRead {
  /** The first bytes read (at most `limit`, or the whole body when it ended first). */
  prefix: Buffer;
  /** True when the body ended within `limit` bytes: `prefix` is the whole body. */
  complete: boolean;
  /** True when more than `limit` bytes arrived (the body is larger than the inspection limit). */
  oversize: boolean;
  /** Set when the client aborted or the stream failed while reading. */
  error?: Error;
}

/**
 * True when the request carries a body: a non-zero `Content-Length` or any `Transfer-Encoding`
 * (RFC 9112 §6.3: a request without either has no body).
 */
export function hasBody(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

/** Declared Content-Length in bytes, or undefined (absent, chunked, or not a number). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const cl = req.headers['content-length'];
  if (cl === undefined) return undefined;
  const n = Number(cl);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Reads up to `limit` bytes of the request body without consuming the rest: once `limit` bytes have
 * arrived the stream is paused and the bytes read are pushed back with `unshift`, so the request stream can
 * then be forwarded from its first byte (prefix + rest, still streaming, no full buffering). When the body
 * ended within the limit, the stream is finished and `prefix` is the whole body: forward the buffer instead.
 *
 * Memory: at most `limit` plus one socket chunk (≤ 64 KiB) per request.
 * @param limit - bytes to read (policy `body.inspectLimitBytes`).
 * @param timeoutMs - give up waiting for body bytes after this long (slow-loris body); reported as `error`.
 */
export function readBodyPrefix(req: IncomingMessage, limit: number, timeoutMs: number): Promise<BodyPrefixRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const timer = setTimeout(() => finish(false, new Error('body read timeout')), timeoutMs);
    timer.unref?.();

    function cleanup(): void {
      clearTimeout(timer);
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
      req.removeListener('close', onClose);
    }
    function finish(complete: boolean, error?: Error): void {
      if (settled) return;
      settled = true;
      cleanup();
      const prefix = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      if (!complete && error === undefined) {
        req.pause();
        // hand the bytes back to the stream: the forwarder then reads prefix + rest in order
        if (size > 0) req.unshift(prefix);
      }
      const inspected = prefix.length > limit ? prefix.subarray(0, limit) : prefix;
      resolve({ prefix: complete ? prefix : inspected, complete, oversize: size > limit, error });
    }
    function onData(chunk: Buffer): void {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) finish(false);
    }
    function onEnd(): void {
      finish(true);
    }
    function onError(err: Error): void {
      finish(false, err);
    }
    function onClose(): void {
      if (!req.complete) finish(false, new Error('client aborted'));
    }
    // the client may have gone during an asynchronous request phase: its 'close' has fired already
    if (req.destroyed && !req.complete) {
      finish(false, new Error('client aborted'));
      return;
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * The ioredis client class, re-exported after undoing a process-wide slowdown that loading ioredis causes.
 * Every Bulwark module that talks to Redis imports `Redis` from here, never from `ioredis` directly.
 *
 * Why: ioredis 6 defines `class VerbatimString extends String` (RESP3 verbatim strings). Making
 * `String.prototype` the prototype of another object turns it into a dictionary-mode (slow properties) object
 * in V8, and then optimised string code that calls `String.prototype` methods on primitives, such as
 * `s.charCodeAt(i)` loops, takes a slow path: about 8× slower in a micro-benchmark, and the payload engine
 * about 1.4× slower (built-in benign sample, median of 15 passes: 49 µs → 69 µs per request with ioredis
 * loaded). Constructing one instance of a `String` subclass whose constructor adds an own property makes V8
 * re-optimise the receiver's prototype chain, `String.prototype` included, back to fast properties
 * (measured: 49–55 µs per request again). `test/string-prototype.test.ts` checks the property mode with V8's
 * `%HasFastProperties` in child processes, for this module and for the whole gateway's module graph.
 */
import { Redis } from 'ioredis';

export { Redis };

/**
 * Returns `String.prototype` to V8's fast-properties mode after something made it the prototype of another
 * object (a `class … extends String`). Idempotent and cheap (one object); no effect on behaviour.
 */
export function restoreFastStringPrototype(): void {
  new FastStringPrototype();
}

class FastStringPrototype extends String {
  constructor() {
    super('');
    // the own-property store on a String wrapper is what makes V8 re-optimise its prototype chain
    (this as unknown as { restored: boolean }).restored = true;
  }
}

restoreFastStringPrototype();

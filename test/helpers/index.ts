/** Reusable integration-test helpers: a recording upstream, Bulwark on ephemeral ports, raw HTTP. */
export * from './upstream.ts';
export * from './bulwark.ts';
export * from './http.ts';
export * from './logs.ts';
export * from './child.ts';

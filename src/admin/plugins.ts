import type { FastifyInstance } from 'fastify';
import type { BulwarkApp } from '../app.ts';
import { controlPlanePlugin } from '../controlplane/plugin.ts';

/** A plugin mounted on the admin listener before it listens (control plane API, dashboard). */
export type AdminPlugin = (admin: FastifyInstance, app: BulwarkApp) => Promise<void>;

/**
 * Plugins that `bulwark start` mounts on the admin listener, in order. The control plane adds its entry
 * here (one import + one list item); tests pass their own list to `startBulwark({ plugins })` instead.
 */
export const ADMIN_PLUGINS: AdminPlugin[] = [controlPlanePlugin];

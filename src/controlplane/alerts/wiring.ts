import type { Policy } from '../../config/schema.ts';
import type { Services } from '../../core/services.ts';
import type { SqliteDb } from '../../store/sqlite.ts';
import { createIncidentService, type IncidentService } from '../incidents/service.ts';
import { openSecretBox, type SecretBox } from '../secrets.ts';
import { createAlertService, type AlertService } from './service.ts';

/**
 * What the incidents/alerts plugins need from the running gateway: the structural subset of `BulwarkApp`
 * (`src/app.ts`) and of the control plane's host.
 */
export interface AlertingHost {
  services: Pick<Services, 'db' | 'events' | 'eventStore' | 'decisions' | 'logger' | 'dataDir'>;
  policy(): Policy;
}

/** The incident and alert services of one running instance, with the secret box they share. */
export interface Alerting {
  incidents: IncidentService;
  alerts: AlertService;
  secrets: SecretBox;
  /** Closes alerts then incidents (idempotent). */
  close(): Promise<void>;
}

const instances = new WeakMap<object, Alerting>();

/**
 * Returns the incident and alert services of `host`, creating them on first use (one pair per host, shared by
 * `incidentRoutes`, `alertRoutes` and the live stream). The incident service subscribes to
 * `host.services.events`; the master key comes from `BULWARK_SECRET_KEY` or `<dataDir>/secret.key`.
 * @throws {import('../secrets.ts').SecretError} `BWK_SECRET_KEY` when the configured key is invalid.
 */
export function alertingFor(host: AlertingHost, db: SqliteDb = host.services.db): Alerting {
  const existing = instances.get(host.services);
  if (existing) return existing;
  const { logger } = host.services;
  const policy = () => host.policy();
  const secrets = openSecretBox({ dataDir: host.services.dataDir, logger });
  const incidents = createIncidentService({ db, events: host.services.events, decisions: host.services.decisions, logger, policy });
  const alerts = createAlertService({ db, incidents, logger, secrets, policy });
  let closing: Promise<void> | undefined;
  const a: Alerting = {
    incidents,
    alerts,
    secrets,
    close() {
      closing ??= (async () => {
        instances.delete(host.services);
        await alerts.close();
        await incidents.close();
      })();
      return closing;
    },
  };
  instances.set(host.services, a);
  return a;
}

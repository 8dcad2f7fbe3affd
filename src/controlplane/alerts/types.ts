import type { ThreatLevel } from '../../core/types.ts';
import type { Actor } from '../incidents/types.ts';

/** Why an alert was raised: a new incident, a severity rise, or a recurrence of a resolved incident. */
export type AlertKind = 'opened' | 'escalated' | 'reopened' | 'test';

/**
 * An alert: one notification-worthy change of an incident. Deduplicated per (incident, generation, severity):
 * a duplicate event never creates a second alert; an escalation does. Times in ms since epoch.
 */
export interface Alert {
  id: string;
  incidentId: string;
  kind: AlertKind;
  severity: ThreatLevel;
  previousSeverity?: ThreatLevel;
  /** Re-open count of the incident when the alert was raised (part of the dedup key). */
  generation: number;
  /** One-line summary, e.g. `HIGH sqli incident: ip 203.0.113.7 (12 events, 12 blocked)`. Contains request-derived text: render as text. */
  title: string;
  actor: Actor;
  scenario: string;
  events: number;
  blocked: number;
  createdAt: number;
  state: 'new' | 'acknowledged';
  acknowledgedBy?: string;
  acknowledgedAt?: number;
  /** True when a mute rule for all channels (or the incident's own mute) suppressed every delivery. */
  muted: boolean;
  /** Id of the mute rule that applied, when one did. */
  mutedBy?: string;
}

/** Channel kinds. The live in-app stream is always on (`AlertService.subscribe`) and is not a stored channel. */
export type ChannelType = 'webhook' | 'email';

/** Webhook message format: Bulwark's JSON payload, or a Slack-compatible message (`text` + `blocks`). */
export type WebhookFormat = 'json' | 'slack';

/** Webhook channel settings as returned by the API (URL and signing key masked). */
export interface WebhookView {
  /** Masked: `https://hooks.example.test/***`. */
  url: string;
  /** Masked: `****abcd`. */
  signingKey: string;
  format: WebhookFormat;
}

/** SMTP settings as returned by the API (credentials masked). */
export interface EmailView {
  to: string[];
  from: string;
  smtp: { host: string; port: number; secure: boolean; requireTLS: boolean; user?: string; password?: string };
}

/** An alert channel as returned by the API: secrets are never included in clear. */
export interface Channel {
  id: string;
  name: string;
  type: ChannelType;
  enabled: boolean;
  /** Alerts below this severity are not sent to the channel. */
  minSeverity: ThreatLevel;
  webhook?: WebhookView;
  email?: EmailView;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
}

/** Input to create a channel. Secrets (`url`, `signingKey`, `smtp.user`, `smtp.password`) are encrypted at rest. */
export interface NewChannel {
  name: string;
  type: ChannelType;
  enabled?: boolean;
  minSeverity?: ThreatLevel;
  webhook?: { url: string; signingKey?: string; format?: WebhookFormat };
  email?: {
    to: string[];
    from: string;
    smtp: { host: string; port: number; secure?: boolean; requireTLS?: boolean; user?: string; password?: string };
  };
}

/** Partial update of a channel; secrets are replaced only when given. The type cannot change. */
export interface ChannelPatch {
  name?: string;
  enabled?: boolean;
  minSeverity?: ThreatLevel;
  webhook?: { url?: string; signingKey?: string; format?: WebhookFormat };
  email?: {
    to?: string[];
    from?: string;
    smtp?: { host?: string; port?: number; secure?: boolean; requireTLS?: boolean; user?: string; password?: string };
  };
}

/** Delivery status: queued, waiting for a retry, done, given up, or not sent because of a mute rule. */
export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed' | 'suppressed';

/** One delivery of an alert to a channel (the delivery log). `latencyMs` is the last attempt's duration. */
export interface Delivery {
  id: string;
  channelId: string;
  /** Alert id, or `test` for a test-send. */
  alertId: string;
  status: DeliveryStatus;
  attempts: number;
  /** HTTP status of the last webhook attempt (0 for none / network error); SMTP reply code for e-mail when known. */
  responseStatus?: number;
  latencyMs?: number;
  /** Last error, with secrets masked; at most 500 characters. */
  error?: string;
  createdAt: number;
  updatedAt: number;
  /** When the next attempt is due (status `retrying`). */
  nextAttemptAt?: number;
}

/**
 * A mute rule: alerts matching every given field are not delivered (to `channelId`, or to every channel and the
 * live stream when absent) until `until` (forever when absent). `actor` matches the actor value or `kind:value`;
 * `category` the incident scenario; `ruleId` any rule seen in the incident.
 */
export interface MuteRule {
  id: string;
  channelId?: string;
  actor?: string;
  category?: string;
  ruleId?: string;
  until?: number;
  reason?: string;
  createdBy: string;
  createdAt: number;
  /** False once `until` has passed. */
  active: boolean;
}

/** Input for a mute rule; at least one of `channelId`, `actor`, `category`, `ruleId`. */
export interface NewMuteRule {
  channelId?: string;
  actor?: string;
  category?: string;
  ruleId?: string;
  until?: number;
  reason?: string;
}

/** Messages of the live in-app stream of the alert service. */
export type AlertStreamMessage =
  | { type: 'alert'; alert: Alert }
  | { type: 'alert.acknowledged'; alert: Alert }
  | { type: 'delivery'; delivery: Delivery };

/** Filter of the alert list; times in ms on `createdAt`. */
export interface AlertFilter {
  state?: 'new' | 'acknowledged';
  /** Minimum severity. */
  severity?: ThreatLevel;
  incidentId?: string;
  from?: number;
  to?: number;
  cursor?: string;
  limit?: number;
}

/** A page of items, newest first. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** Shared UI pieces: router, links, badges, tables, error boxes, drawers. All data is rendered as text. */
import { signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ApiError } from './api.ts';

/** Current path (history routing; the control plane serves index.html for every page path). */
export const route = signal(location.pathname + location.search);
window.addEventListener('popstate', () => {
  route.value = location.pathname + location.search;
});

/** Navigates within the SPA. */
export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  route.value = to;
  window.scrollTo(0, 0);
}

/** An in-app link. */
export function Link(props: { href: string; class?: string; children: ComponentChildren; testid?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      data-testid={props.testid}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

/** Threat level / severity badge. */
export function Level({ level }: { level?: string }) {
  const l = (level ?? 'LOW').toUpperCase();
  return <span class={`badge lvl-${l.toLowerCase()}`}>{l}</span>;
}

/** Action badge (allow/log/throttle/block/ban). */
export function ActionBadge({ action, monitor }: { action: string; monitor?: boolean }) {
  return (
    <span class={`badge act-${action}`} title={monitor ? 'monitor mode: not enforced' : undefined}>
      {action}
      {monitor ? ' (monitor)' : ''}
    </span>
  );
}

/** An error message box (problem details' detail and validation issues). */
export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as ApiError;
  return (
    <div class="error" role="alert">
      <strong>{e.message ?? String(error)}</strong>
      {e.errors?.length ? (
        <ul>
          {e.errors.map((i) => (
            <li>
              <code>{i.path}</code>: {i.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** A card with a title. */
export function Card(props: { title: string; children: ComponentChildren; class?: string; actions?: ComponentChildren; testid?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`} data-testid={props.testid}>
      <header>
        <h2>{props.title}</h2>
        {props.actions}
      </header>
      <div class="card-body">{props.children}</div>
    </section>
  );
}

/** Column of a {@link Table}. */
export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
  class?: string;
}

/** A responsive table (scrolls horizontally on phones). */
export function Table<T>(props: { rows: T[]; cols: Column<T>[]; empty?: string; onRow?: (row: T) => void; testid?: string; rowKey?: (row: T) => string }) {
  return (
    <div class="table-wrap">
      <table data-testid={props.testid}>
        <thead>
          <tr>
            {props.cols.map((c) => (
              <th class={c.class}>{c.label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colSpan={props.cols.length} class="muted">
                {props.empty ?? 'Nothing yet.'}
              </td>
            </tr>
          ) : (
            props.rows.map((r) => (
              <tr key={props.rowKey?.(r)} class={props.onRow ? 'clickable' : undefined} onClick={props.onRow ? () => props.onRow!(r) : undefined}>
                {props.cols.map((c) => (
                  <td class={c.class}>{c.cell(r)}</td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A side drawer (full screen on phones). */
export function Drawer(props: { title: string; onClose: () => void; children: ComponentChildren; testid?: string }) {
  useEffect(() => {
    const k = (e: KeyboardEvent) => e.key === 'Escape' && props.onClose();
    window.addEventListener('keydown', k);
    return () => window.removeEventListener('keydown', k);
  }, [props.onClose]);
  return (
    <div class="drawer-backdrop" onClick={props.onClose}>
      <div class="drawer" role="dialog" aria-modal="true" aria-label={props.title} data-testid={props.testid} onClick={(e) => e.stopPropagation()}>
        <header>
          <h2>{props.title}</h2>
          <button class="ghost" onClick={props.onClose} aria-label="Close">
            ✕
          </button>
        </header>
        <div class="drawer-body">{props.children}</div>
      </div>
    </div>
  );
}

/** Loads data with `fn` when `deps` change; returns [data, error, reload]. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): [T | undefined, unknown, () => void] {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    fn().then(
      (d) => {
        if (live) {
          setData(d);
          setError(undefined);
        }
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return [data, error, () => setTick((t) => t + 1)];
}

/** A transient notice at the bottom of the screen. */
export const toast = signal<{ text: string; kind: 'ok' | 'err' } | null>(null);
let toastTimer: ReturnType<typeof setTimeout> | undefined;
/** Shows a notice for 4 s. */
export function notify(text: string, kind: 'ok' | 'err' = 'ok'): void {
  toast.value = { text, kind };
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.value = null), 4000);
}

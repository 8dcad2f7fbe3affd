import type { Decision, DecisionScope } from '../core/types.ts';
import type { DecisionStore } from './types.ts';

/**
 * Decisions kept in process memory only (tests, or when persistence is not wanted): lost on restart.
 * `countOffences` counts stored decisions (expired ones included until pruned) created at or after `since`.
 */
export class MemoryDecisionStore implements DecisionStore {
  private readonly map = new Map<string, Decision>();

  async loadActive(now: number): Promise<Decision[]> {
    return [...this.map.values()].filter((d) => d.expiresAt > now).map((d) => ({ ...d }));
  }

  async put(d: Decision): Promise<void> {
    this.map.set(d.id, { ...d });
  }

  async delete(id: string): Promise<boolean> {
    return this.map.delete(id);
  }

  async countOffences(scope: DecisionScope, value: string, source: string, since: number): Promise<number> {
    let n = 0;
    for (const d of this.map.values()) if (d.scope === scope && d.value === value && d.source === source && d.createdAt >= since) n++;
    return n;
  }

  async prune(before: number): Promise<number> {
    let n = 0;
    for (const [id, d] of this.map) {
      if (d.expiresAt < before) {
        this.map.delete(id);
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {}
}

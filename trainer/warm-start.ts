import type { BprFactors } from '../models/bpr/index.js';

/**
 * How a run starts from the production model: models/bpr's `warmStart` matches users and playlists by id, keeps
 * the factors of those it knows and initialises the new ones at random (as a cold start would). Users and
 * playlists of the production model that are not in the training window are not carried over: the candidate
 * holds what the window holds, so memory stays bounded and a user who asked to be forgotten (gone from the
 * windows) is gone from the next model.
 */
export interface WarmStartPlan {
  /** False when the production model cannot seed this run (none, or another factor layout): a cold start. */
  readonly warm: boolean;
  /** Why not, when not. */
  readonly reason?: string;
  readonly knownUsers: number;
  readonly newUsers: number;
  readonly knownItems: number;
  readonly newItems: number;
  /** Production users and playlists not in the training window (left out of the candidate). */
  readonly droppedUsers: number;
  readonly droppedItems: number;
}

/** The plan for training `users` × `items` with `factors` latent factors (and item bias or not) from `production`. */
export function warmStartPlan(production: BprFactors | undefined, users: readonly string[], items: readonly string[], o: { readonly factors: number; readonly itemBias: boolean }): WarmStartPlan {
  const none = { knownUsers: 0, newUsers: users.length, knownItems: 0, newItems: items.length, droppedUsers: 0, droppedItems: 0 };
  if (!production) return { warm: false, reason: 'no production model', ...none };
  if (production.factors !== o.factors || production.itemBias !== o.itemBias) {
    return {
      warm: false,
      reason: `the production model has ${production.factors} factors (item bias ${production.itemBias}), this run trains ${o.factors} (item bias ${o.itemBias})`,
      ...none,
    };
  }
  const knownUsers = users.filter((u) => production.users.indexOf(u) !== undefined).length;
  const knownItems = items.filter((i) => production.items.indexOf(i) !== undefined).length;
  return {
    warm: true,
    knownUsers,
    newUsers: users.length - knownUsers,
    knownItems,
    newItems: items.length - knownItems,
    droppedUsers: production.users.ids.length - knownUsers,
    droppedItems: production.items.ids.length - knownItems,
  };
}

export function describePlan(p: WarmStartPlan, from: string): string {
  if (!p.warm) return `cold start (${p.reason}): ${p.newUsers} users, ${p.newItems} playlists initialised`;
  return `warm start from ${from}: ${p.knownUsers} users and ${p.knownItems} playlists kept, ${p.newUsers} new users and ${p.newItems} new playlists initialised, ${p.droppedUsers} users and ${p.droppedItems} playlists not in the window left out`;
}

import type { Rng } from '../models/random.js';
import type { WorldModel } from '../data/world.js';
import type { HiddenTaste } from './reaction.js';

/**
 * A playlist a curator makes (or the tracks they add in an edit): `length` distinct tracks of the world drawn
 * from their taste by weight and Zipf popularity, with `noise` of them from anywhere. Returns track indices.
 */
export function curateTracks(model: WorldModel, taste: HiddenTaste, length: number, rng: Rng, noise = 0.1): number[] {
  const total = taste.weights.reduce((a, b) => a + b, 0);
  const chosen = new Set<number>();
  const out: number[] = [];
  for (let tries = 0; out.length < length && tries < length * 10; tries++) {
    let c: number;
    if (total <= 0 || taste.communities.length === 0 || rng.chance(noise)) c = model.sampleCommunity(rng);
    else {
      let x = rng.next() * total;
      let i = 0;
      while (i < taste.communities.length - 1 && (x -= taste.weights[i] ?? 0) >= 0) i++;
      c = taste.communities[i] as number;
    }
    const t = model.sampleTrack(c, rng);
    if (!chosen.has(t)) {
      chosen.add(t);
      out.push(t);
    }
  }
  return out;
}

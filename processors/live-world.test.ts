import { describe, expect, it } from 'vitest';
import { createIdMap } from '../models/interactions.js';
import { bprScorer } from './live-world.js';

describe('bprScorer', () => {
  // two factors, no bias: user u likes p1 (score 1) and dislikes p2 (score -2)
  const factors = {
    factors: 2, itemBias: false, stride: 2,
    users: createIdMap(['u']), items: createIdMap(['p1', 'p2']),
    userFactors: Float32Array.from([1, 0]), itemFactors: Float32Array.from([1, 0, -2, 0]),
  };
  const scorer = bprScorer(factors, 'v1');

  it('scores known playlists by the dot product, and an unknown one as the lowest known candidate, never above', () => {
    expect(Array.from(scorer.score('u', ['p1', 'new', 'p2'])!)).toEqual([1, -2, -2]);
    expect(Array.from(scorer.score('u', ['new', 'p1'])!)).toEqual([1, 1]);
  });

  it('gives no signal for an unknown user or when no candidate is known', () => {
    expect(scorer.score('stranger', ['p1'])).toBeUndefined();
    expect(scorer.score('u', ['new', 'newer'])).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import type { Recommendation } from '../models/ranking/index.js';
import type { UserTasteEmbedding } from '../streams/index.js';
import { activeUsers, batchRankingUser, dailyList } from './top-picks-lists.js';

const DAY = 24 * 3_600_000;
const NOW = Date.parse('2026-12-02T06:00:00Z');
const taste = (over: Partial<UserTasteEmbedding> = {}): UserTasteEmbedding => ({
  userId: 'u', vector: [3, 4], mass: 1, eventCount: 5, embeddingVersion: 'e1', updatedAt: NOW - DAY, follows: ['f1'], ...over,
});
const rec = (id: string, over: Partial<Recommendation['explanation']> = {}): Recommendation => ({
  playlistId: id, score: 0.5,
  components: { bpr: 0, familiarity: 0, novelty: 0, buddy: 0, support: 0, cooccurrence: 0, popularity: 0 },
  explanation: { reason: 'buddy', buddy: 'b1', relation: 'made', tasteMatch: 82, ...over },
});

// Issue 10, part 5: who gets Top Picks and what the list carries.
describe('activeUsers', () => {
  it('takes users whose taste or pairing moved within the span, sorted, each once', () => {
    const tastes = [['c', { updatedAt: NOW - 2 * DAY }], ['a', { updatedAt: NOW - 40 * DAY }], ['b', { updatedAt: NOW }]] as const;
    const pairings = [['a', { updatedAt: NOW - DAY }], ['b', { updatedAt: NOW - DAY }], ['d', { updatedAt: NOW - 31 * DAY }]] as const;
    expect(activeUsers(tastes, pairings, NOW, 30 * DAY)).toEqual(['a', 'b', 'c']);
    expect(activeUsers(tastes, pairings, NOW, 1.5 * DAY)).toEqual(['a', 'b']);
    expect(() => activeUsers([], [], NOW, 0)).toThrow(/activeMs/);
  });
});

describe('batchRankingUser', () => {
  const sources = { embeddings: { version: 'e1', dims: 2 }, minSignal: 3, owned: ['o1'] };
  it('uses the published taste, unit length, when it lives in the embeddings in use', () => {
    const u = batchRankingUser('u', { ...sources, taste: taste() });
    expect(Array.from(u.taste!)).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
    expect(u.hasSignal).toBe(true);
    expect([...u.excluded].sort()).toEqual(['f1', 'o1']);
    expect(u.heard('any')).toBe(false);
  });
  it('has no taste for another embeddings version, another size, no record, or too little signal', () => {
    expect(batchRankingUser('u', { ...sources, taste: taste({ embeddingVersion: 'e0' }) }).taste).toBeUndefined();
    expect(batchRankingUser('u', { ...sources, taste: taste({ vector: [1, 2, 3] }) }).taste).toBeUndefined();
    expect(batchRankingUser('u', { ...sources, taste: taste(), embeddings: undefined }).hasSignal).toBe(false);
    const none = batchRankingUser('u', { ...sources, taste: undefined });
    expect(none.taste).toBeUndefined();
    expect([...none.excluded]).toEqual(['o1']);
    expect(batchRankingUser('u', { ...sources, taste: taste({ eventCount: 2 }) }).hasSignal).toBe(false);
  });
});

describe('dailyList', () => {
  it('is marked a daily pick, ranked from 1, explained, cold start only when all are popular', () => {
    const l = dailyList('u', [rec('p1'), rec('p2', { reason: 'popular', buddy: undefined, relation: undefined, tasteMatch: 130 })], { recommendationId: 'r', modelVersion: 'm', generatedAt: NOW });
    expect(l).toMatchObject({ recommendationId: 'r', userId: 'u', modelVersion: 'm', generatedAt: NOW, dailyPick: true, coldStart: false });
    expect(l.items).toEqual([
      { playlistId: 'p1', rank: 1, score: 0.5, explanation: { buddyId: 'b1', tasteMatch: 0.82, reason: "today's pick: made by your buddy b1, 82% taste match" } },
      { playlistId: 'p2', rank: 2, score: 0.5, explanation: { buddyId: null, tasteMatch: 1, reason: "today's pick: popular right now" } },
    ]);
    expect(dailyList('u', [rec('p', { reason: 'popular' })], { recommendationId: 'r', modelVersion: 'm', generatedAt: NOW }).coldStart).toBe(true);
  });
});

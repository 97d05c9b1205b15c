import { describe, expect, it } from 'vitest';
import { explanationOf } from '../warehouse/index.js';
import { attributeRow, attributionOf, clampEventTime, feedbackRows, listenRows, NOT_IN_THE_LIST } from './warehouse-sink.js';

const list = {
  recommendationId: 'r1', modelVersion: 'buddies@emb:v1+bpr:v2',
  items: [
    { playlistId: 'p1', rank: 1, explanation: { reason: 'made by your buddy ana, 81% taste match' } },
    { playlistId: 'p2', rank: 2, explanation: { reason: 'followed by your buddy bo, 60% taste match' } },
    { playlistId: 'p1', rank: 3, explanation: { reason: 'popular right now' } },
  ],
};

describe('reaction attribution', () => {
  it('names the explanation by the reason prefix the recommender writes', () => {
    expect(['made by your buddy a', 'followed by your buddy b', 'new from your buddy c', 'random pick', 'popular right now', 'anything else']
      .map(explanationOf)).toEqual(['made by your buddy', 'followed by your buddy', 'new from your buddy', 'random pick', 'popular', 'popular']);
  });

  it("fills a reaction's model version and explanation from its list; a playlist listed twice takes its best-ranked item", () => {
    const lists = attributionOf([list]);
    const click = feedbackRows({ eventId: 'f1', userId: 'u1', kind: 'CLICK', trackId: null, playlistId: 'p1', recommendationId: 'r1', position: 1, eventTime: 5_000 })[0]!.row;
    expect(attributeRow(click, lists)).toMatchObject({ event_id: 'f1', model_version: 'buddies@emb:v1+bpr:v2', explanation: 'made by your buddy' });
    const play = listenRows({ eventId: 'l1', userId: 'u1', trackId: 't', playlistId: 'p2', source: 'ORGANIC_PLAYLIST', msPlayed: 1, trackDurationMs: 2, eventTime: 5_000, recommendationId: 'r1' })[0]!.row;
    expect(attributeRow(play, lists)).toMatchObject({ model_version: 'buddies@emb:v1+bpr:v2', explanation: 'followed by your buddy' });
  });

  it('keeps the list’s model version for a playlist the list did not hold, and leaves other rows as they are', () => {
    const lists = attributionOf([list]);
    const other = feedbackRows({ eventId: 'f2', userId: 'u1', kind: 'CLICK', trackId: null, playlistId: 'p9', recommendationId: 'r1', position: null, eventTime: 5_000 })[0]!.row;
    expect(attributeRow(other, lists)).toMatchObject({ model_version: 'buddies@emb:v1+bpr:v2', explanation: NOT_IN_THE_LIST });
    const unknownList = { ...other, recommendation_id: 'r-unknown' };
    expect(attributeRow(unknownList, lists)).toBe(unknownList);
    const noList = { ...other, recommendation_id: '' };
    expect(attributeRow(noList, lists)).toEqual({ ...noList, model_version: '', explanation: '' });
  });
});

describe('event times the sink writes', () => {
  it('writes a listen or feedback stamped further ahead than the skew at its time of receipt, as the other processors clamp it (issue 10)', () => {
    const fb = { eventId: 'f1', userId: 'u1', kind: 'CLICK' as const, trackId: null, playlistId: 'p1', recommendationId: 'r1', position: 1, eventTime: 10_000 };
    expect(clampEventTime('feedback', fb, 5_000, 5_000)).toBe(fb); // within the skew: as it is
    expect(clampEventTime('feedback', fb, 5_000, 4_999)).toEqual({ ...fb, eventTime: 5_000 });
    const ls = { eventId: 'l1', userId: 'u1', trackId: 't', playlistId: 'p2', source: 'ORGANIC_PLAYLIST' as const, msPlayed: 1, trackDurationMs: 2, eventTime: 10_000, recommendationId: 'r1' };
    expect(listenRows(clampEventTime('listens', ls, 5_000, 0))[0]!.row.event_time).toBe(5);
  });
});

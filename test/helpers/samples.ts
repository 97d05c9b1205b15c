import type { AvroTopicKey, TopicValues } from '../../streams/index.js';

const T = Date.UTC(2026, 10, 29, 12, 0, 0);

/** One realistic record per Avro topic; floats are exactly representable so a float32 round trip is exact. */
export const SAMPLES: { readonly [K in AvroTopicKey]: { key: string; value: TopicValues[K] } } = {
  listens: { key: 'u1', value: { eventId: 'e1', userId: 'u1', trackId: 'spotify:track:1', playlistId: 'p9', source: 'ORGANIC_PLAYLIST', msPlayed: 181_000, trackDurationMs: 200_000, eventTime: T, recommendationId: 'r1' } },
  feedback: { key: 'u1', value: { eventId: 'e2', userId: 'u1', kind: 'FOLLOW_PLAYLIST', trackId: null, playlistId: 'p9', recommendationId: 'r1', position: 2, eventTime: T } },
  playlists: { key: 'p9', value: { eventId: 'e3', playlistId: 'p9', kind: 'CREATE', ownerId: 'u7', name: 'Rainy Sunday', tracks: ['spotify:track:1', 'spotify:track:2'], followers: 12, organic: true, eventTime: T } },
  tasteEmbeddings: { key: 'u1', value: { userId: 'u1', vector: [0.5, -0.25, 0.125, 1], mass: 3.5, eventCount: 7, embeddingVersion: 'ppmi-svd-64@1', updatedAt: T, follows: ['p9'] } },
  pairings: { key: 'u1', value: { userId: 'u1', buddies: [{ userId: 'u7', score: 0.75 }, { userId: 'u3', score: 0.5 }], modelVersion: 'knn@1', updatedAt: T } },
  interactionWindows: { key: 'u1', value: { userId: 'u1', windowStart: T - 3_600_000, windowEnd: T, interactions: [{ playlistId: 'p9', weight: 2.5, events: 4 }] } },
  recommendations: { key: 'u1', value: { recommendationId: 'r1', userId: 'u1', items: [{ playlistId: 'p9', rank: 1, score: 0.875, explanation: { buddyId: 'u7', tasteMatch: 0.75, reason: 'made by your buddy u7, 75% taste match' } }], modelVersion: 'bpr@3', coldStart: false, generatedAt: T, dailyPick: false } },
  modelAnnouncements: { key: 'bpr', value: { modelName: 'bpr', modelVersion: 'bpr@3', kind: 'BPR', artifactUri: 'file:///models/bpr/3', backend: 'cpu-hogwild', metrics: { ndcg10: 0.25 }, trainedAt: T } },
};

import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';

// Issue 10, part 5: daily picks are marked by a field added with a default, so the change is BACKWARD compatible:
// this process (the new schema) still reads every list written before it. The registry enforces the same rule
// (BACKWARD on every value subject, streams/serde.ts); docs/trainer.md shows it refusing the field without a default.
const schema = JSON.parse(readFileSync(new URL('../schemas/recommendation-list.avsc', import.meta.url), 'utf8')) as { fields: { name: string; default?: unknown }[] };
const before = { ...schema, fields: schema.fields.filter((f) => f.name !== 'dailyPick') };
const list = {
  recommendationId: 'r1', userId: 'u1', modelVersion: 'm', coldStart: false, generatedAt: 1_700_000_000_000,
  items: [{ playlistId: 'p1', rank: 1, score: 0.5, explanation: { buddyId: null, tasteMatch: 0.5, reason: 'x' } }],
};

describe('recommendation-list.avsc: dailyPick', () => {
  it('is the last field, a boolean defaulting to false', () => {
    expect(schema.fields.at(-1)).toMatchObject({ name: 'dailyPick', type: 'boolean', default: false });
  });

  it('reads a list written with the schema before the field as not a daily pick', () => {
    const oldType = avro.Type.forSchema(before as avro.Schema);
    const newType = avro.Type.forSchema(schema as avro.Schema);
    const read = newType.fromBuffer(oldType.toBuffer(list), newType.createResolver(oldType)) as { dailyPick: boolean; userId: string };
    expect(read.dailyPick).toBe(false);
    expect(read.userId).toBe('u1');
  });

  it('round-trips a daily pick, and writes false when a writer leaves it out', () => {
    const t = avro.Type.forSchema(schema as avro.Schema);
    expect((t.fromBuffer(t.toBuffer({ ...list, dailyPick: true })) as { dailyPick: boolean }).dailyPick).toBe(true);
    expect((t.fromBuffer(t.toBuffer(list)) as { dailyPick: boolean }).dailyPick).toBe(false);
  });
});

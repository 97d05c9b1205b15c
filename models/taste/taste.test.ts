import { describe, expect, it } from 'vitest';
import { createTasteModel, type TasteEvent } from './taste.js';

const DAY = 24 * 3600 * 1000;
const e1 = Float32Array.of(1, 0, 0);
const e2 = Float32Array.of(0, 1, 0);
const e3 = Float32Array.of(0, 0, 1);

describe('createTasteModel', () => {
  const model = createTasteModel({ dims: 3, halfLifeMs: 10 * DAY, recentCapacity: 3, minSignal: 2 });

  it('starts empty with no vector and no signal', () => {
    const s = model.empty();
    expect(model.vector(s)).toBeUndefined();
    expect(model.hasSignal(s)).toBe(false);
  });

  it('halves an event after one half-life', () => {
    let s = model.empty();
    s = model.update(s, { kind: 'play', itemId: 'a', vector: e1, at: 0 });
    s = model.update(s, { kind: 'play', itemId: 'b', vector: e2, at: 10 * DAY });
    expect(s.sum[0]).toBeCloseTo(0.5, 6);
    expect(s.sum[1]).toBeCloseTo(1, 6);
    expect(s.mass).toBeCloseTo(1.5, 6);
    const v = model.vector(s)!;
    expect(v[1]! / v[0]!).toBeCloseTo(2, 5);
  });

  it('weights feedback kinds: a like counts twice a play, a skip pushes away', () => {
    let s = model.empty();
    s = model.update(s, { kind: 'like', itemId: 'a', vector: e1, at: 0 });
    s = model.update(s, { kind: 'play', itemId: 'b', vector: e2, at: 0 });
    expect(s.sum[0]! / s.sum[1]!).toBeCloseTo(2, 6);
    const before = model.vector(s)!;
    s = model.update(s, { kind: 'skip', itemId: 'c', vector: Float32Array.of(0.6, 0.8, 0), at: 0 });
    const after = model.vector(s)!;
    const dot = (a: Float32Array) => a[0]! * 0.6 + a[1]! * 0.8;
    expect(dot(after)).toBeLessThan(dot(before));
    expect(s.positives).toBe(2);
    expect(model.hasSignal(s)).toBe(true);
  });

  it('does not depend on arrival order', () => {
    const events: TasteEvent[] = [
      { kind: 'play', itemId: 'a', vector: e1, at: 3 * DAY },
      { kind: 'like', itemId: 'b', vector: e2, at: 1 * DAY },
      { kind: 'dismiss', itemId: 'c', vector: e3, at: 7 * DAY },
      { kind: 'follow', itemId: 'd', vector: Float32Array.of(0.5, 0.5, 0.5), at: 0 },
    ];
    const fold = (es: TasteEvent[]) => es.reduce((s, e) => model.update(s, e), model.empty());
    const a = fold(events);
    const b = fold([...events].reverse());
    const c = fold([events[2]!, events[0]!, events[3]!, events[1]!]);
    for (const other of [b, c]) {
      for (let i = 0; i < 3; i++) expect(other.sum[i]).toBeCloseTo(a.sum[i]!, 5);
      expect(other.mass).toBeCloseTo(a.mass, 6);
      expect(other.updatedAt).toBe(7 * DAY);
    }
  });

  it('keeps bounded memory: the ring holds the newest items only', () => {
    let s = model.empty();
    for (let i = 0; i < 10; i++) s = model.update(s, { kind: 'play', itemId: `t${i}`, vector: e1, at: i });
    expect(model.recentItems(s)).toEqual(['t9', 't8', 't7']);
    expect(s.recent.items).toHaveLength(3);
    s = model.update(s, { kind: 'dismiss', itemId: 'p1', vector: undefined, at: 11 });
    expect(model.recentItems(s, ['dismiss'])).toEqual(['p1']);
    expect(s.sum).toHaveLength(3);
  });

  it('does not mutate the state it is given', () => {
    const s0 = model.update(model.empty(), { kind: 'play', itemId: 'a', vector: e1, at: 0 });
    const copy = Float32Array.from(s0.sum);
    model.update(s0, { kind: 'like', itemId: 'b', vector: e2, at: 5 * DAY });
    expect(s0.sum).toEqual(copy);
    expect(s0.recent.items).toEqual(['a']);
  });

  it('validates options and events at once', () => {
    expect(() => createTasteModel({ dims: 0 })).toThrow(RangeError);
    expect(() => createTasteModel({ dims: 3, halfLifeMs: 0 })).toThrow(RangeError);
    expect(() => createTasteModel({ dims: 3, weights: { share: 1 } as never })).toThrow(/unknown taste signal/);
    expect(() => model.update(model.empty(), { kind: 'play', itemId: 'a', vector: Float32Array.of(1, 2), at: 0 })).toThrow(RangeError);
  });
});

describe('event weights', () => {
  it('multiply the weight of the kind: at one time the taste is the unit weighted mean; weight 0 adds nothing', () => {
    const model = createTasteModel({ dims: 3, minSignal: 2 });
    const events: TasteEvent[] = [
      { kind: 'play', itemId: 'a', vector: e1, at: 5, weight: 3 },
      { kind: 'play', itemId: 'x', vector: undefined, at: 5, weight: 100 },
      { kind: 'play', itemId: 'b', vector: e2, at: 5, weight: 4 },
      { kind: 'play', itemId: 'c', vector: e3, at: 5, weight: 0 },
    ];
    const s = events.reduce((st, e) => model.update(st, e), model.empty());
    const v = model.vector(s)!;
    expect(v[0]).toBeCloseTo(0.6, 6);
    expect(v[1]).toBeCloseTo(0.8, 6);
    expect(v[2]).toBe(0);
    expect(s.positives).toBe(2);
    expect(model.hasSignal(s)).toBe(true);
    expect(() => model.update(s, { kind: 'play', itemId: 'd', vector: e1, at: 5, weight: -1 })).toThrow(RangeError);
    expect(() => model.update(s, { kind: 'play', itemId: 'd', vector: e1, at: 5, weight: Number.NaN })).toThrow(RangeError);
  });
});

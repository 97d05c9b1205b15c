import { describe, expect, it } from 'vitest';
import { createSimdMemory, instantiateSimd, simdSupported } from './simd.js';

describe('WebAssembly SIMD ops', () => {
  it('validates, and dot/update match the scalar formulas (65 floats: 16 vectors + 1 tail)', () => {
    expect(simdSupported()).toBe(true);
    const { memory, module } = createSimdMemory(1);
    const ops = instantiateSimd(memory, module);
    const f = new Float32Array(memory.buffer, 0, 3 * 65);
    for (let j = 0; j < f.length; j++) f[j] = Math.fround(Math.sin(j * 1.7) * 0.3);
    const [u, i, k] = [0, 65, 130];
    let want = 0;
    for (let c = 0; c < 65; c++) want += f[u + c]! * (f[i + c]! - f[k + c]!);
    expect(ops.dot(u * 4, i * 4, k * 4, 16, 1)).toBeCloseTo(want, 5);
    const before = Float32Array.from(f);
    // 64 latent floats updated (16 vectors), the 65th (bias column) left alone; 2 tail floats for a 6-float row
    ops.update(u * 4, i * 4, k * 4, 16, 0, 0.25, 0.9);
    for (let c = 0; c < 64; c++) {
      const [uf, pf, qf] = [before[u + c]!, before[i + c]!, before[k + c]!];
      expect(f[u + c]).toBeCloseTo(0.9 * uf + 0.25 * (pf - qf), 6);
      expect(f[i + c]).toBeCloseTo(0.9 * pf + 0.25 * uf, 6);
      expect(f[k + c]).toBeCloseTo(0.9 * qf - 0.25 * uf, 6);
    }
    expect(f[u + 64]).toBe(before[u + 64]);
    expect(f[i + 64]).toBe(before[i + 64]);
    const b2 = Float32Array.from(f);
    ops.update(u * 4, i * 4, k * 4, 1, 2, 0.5, 1);
    for (let c = 0; c < 6; c++) expect(f[u + c]).toBeCloseTo(b2[u + c]! + 0.5 * (b2[i + c]! - b2[k + c]!), 6);
    expect(f[u + 6]).toBe(b2[u + 6]);
  });
});

import { describe, expect, it, vi } from 'vitest';
import { main } from './main.js';

describe('buddies main', () => {
  it('prints help listing the commands with exit 0', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await main(['--help'])).toBe(0);
    const text = out.mock.calls.map((c) => String(c[0])).join('');
    out.mockRestore();
    expect(text).toMatch(/stack\s+run the local Kafka/);
    expect(text).toMatch(/topics\s+create the Kafka topics/);
  });

  it('answers an unknown command and a bad flag with exit 2', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await main(['frobnicate'])).toBe(2);
    expect(await main(['stack', 'up', 'postgres'])).toBe(2);
    err.mockRestore();
  });
});

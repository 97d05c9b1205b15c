import { describe, expect, it } from 'vitest';
import { createGlobalTable, createTypedProducer, globalTableSpec, TransientError, type AvroSerde } from '../../streams/index.js';
import { SAMPLES } from '../helpers/samples.js';
import { createTestBed } from '../helpers/services.js';

// A global table (streams/global-table.ts) on the real broker: a registry that cannot be reached while the table
// reads is waited out, and the record is applied, never skipped as if it were a bad one (issue 8, item 6).
describe('a global table on the real broker', () => {
  it('waits out a registry outage while decoding: every record is applied, none skipped', async () => {
    const bed = await createTestBed(['playlists']);
    const producer = createTypedProducer({ kafka: bed.kafka, serde: bed.serde });
    await producer.connect();
    await producer.send('playlists', Array.from({ length: 5 }, (_, i) => ({ key: `p${i}`, value: { ...SAMPLES.playlists.value, playlistId: `p${i}`, name: `list ${i}` } })));
    await producer.disconnect();
    // the first three decodes fail as an unreachable registry does (what streams/serde.ts throws then)
    let failures = 3;
    const serde: AvroSerde = {
      ...bed.serde,
      decode: (async (key: Parameters<AvroSerde['decode']>[0], bytes: Buffer) => {
        if (failures-- > 0) throw new TransientError('schema registry unavailable: connect ECONNREFUSED');
        return bed.serde.decode(key, bytes);
      }) as AvroSerde['decode'],
    };
    const lines: string[] = [];
    const table = createGlobalTable({ kafka: bed.kafka, serde, spec: globalTableSpec('playlists', 'playlists'), groupPrefix: bed.unique('gt'), log: (l) => lines.push(l) });
    try {
      await table.start();
      expect(table.skipped).toBe(0);
      expect(table.size).toBe(5);
      expect(table.get('p0')?.name).toBe('list 0');
      expect(lines.filter((l) => / retry \d+ in \d+ ms: schema registry unavailable/.test(l))).toHaveLength(3);
    } finally {
      await table.stop();
    }
  });
});

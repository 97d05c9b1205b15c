import { COMPATIBILITY, SchemaType } from '@kafkajs/confluent-schema-registry';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackDown, stackUp } from '../../stack/index.js';
import { createSchemaRegistry, readTopicSchema } from '../../streams/index.js';
import { createTestBed, randomId, type TestBed } from '../helpers/services.js';

type Field = { name: string; type: unknown; default?: unknown };
type RecordSchema = { type: 'record'; name: string; namespace?: string; fields: Field[] };

describe('the real schema registry (Apicurio, Confluent API)', () => {
  let bed: TestBed;
  beforeAll(async () => { bed = await createTestBed(['feedback', 'playlists']); });

  const register = (subject: string, schema: RecordSchema) =>
    bed.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject, compatibility: COMPATIBILITY.BACKWARD });

  async function compatible(subject: string, schema: RecordSchema): Promise<boolean> {
    const res = await fetch(`${bed.cfg.registry.url}/compatibility/subjects/${subject}/versions/latest`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify(schema) }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { is_compatible: boolean }).is_compatible;
  }

  it('accepts a BACKWARD-compatible change (new field with a default) and rejects an incompatible one', async () => {
    const subject = `compat-${randomId()}-value`;
    const v1 = readTopicSchema(bed.schemasDir, 'listens') as RecordSchema;
    const { id: id1 } = await register(subject, v1);

    const withDefault: RecordSchema = { ...v1, fields: [...v1.fields, { name: 'device', type: ['null', 'string'], default: null }] };
    expect(await compatible(subject, withDefault)).toBe(true);
    const { id: id2 } = await register(subject, withDefault);
    expect(id2).not.toBe(id1);

    const withoutDefault: RecordSchema = { ...withDefault, fields: [...withDefault.fields, { name: 'country', type: 'string' }] };
    expect(await compatible(subject, withoutDefault)).toBe(false);
    await expect(register(subject, withoutDefault)).rejects.toMatchObject({ status: 409 });

    const config = await (await fetch(`${bed.cfg.registry.url}/config/${subject}`)).json();
    expect(config).toEqual({ compatibilityLevel: 'BACKWARD' });
  });

  it('still resolves schemas registered before a registry restart', async () => {
    if (bed.cfg.registry.external) throw new Error('this test restarts the local registry: unset SCHEMA_REGISTRY_URL');
    const subject = `restart-${randomId()}-value`;
    const schema = readTopicSchema(bed.schemasDir, 'feedback') as RecordSchema;
    const { id } = await register(subject, schema);
    const value = { eventId: 'e', userId: 'u', kind: 'SKIP', trackId: 't', playlistId: null, recommendationId: null, position: null, eventTime: 1 };
    const bytes = await bed.registry.encode(id, value);

    const log = () => {};
    await stackDown(bed.cfg, log, ['registry']);
    const after = await fetch(`${bed.cfg.registry.url}/subjects`).then(() => 'answered', () => 'down');
    expect(after).toBe('down');
    await stackUp(bed.cfg, log, ['registry']);

    const fresh = createSchemaRegistry(bed.cfg.registry.url); // no cache: asks the restarted registry
    expect(await fresh.decode(bytes)).toEqual(value);
    // the subject by name (the registry lists at most a page of subjects, and a long-lived local one holds more)
    const versions = (await (await fetch(`${bed.cfg.registry.url}/subjects/${encodeURIComponent(subject)}/versions`)).json()) as number[];
    expect(versions).toEqual([1]);
  });

  // Issue 8: BACKWARD compatibility lets a producer add an enum symbol; our readers see the enum default.
  it('reads a record with an enum symbol added by a newer writer as UNKNOWN, and forged lengths as decode errors', async () => {
    const v1 = readTopicSchema(bed.schemasDir, 'feedback') as RecordSchema;
    const v2: RecordSchema = {
      ...v1,
      fields: v1.fields.map((f) => (f.name === 'kind'
        ? { ...f, type: { ...(f.type as { symbols: string[] }), symbols: [...(f.type as { symbols: string[] }).symbols, 'SHARE'] } }
        : f)),
    };
    const { id } = await register(bed.topics.subject('feedback'), v2);
    const value = { eventId: 'e', userId: 'u', kind: 'SHARE', trackId: null, playlistId: 'p', recommendationId: null, position: null, eventTime: 1 };
    const bytes = await bed.registry.encode(id, value);
    expect(await bed.serde.decode('feedback', bytes)).toEqual({ ...value, kind: 'UNKNOWN' });

    // a playlist event whose track array claims 2^31 items: refused before decoding, not allocated
    const good = await bed.serde.encode('playlists', { eventId: 'e', playlistId: 'p', kind: 'CREATE', ownerId: 'o', name: 'n', tracks: ['t'], followers: 0, organic: true, eventTime: 1 });
    const at = good.indexOf(Buffer.from([2, 2, 0x74])); // tracks: one block of 1 item, the 1-byte string "t"
    expect(at).toBeGreaterThan(5);
    const forged = Buffer.concat([good.subarray(0, at), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x10]), good.subarray(at + 1)]);
    await expect(bed.serde.decode('playlists', forged)).rejects.toThrow(/tracks: claims 2147483648 items or more, over the limit/);
  });
});

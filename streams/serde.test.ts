import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { describe, expect, it } from 'vitest';
import { DecodeError, TransientError } from './errors.js';
import { registryError } from './serde.js';

describe('registry errors (issue 8: an unreachable registry is retried, never dead-lettered)', () => {
  it('classifies the real client failure for a registry that does not answer as transient, though it says status 400', async () => {
    // nothing listens on port 1: the client fails at once, and reports it as a 400
    const client = new SchemaRegistry({ host: 'http://127.0.0.1:1/apis/ccompat/v7', retry: { retries: 0 } });
    const err = await client.getSchema(1).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ status: 400 });
    expect(registryError(err, 'fetching writer schema 1')).toBeInstanceOf(TransientError);
  });

  it('classifies answers by status: 5xx, 408 and 429 transient; a 404 (unknown id) a decode error', () => {
    const answer = (status: number, message: string) => Object.assign(new Error(message), { status });
    expect(registryError(answer(503, 'Service Unavailable'), 'x')).toBeInstanceOf(TransientError);
    expect(registryError(answer(429, 'Too Many Requests'), 'x')).toBeInstanceOf(TransientError);
    expect(registryError(answer(408, 'Request Timeout'), 'x')).toBeInstanceOf(TransientError);
    const notFound = registryError(answer(404, "No content with id/hash 'contentId-9' was found."), 'fetching writer schema 9');
    expect(notFound).toBeInstanceOf(DecodeError);
    expect(notFound.message).toMatch(/^fetching writer schema 9: No content/);
  });
});

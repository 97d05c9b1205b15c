import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { conciseLog } from './kafka.js';

describe('kafkajs log lines', () => {
  it('prints one plain line per message, a repeat within a minute once, and again after it', () => {
    const lines: string[] = [];
    let t = 0;
    const log = conciseLog((l) => lines.push(l), () => t)(logLevel.ERROR);
    const entry = { namespace: 'BrokerPool', level: logLevel.ERROR, label: 'ERROR', log: { message: 'Failed to connect', error: 'ECONNREFUSED', timestamp: '' } };
    log(entry);
    t = 30_000;
    log(entry);
    t = 61_000;
    log(entry);
    expect(lines).toEqual(['kafkajs ERROR [BrokerPool] Failed to connect: ECONNREFUSED', 'kafkajs ERROR [BrokerPool] Failed to connect: ECONNREFUSED']);
  });
});

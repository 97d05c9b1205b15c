import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS, deadLetterMessage, headerText } from './dead-letter.js';
import { DecodeError } from './errors.js';

describe('deadLetterMessage', () => {
  it('keeps the original key, bytes and headers and adds reason and origin', () => {
    const value = Buffer.from([1, 2, 3]);
    const dl = deadLetterMessage({
      topic: 'in', partition: 4, groupId: 'g',
      message: { key: Buffer.from('u1'), value, timestamp: '1000', attributes: 0, offset: '42', headers: { trace: Buffer.from('t-1') } },
    }, new DecodeError('bad magic byte'), 5000);
    expect(dl.key?.toString()).toBe('u1');
    expect(dl.value).toBe(value);
    expect(headerText(dl.headers, 'trace')).toBe('t-1');
    expect(headerText(dl.headers, DLQ_HEADERS.reason)).toBe('bad magic byte');
    expect(headerText(dl.headers, DLQ_HEADERS.code)).toBe('DECODE');
    expect(headerText(dl.headers, DLQ_HEADERS.errorClass)).toBe('DecodeError');
    expect(headerText(dl.headers, DLQ_HEADERS.topic)).toBe('in');
    expect(headerText(dl.headers, DLQ_HEADERS.partition)).toBe('4');
    expect(headerText(dl.headers, DLQ_HEADERS.offset)).toBe('42');
    expect(headerText(dl.headers, DLQ_HEADERS.failedAt)).toBe('5000');
  });

  it('labels errors that are not ours as processing failures', () => {
    const dl = deadLetterMessage({ topic: 'in', partition: 0, groupId: 'g', message: { key: null, value: null, timestamp: '0', attributes: 0, offset: '0', headers: {} } }, new TypeError('x is undefined'));
    expect(headerText(dl.headers, DLQ_HEADERS.code)).toBe('PROCESSING');
    expect(headerText(dl.headers, DLQ_HEADERS.errorClass)).toBe('TypeError');
  });

  it('cuts a value too large for the topic and records its original size (issue 8)', () => {
    const value = Buffer.alloc(2000, 7);
    const msg = { key: Buffer.from('k'), value, timestamp: '0', attributes: 0, offset: '9', headers: {} };
    const dl = deadLetterMessage({ topic: 'in', partition: 0, groupId: 'g', message: msg }, new DecodeError('too big'), 0, 1500);
    expect(dl.value).toHaveLength(1500);
    expect(dl.value?.equals(value.subarray(0, 1500))).toBe(true);
    expect(headerText(dl.headers, DLQ_HEADERS.originalSize)).toBe('2000');
    const small = deadLetterMessage({ topic: 'in', partition: 0, groupId: 'g', message: { ...msg, value: Buffer.alloc(10) } }, new DecodeError('x'), 0, 1500);
    expect(headerText(small.headers, DLQ_HEADERS.originalSize)).toBeUndefined();
  });
});

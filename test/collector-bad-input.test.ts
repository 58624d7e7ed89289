import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeTracesJson, encodeTracesProtobuf, otlpRoot } from '../src/collector/otlp/index.js';
import type { SpanData } from '../src/spans/span-data.js';
import { decodeRpcStatus } from '../src/collector/rpc-status.js';
import { post, query, testCollector } from './collector-fixture.js';

const JSON_CT = { 'content-type': 'application/json' };
const PROTO_CT = { 'content-type': 'application/x-protobuf' };

function modelSpan(i: number, attributes: SpanData['attributes'] = {}): SpanData {
  return {
    traceId: 'e'.repeat(31) + (i % 10).toString(),
    spanId: (0x1000 + i).toString(16).padStart(16, '0'),
    name: 'chat gpt-4o',
    kind: 2,
    startTimeUnixNano: 1_760_000_000_000_000_000n,
    endTimeUnixNano: 1_760_000_001_000_000_000n,
    statusCode: 0,
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5, ...attributes },
    events: [],
    links: [],
    resource: { 'service.name': 'bad-input-test' },
  };
}

describe('collector: bad input gets the documented status and costs nothing else', () => {
  it('answers each kind of bad request with its status code, stays up, and keeps what it stored', async () => {
    const c = await testCollector({ maxBodyBytes: 1024 * 1024 });
    const traces = `${c.url}/v1/traces`;
    expect((await post(traces, JSON.stringify(encodeTracesJson([modelSpan(1), modelSpan(2)])), JSON_CT)).status).toBe(200);
    await c.flush();
    const before = query(c.dbPath, 'SELECT agent_id, total_tokens FROM telemetry ORDER BY id');
    expect(before).toHaveLength(2);

    // truncated protobuf -> 400, with a google.rpc.Status body in the request's content type
    const proto = encodeTracesProtobuf([modelSpan(3), modelSpan(4)]);
    const truncated = await post(traces, proto.subarray(0, Math.floor(proto.length / 2)), PROTO_CT);
    expect(truncated.status).toBe(400);
    expect(truncated.headers.get('content-type')).toBe('application/x-protobuf');
    const status = decodeRpcStatus(truncated.body);
    expect(status.code).toBe(3);
    expect(status.message).not.toBe('');

    // invalid JSON -> 400
    const badJson = await post(traces, '{"resourceSpans": [', JSON_CT);
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body.toString())).toMatchObject({ code: 3 });

    // wrong content type -> 415; wrong encoding -> 415
    expect((await post(traces, 'hello', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(traces, 'x', { ...JSON_CT, 'content-encoding': 'br' })).status).toBe(415);

    // gzip bomb: 64 MiB of zeros in ~64 KiB; cut off at the 1 MiB limit while inflating -> 413
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect((await post(traces, bomb, { ...JSON_CT, 'content-encoding': 'gzip' })).status).toBe(413);

    // oversized body -> 413; garbage gzip -> 400
    expect((await post(traces, Buffer.alloc(2 * 1024 * 1024, 0x20), JSON_CT)).status).toBe(413);
    expect((await post(traces, Buffer.from('not gzip at all'), { ...JSON_CT, 'content-encoding': 'gzip' })).status).toBe(400);

    // ids of the wrong length: that span is rejected (partial success), the other one is kept
    const doc = encodeTracesJson([modelSpan(5), modelSpan(6)]);
    doc.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId = 'abc123';
    const partial = await post(traces, JSON.stringify(doc), JSON_CT);
    expect(partial.status).toBe(200);
    expect(JSON.parse(partial.body.toString())).toMatchObject({ partialSuccess: { rejectedSpans: '1' } });

    // wrong method, unknown path, unknown signal path
    expect((await fetch(traces)).status).toBe(405);
    expect((await fetch(`${c.url}/nope`)).status).toBe(404);
    expect((await post(`${c.url}/v1/profiles`, '{}', JSON_CT)).status).toBe(404);

    // still up: a good request still lands, and the earlier rows are intact
    expect((await post(traces, JSON.stringify(encodeTracesJson([modelSpan(7)])), JSON_CT)).status).toBe(200);
    await c.flush();
    const after = query(c.dbPath, 'SELECT agent_id, total_tokens FROM telemetry ORDER BY id');
    expect(after.slice(0, 2)).toEqual(before);
    expect(after).toHaveLength(4); // 2 before + the kept half of the partial request + the last one
    expect(c.stats().badRequests).toBe(10);
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
  });

  it('a million attributes on one span: decoded within the body limit, capped, stored', async () => {
    const c = await testCollector({ maxBodyBytes: 32 * 1024 * 1024 });
    const attributes = Array.from({ length: 1_000_000 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } }));
    const type = otlpRoot.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
    // The official encoding of one span, with a million more attributes added to it.
    const message = type.decode(encodeTracesProtobuf([modelSpan(9)])) as unknown as { resourceSpans: { scopeSpans: { spans: { attributes: unknown[] }[] }[] }[] };
    const span = message.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    span.attributes = span.attributes.concat(attributes);
    const body = type.encode(message).finish();
    expect(body.length).toBeLessThan(32 * 1024 * 1024);
    const res = await post(`${c.url}/v1/traces`, body, PROTO_CT);
    expect(res.status).toBe(200);
    await c.flush();
    const [row] = query(c.dbPath, 'SELECT attributes FROM spans');
    expect(Object.keys(JSON.parse(String(row!.attributes)))).toHaveLength(1024);
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
  });

  it('asks for a bearer token when one is set (health endpoints stay open)', async () => {
    const c = await testCollector({ token: 's3cret' });
    const body = JSON.stringify(encodeTracesJson([modelSpan(11)]));
    const none = await post(`${c.url}/v1/traces`, body, JSON_CT);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await post(`${c.url}/v1/traces`, body, { ...JSON_CT, authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(`${c.url}/v1/traces`, body, { ...JSON_CT, authorization: 'Bearer s3cret' })).status).toBe(200);
    expect((await fetch(`${c.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
  });

  it('answers 503 with Retry-After when its write queue cannot take a request', async () => {
    const c = await testCollector({ maxQueueSize: 5, retryAfterSeconds: 3 });
    const many = JSON.stringify(encodeTracesJson(Array.from({ length: 10 }, (_, i) => modelSpan(20 + i))));
    const res = await post(`${c.url}/v1/traces`, many, JSON_CT);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(c.stats().refused).toBe(1);
    // A request that fits is still taken.
    expect((await post(`${c.url}/v1/traces`, JSON.stringify(encodeTracesJson([modelSpan(40)])), JSON_CT)).status).toBe(200);
  });
});

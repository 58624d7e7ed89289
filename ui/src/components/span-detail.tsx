import { EXCEPTION_EVENT, EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE, EXCEPTION_TYPE } from '../../../src/semconv.js';
import { conversationOf, type Message } from '../conversation.js';
import { count, duration } from '../format.js';
import type { PriceMatch, TelemetryEntry } from '../types.js';
import type { WaterfallRow } from '../waterfall-model.js';
import { Cost, Time } from './common.js';

const KINDS = ['internal', 'server', 'client', 'producer', 'consumer'];

function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2) ?? String(v);
}

/** A JSON string pretty-printed; anything else as it is. */
function pretty(v: string): string {
  try {
    return JSON.stringify(JSON.parse(v), null, 2);
  } catch {
    return v;
  }
}

function Value({ v }: { v: unknown }) {
  const text = asText(v);
  return text.length > 80 || text.includes('\n') ? <pre class="value">{text}</pre> : <span class="value">{text}</span>;
}

function Attrs({ attrs, testid }: { attrs: Record<string, unknown>; testid?: string }) {
  const keys = Object.keys(attrs).sort();
  if (keys.length === 0) return <p class="muted">none</p>;
  return (
    <table class="attrs" data-testid={testid}>
      <tbody>
        {keys.map((k) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>
              <Value v={attrs[k]} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const perMillion = (n: number | undefined): string => (n === undefined ? '-' : `$${Number(n.toPrecision(6))}`);

function Usage({ call, price }: { call: TelemetryEntry; price: PriceMatch | null | undefined }) {
  const uncached = call.inputTokens - call.cacheReadTokens - call.cacheCreationTokens;
  return (
    <div class="usage" data-testid="span-usage">
      <table class="kv">
        <tbody>
          <tr>
            <th>model</th>
            <td>{call.model ?? '-'}</td>
          </tr>
          <tr>
            <th>provider</th>
            <td>{call.provider ?? '-'}</td>
          </tr>
          {call.engineId && (
            <tr>
              <th>engine</th>
              <td>{call.engineId}</td>
            </tr>
          )}
        </tbody>
      </table>
      <table class="data tokens-table">
        <thead>
          <tr>
            <th>tokens</th>
            <th class="num">count</th>
            <th class="num">$ / 1M</th>
          </tr>
        </thead>
        <tbody>
          <tr data-testid="tok-input">
            <td>input (all)</td>
            <td class="num">{count(call.inputTokens)}</td>
            <td class="num" />
          </tr>
          <tr data-testid="tok-uncached">
            <td class="indent">uncached input</td>
            <td class="num">{count(uncached)}</td>
            <td class="num">{perMillion(price?.price.input)}</td>
          </tr>
          <tr data-testid="tok-cache-read">
            <td class="indent">cache read</td>
            <td class="num">{count(call.cacheReadTokens)}</td>
            <td class="num">{perMillion(price?.price.cacheRead)}</td>
          </tr>
          <tr data-testid="tok-cache-write">
            <td class="indent">cache write</td>
            <td class="num">{count(call.cacheCreationTokens)}</td>
            <td class="num">{perMillion(price?.price.cacheWrite)}</td>
          </tr>
          <tr data-testid="tok-output">
            <td>output</td>
            <td class="num">{count(call.outputTokens)}</td>
            <td class="num">{perMillion(price?.price.output)}</td>
          </tr>
          <tr data-testid="tok-reasoning">
            <td class="indent">reasoning</td>
            <td class="num">{count(call.reasoningTokens)}</td>
            <td class="num" />
          </tr>
          <tr data-testid="tok-total">
            <td>total</td>
            <td class="num">{count(call.totalTokens)}</td>
            <td class="num" />
          </tr>
        </tbody>
      </table>
      <p data-testid="span-cost">
        cost <strong>{<Cost usd={call.estimatedCost} unpriced={call.unpriced ? 1 : 0} />}</strong>
        {call.partial && <span class="chip warn">partial stream</span>}
      </p>
      <p class="muted small" data-testid="span-price">
        {call.unpriced
          ? 'no price is known for this model: the call is counted as unpriced, not as $0 (set AGENTLOUPE_PRICING)'
          : price
            ? `priced by ${price.via} "${price.key}" in the current price table${price.price.source ? ` (${price.price.source}${price.price.date ? `, ${price.price.date}` : ''})` : ''}`
            : 'the cost was stored with the call (the current price table has no entry for it)'}
      </p>
    </div>
  );
}

function Tool({ call }: { call: TelemetryEntry }) {
  return (
    <div data-testid="span-tool">
      <table class="kv">
        <tbody>
          <tr>
            <th>tool</th>
            <td>{call.toolName}</td>
          </tr>
          <tr>
            <th>approved</th>
            <td>{call.toolApproved === null ? 'not recorded' : call.toolApproved ? 'yes' : 'no'}{call.toolApprovalType ? ` (${call.toolApprovalType})` : ''}</td>
          </tr>
          <tr>
            <th>duration</th>
            <td>{duration(call.durationMs)}</td>
          </tr>
        </tbody>
      </table>
      <h4>arguments (as stored, redacted)</h4>
      <pre class="value" data-testid="tool-args">{call.toolArgs === null ? '-' : pretty(call.toolArgs)}</pre>
    </div>
  );
}

function Conversation({ messages }: { messages: Message[] }) {
  return (
    <div class="conversation" data-testid="conversation">
      {messages.map((m, i) => (
        <div key={i} class={`msg role-${m.role.replace(/[^a-z_-]/gi, '')}`} data-role={m.role}>
          <div class="msg-role">
            {m.role}
            {m.from === 'output' && <span class="muted small"> · response{m.finishReason ? ` (${m.finishReason})` : ''}</span>}
          </div>
          {m.parts.map((p, j) => (
            <div key={j} class={`part part-${p.kind}`}>
              {p.kind !== 'text' && (
                <div class="part-kind">
                  {p.kind.replace("_", " ")}
                  {p.name ? `: ${p.name}` : ''}
                </div>
              )}
              <pre class="part-text">{p.text}</pre>
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}

export function SpanDetail({ row, prices }: { row: WaterfallRow; prices: Record<string, PriceMatch | null> }) {
  const s = row.span;
  const call = row.call;
  const exceptions = (s?.events ?? []).filter((e) => e.name === EXCEPTION_EVENT);
  const others = (s?.events ?? []).filter((e) => e.name !== EXCEPTION_EVENT);
  const messages = s ? conversationOf(s.attributes) : [];
  const price = call && !call.toolName ? prices[`${call.model ?? ''}|${call.engineId ?? ''}`] : undefined;
  return (
    <div class="span-detail" data-testid="span-detail">
      <header class="card-head">
        <h2>
          <span class={`kind-dot kind-${row.kind}`} aria-hidden="true" /> {row.name}
        </h2>
        <span class="muted">
          {row.kind} · {duration(row.end - row.start)} · <Time s={row.start / 1000} />
        </span>
      </header>
      {s && (
        <p class="muted small">
          {KINDS[s.kind] ?? s.kind} span {s.spanId} in trace <a href={`/trace/${s.traceId}`}>{s.traceId}</a>
          {s.serviceName ? ` · service ${s.serviceName}` : ''}
          {s.statusCode === 2 ? <span class="status status-failed"> error{s.statusMessage ? `: ${s.statusMessage}` : ''}</span> : ''}
        </p>
      )}
      {row.agentId && row.kind === 'agent' && (
        <p>
          <a href={`/run/${encodeURIComponent(row.agentId)}`}>open this run →</a>
        </p>
      )}
      {exceptions.map((e, i) => (
        <div key={i} class="exception" data-testid="exception">
          <h3>
            {asText(e.attributes[EXCEPTION_TYPE] ?? 'exception')}: {asText(e.attributes[EXCEPTION_MESSAGE] ?? '')}
          </h3>
          {e.attributes[EXCEPTION_STACKTRACE] !== undefined && <pre class="value stack">{asText(e.attributes[EXCEPTION_STACKTRACE])}</pre>}
        </div>
      ))}
      <div class="detail-grid">
        {call && !call.toolName && (
          <section>
            <h3>Tokens and cost</h3>
            <Usage call={call} price={price} />
          </section>
        )}
        {call && call.toolName && (
          <section>
            <h3>Tool call</h3>
            <Tool call={call} />
          </section>
        )}
        {messages.length > 0 && (
          <section class="wide">
            <h3>Conversation</h3>
            <Conversation messages={messages} />
          </section>
        )}
        {s && (
          <section class="wide">
            <h3>Attributes</h3>
            <Attrs attrs={s.attributes} testid="span-attributes" />
          </section>
        )}
        {others.length > 0 && (
          <section class="wide">
            <h3>Events</h3>
            <ul class="events">
              {others.map((e, i) => (
                <li key={i}>
                  <strong>{e.name}</strong> <span class="muted">at {duration(Number(BigInt(e.timeUnixNano) / 1000n) / 1000 - row.start)} </span>
                  <Attrs attrs={e.attributes} />
                </li>
              ))}
            </ul>
          </section>
        )}
        {s && Object.keys(s.resource).length > 0 && (
          <details class="wide">
            <summary>Resource</summary>
            <Attrs attrs={s.resource} />
          </details>
        )}
        {!s && call && <p class="muted">This database has no stored span for this call; the row is built from the telemetry table.</p>}
        {!s && !call && <p class="muted">This database has no stored span for this run; the row is built from the agents table.</p>}
      </div>
    </div>
  );
}

import { useApi } from '../api.js';
import { Cost, DataTable, ErrorBox, Loading, Section, Status, Time, Tok } from '../components/common.js';
import { useLive } from '../live.js';
import type { AgentRecord, LiveData, RecentCall } from '../types.js';
import { Elapsed } from './overview.js';

export function LivePage() {
  const { data, error } = useApi<LiveData>('live');
  const { paused } = useLive();
  if (error) return <div class="page"><h1>Live</h1><ErrorBox error={error} /></div>;
  if (!data) return <div class="page"><h1>Live</h1><Loading what="live view" /></div>;
  const agentCols = [
    { key: 'name', label: 'agent', render: (a: AgentRecord) => <span class="name">{a.name}</span> },
    { key: 'type', label: 'type', render: (a: AgentRecord) => a.agentType },
    { key: 'status', label: 'status', render: (a: AgentRecord) => <Status status={a.status} /> },
    { key: 'plan', label: 'plan', render: (a: AgentRecord) => (a.planId ? <a href={`/plan/${encodeURIComponent(a.planId)}`}>{a.planId}</a> : '-') },
    { key: 'start', label: 'started', render: (a: AgentRecord) => <Time s={a.startTime} /> },
    { key: 'el', label: 'elapsed', num: true, render: (a: AgentRecord) => <Elapsed agent={a} /> },
  ];
  return (
    <div class="page">
      <div class="page-head">
        <h1>Live</h1>
        <span class="muted">{paused ? 'paused: press Live in the header to resume' : 'updates as rows arrive'}</span>
      </div>
      <Section title={`Running now (${data.running.length})`}>
        <DataTable<AgentRecord> testid="running" rows={data.running} rowKey={(a) => a.id} rowHref={(a) => `/run/${encodeURIComponent(a.id)}`} empty="no agent is running" columns={agentCols} />
      </Section>
      <div class="grid2">
        <Section title="Latest runs">
          <DataTable<AgentRecord> testid="recent-runs" rows={data.recentRuns} rowKey={(a) => a.id} rowHref={(a) => `/run/${encodeURIComponent(a.id)}`} columns={agentCols} />
        </Section>
        <Section title="Latest calls">
          <DataTable<RecentCall>
            testid="recent-calls"
            rows={data.recentCalls}
            rowKey={(c) => String(c.id)}
            rowHref={(c) => `/run/${encodeURIComponent(c.agentId)}${c.spanId ? `?span=${encodeURIComponent(c.spanId)}` : ''}`}
            empty="no calls yet"
            columns={[
              { key: 't', label: 'time', render: (c) => <Time s={c.timestamp} /> },
              { key: 'a', label: 'agent', render: (c) => c.agentName },
              { key: 'w', label: 'model / tool', render: (c) => c.toolName ?? c.model ?? '-' },
              { key: 'k', label: 'tokens', num: true, render: (c) => (c.toolName ? '' : <Tok n={c.totalTokens} />) },
              { key: 'c', label: 'cost', num: true, render: (c) => (c.toolName ? '' : <Cost usd={c.estimatedCost} unpriced={c.unpriced ? 1 : 0} />) },
            ]}
          />
        </Section>
      </div>
    </div>
  );
}

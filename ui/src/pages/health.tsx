import { useApi } from '../api.js';
import { DataTable, ErrorBox, Loading, Section, Status, Time } from '../components/common.js';
import { count, duration } from '../format.js';
import type { AlertRecord, ComponentHealth, HealthChangeRecord, HealthData, WorkerStatus, ZombieAgent } from '../types.js';

const sec = (ms: number | undefined | null): number | null => (ms === undefined || ms === null ? null : Math.floor(ms / 1000));

export function HealthPage() {
  const { data, error } = useApi<HealthData>('health');
  if (error) return <div class="page"><h1>Health</h1><ErrorBox error={error} /></div>;
  if (!data) return <div class="page"><h1>Health</h1><Loading what="health" /></div>;
  return (
    <div class="page">
      <div class="page-head">
        <h1>Health</h1>
      </div>
      {data.live.length > 0 && (
        <Section title="This server's checks (live)">
          <DataTable<ComponentHealth>
            testid="live-components"
            rows={data.live}
            rowKey={(c) => c.name}
            columns={[
              { key: 'n', label: 'component', render: (c) => c.name },
              { key: 's', label: 'status', render: (c) => <Status status={c.status} /> },
              { key: 'c', label: 'checked', render: (c) => <Time s={sec(c.lastCheckedAt)} /> },
              { key: 'l', label: 'latency', num: true, render: (c) => duration(c.latencyMs) },
              { key: 'm', label: 'message', render: (c) => c.message ?? '' },
            ]}
          />
        </Section>
      )}
      <Section title="Components (recorded)">
        <DataTable<HealthChangeRecord>
          testid="components"
          rows={data.components}
          rowKey={(c) => c.component}
          empty="no health changes recorded (register checks with monitor.health.register / registerDefaults)"
          columns={[
            { key: 'n', label: 'component', render: (c) => c.component },
            { key: 's', label: 'status', render: (c) => <Status status={c.status} /> },
            { key: 't', label: 'since', render: (c) => <Time s={sec(c.timeMs)} /> },
            { key: 'l', label: 'latency', num: true, render: (c) => duration(c.latencyMs) },
            { key: 'v', label: 'service', render: (c) => c.serviceName ?? '-' },
            { key: 'm', label: 'message', render: (c) => c.message ?? '' },
          ]}
        />
      </Section>
      <Section title="State history">
        <DataTable<HealthChangeRecord>
          testid="history"
          rows={data.history.slice(0, 50)}
          rowKey={(c) => String(c.id)}
          empty="no state changes recorded"
          columns={[
            { key: 't', label: 'time', render: (c) => <Time s={sec(c.timeMs)} /> },
            { key: 'n', label: 'component', render: (c) => c.component },
            { key: 'f', label: 'from', render: (c) => (c.previousStatus ? <Status status={c.previousStatus} /> : '-') },
            { key: 's', label: 'to', render: (c) => <Status status={c.status} /> },
            { key: 'm', label: 'message', render: (c) => c.message ?? '' },
          ]}
        />
      </Section>
      <div class="grid2">
        <Section title="Workers and heartbeats">
          <DataTable<WorkerStatus>
            testid="workers"
            rows={data.workers}
            rowKey={(w) => w.workerId}
            empty="no heartbeats recorded (monitor.heartbeat(workerId, { type }))"
            columns={[
              { key: 'w', label: 'worker', render: (w) => w.workerId },
              { key: 't', label: 'type', render: (w) => w.workerType },
              { key: 's', label: 'state', render: (w) => <Status status={w.state} /> },
              { key: 'l', label: 'last heartbeat', render: (w) => <span title={`${duration(w.silentMs)} ago`}><Time s={sec(w.lastHeartbeatMs)} /></span> },
              { key: 'b', label: 'beats', num: true, render: (w) => w.beats },
            ]}
          />
        </Section>
        <Section title="Zombie agents">
          <DataTable<ZombieAgent>
            testid="zombies"
            rows={data.zombies}
            rowKey={(z) => z.agentId}
            rowHref={(z) => `/run/${encodeURIComponent(z.agentId)}`}
            empty="none"
            columns={[
              { key: 'a', label: 'agent', render: (z) => z.name },
              { key: 's', label: 'status', render: (z) => <Status status={z.status} /> },
              { key: 't', label: 'started', render: (z) => <Time s={z.startTime} /> },
              { key: 'r', label: 'reason', render: (z) => z.detail },
            ]}
          />
          {data.zombiesTotal > data.zombies.length && (
            <p class="muted small" data-testid="zombies-more">
              {count(data.zombiesTotal)} zombie agents; the {count(data.zombies.length)} most recently active are listed (agentloupe health lists them all).
            </p>
          )}
          {data.zombies.length > 0 && <p class="muted small">agentloupe health --reap marks them terminated.</p>}
        </Section>
      </div>
      <Section title="Alerts">
        <DataTable<AlertRecord>
          testid="alerts"
          rows={data.alerts}
          rowKey={(a) => String(a.id)}
          empty="no alert has fired"
          columns={[
            { key: 't', label: 'time', render: (a) => <Time s={sec(a.timeMs)} /> },
            { key: 's', label: 'severity', render: (a) => <span class={`sev sev-${a.severity}`}>{a.severity}</span> },
            { key: 'r', label: 'rule', render: (a) => a.rule },
            { key: 'j', label: 'subject', render: (a) => a.subject || '-' },
            { key: 'm', label: 'message', render: (a) => a.message },
            { key: 'd', label: 'delivery', render: (a) => a.delivery ?? '-' },
          ]}
        />
      </Section>
    </div>
  );
}

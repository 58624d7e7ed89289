import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { LiveProvider, useLive } from './live.js';
import { CostPage } from './pages/cost.js';
import { HealthPage } from './pages/health.js';
import { LivePage } from './pages/live.js';
import { OverviewPage } from './pages/overview.js';
import { RunsPage } from './pages/runs.js';
import { SessionPage, SessionsPage } from './pages/sessions.js';
import { TracePage } from './pages/trace.js';
import { useLocation, type Location } from './router.js';

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/runs', 'Runs'],
  ['/cost', 'Cost'],
  ['/sessions', 'Sessions'],
  ['/health', 'Health'],
  ['/live', 'Live'],
];

function LiveToggle() {
  const { paused, setPaused } = useLive();
  return (
    <button type="button" class={`live-toggle${paused ? ' paused' : ''}`} aria-pressed={!paused} onClick={() => setPaused(!paused)} title={paused ? 'resume live updates' : 'pause live updates'} data-testid="live-toggle">
      <span class="dot" aria-hidden="true" />
      {paused ? 'Paused' : 'Live'}
    </button>
  );
}

function Page({ loc }: { loc: Location }) {
  const parts = loc.path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  const [first, second] = parts;
  if (!first) return <OverviewPage loc={loc} />;
  if (first === 'runs') return <RunsPage loc={loc} />;
  if (first === 'cost') return <CostPage loc={loc} />;
  if (first === 'sessions' && second) return <SessionPage id={second} loc={loc} />;
  if (first === 'sessions') return <SessionsPage loc={loc} />;
  if (first === 'health') return <HealthPage />;
  if (first === 'live') return <LivePage />;
  if ((first === 'plan' || first === 'trace' || first === 'run') && second) return <TracePage key={loc.path} loc={loc} kind={first} id={second} />;
  return (
    <div class="page">
      <h1>Not found</h1>
      <p>No page at {loc.path}.</p>
    </div>
  );
}

function App() {
  const loc = useLocation();
  const section = `/${loc.path.split('/')[1] ?? ''}`;
  const active = (p: string): boolean => p === section || (p === '/runs' && ['/run', '/plan', '/trace'].includes(section));
  return (
    <LiveProvider>
      <header class="top">
        <a class="brand" href="/">
          agentloupe
        </a>
        <nav aria-label="pages">
          {NAV.map(([p, label]) => (
            <a key={p} href={p} aria-current={active(p) ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <LiveToggle />
      </header>
      <main>
        <Page loc={loc} />
      </main>
    </LiveProvider>
  );
}

render(<App />, document.getElementById('app')!);

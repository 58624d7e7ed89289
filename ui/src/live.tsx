/**
 * Live updates: the page polls /changes (a cheap counter that moves whenever a writer commits)
 * and every data hook refetches when it moves. A pause toggle freezes the view.
 */
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { getJson } from './api.js';

interface Live {
  version: number;
  paused: boolean;
  setPaused(p: boolean): void;
}

const LiveContext = createContext<Live>({ version: 0, paused: false, setPaused: () => undefined });
const POLL_MS = 1500;

export function LiveProvider({ children }: { children: ComponentChildren }) {
  const [paused, setPausedState] = useState(() => window.localStorage.getItem('agentloupe.paused') === '1');
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (paused) return;
    let last: number | undefined;
    let stopped = false;
    const tick = async (): Promise<void> => {
      try {
        const { version: v } = await getJson<{ version: number }>('changes');
        if (!stopped && last !== undefined && v !== last) setVersion((n) => n + 1);
        last = v;
      } catch {
        /* the server went away: the next poll tries again */
      }
    };
    void tick();
    const timer = window.setInterval(() => void tick(), POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [paused]);
  const setPaused = (p: boolean): void => {
    window.localStorage.setItem('agentloupe.paused', p ? '1' : '0');
    setPausedState(p);
    if (!p) setVersion((n) => n + 1);
  };
  return <LiveContext.Provider value={{ version, paused, setPaused }}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  return useContext(LiveContext);
}

/** The current time, ticking every second while live (for elapsed times of running agents). */
export function useNow(): number {
  const { paused } = useLive();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (paused) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [paused]);
  return now;
}

/**
 * The live list: one stream for the whole page, reconnected with a growing pause when
 * lost. Rows are kept by `kind/namespace/name`; analyses seen while the page is open are
 * kept per release, so the charts can mark each one (status keeps only the last).
 */
import { useEffect, useState } from 'react';
import type { AnalysisRunView, ReleaseView, WebAppView } from '../../src/dashboard/contract.ts';
import { lostStream, type StreamConnection } from '../../src/dashboard/view-state.ts';
import { ApiError, follow, type StreamMessage } from './api.ts';

export type Row = ReleaseView | WebAppView;

export const rowKey = (row: { kind?: string | undefined; namespace: string; name: string }): string => `${row.kind ?? 'CanaryDeployment'}/${row.namespace}/${row.name}`;

export const isWebApp = (row: Row): row is WebAppView => row.kind === 'WebApp';

/** Where the stream stands (src/dashboard/view-state.ts). */
export type Connection = StreamConnection;

export interface LiveState {
  rows: Map<string, Row>;
  connection: Connection;
  /** Analyses seen per release key, oldest first. */
  analyses: Map<string, AnalysisRunView[]>;
  /** Bumped on every change, so memoised views know to recompute. */
  version: number;
}

/** Follows the stream for as long as the component lives; `attempt` restarts it (after a sign-in). */
export function useLiveReleases(attempt: number): LiveState {
  const [state, setState] = useState<LiveState>(() => ({ rows: new Map(), connection: { state: 'connecting' }, analyses: new Map(), version: 0 }));

  useEffect(() => {
    const abort = new AbortController();
    const rows = new Map<string, Row>();
    const analyses = new Map<string, AnalysisRunView[]>();
    let version = 0;
    let frame = 0;
    let connection: Connection = { state: 'connecting' };
    // Changes arriving together are shown together, once per animation frame.
    const publish = (): void => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setState({ rows: new Map(rows), connection, analyses, version: ++version });
      });
    };
    const remember = (row: Row): void => {
      if (isWebApp(row) || !row.analysis) return;
      const key = rowKey(row);
      const seen = analyses.get(key) ?? [];
      if (seen.at(-1)?.time !== row.analysis.time) analyses.set(key, [...seen, row.analysis].slice(-200));
    };
    const onMessage = (message: StreamMessage): void => {
      switch (message.event) {
        case 'snapshot':
          rows.clear();
          for (const row of message.data) {
            rows.set(rowKey(row), row);
            remember(row);
          }
          connection = { state: 'live' };
          break;
        case 'release':
          rows.set(rowKey(message.data), message.data);
          remember(message.data);
          break;
        case 'deleted':
          rows.delete(rowKey(message.data));
          break;
        case 'unauthorized':
          connection = { state: 'signin', message: message.data.message };
          break;
      }
      publish();
    };
    void (async () => {
      while (!abort.signal.aborted) {
        try {
          await follow(onMessage, abort.signal);
        } catch (err) {
          if (abort.signal.aborted || (connection as Connection).state === 'signin') return;
          if (err instanceof ApiError && err.status === 401) {
            connection = { state: 'signin', message: err.message };
            publish();
            return;
          }
          // The next snapshot tells everything missed meanwhile: rows stay until then.
          connection = lostStream(connection, err instanceof Error ? err.message : String(err), Date.now());
          publish();
          const wait = connection.state === 'reconnecting' ? connection.retryInSeconds : 1;
          await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        }
      }
    })();
    return () => {
      abort.abort();
      cancelAnimationFrame(frame);
    };
  }, [attempt]);

  return state;
}

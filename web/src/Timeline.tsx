/**
 * The release's timeline: history, the analyses seen and the Kubernetes Events, merged by
 * src/dashboard/timeline.ts. Events are read as the person (GET …/events): when the API
 * server refuses them, the timeline says so and still shows the history.
 */
import { Alert, Empty, Tag, Timeline as AntTimeline, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import type { AnalysisRunView, EventView, HistoryEntryView } from '../../src/dashboard/contract.ts';
import { releaseTimeline, type TimelineEntry, type TimelineTone } from '../../src/dashboard/timeline.ts';
import { ApiError, releaseEvents } from './api.ts';
import { time } from './format.ts';

/** Lines shown at most: the newest. */
const SHOWN = 100;

const COLOR: Record<TimelineTone, string> = { info: 'blue', success: 'green', warning: 'orange', error: 'red' };

/** Events of the release, read again when `changed` changes (at most every 2 s) and every 15 s while `active`. */
function useReleaseEvents(namespace: string, name: string, active: boolean, changed: string): { events: EventView[]; refused?: string } {
  const [state, setState] = useState<{ events: EventView[]; refused?: string }>({ events: [] });
  const load = useRef<() => void>(() => {});
  const last = useRef(0);
  useEffect(() => {
    const abort = new AbortController();
    let inFlight = false;
    load.current = () => {
      if (inFlight || abort.signal.aborted) return;
      inFlight = true;
      last.current = Date.now();
      releaseEvents(namespace, name, abort.signal)
        .then(
          (answer) => !abort.signal.aborted && setState({ events: answer.events }),
          (err: unknown) => {
            if (abort.signal.aborted) return;
            // Refused (403) or failed: keep what was read before, and say why.
            setState((s) => ({ events: s.events, refused: err instanceof ApiError ? `${err.message} (HTTP ${err.status})` : String(err) }));
          },
        )
        .finally(() => {
          inFlight = false;
        });
    };
    load.current();
    const timer = active ? setInterval(() => load.current(), 15_000) : undefined;
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [namespace, name, active]);
  // A new history entry usually comes with its Event: read them again (the first read is the mount's).
  const seen = useRef(changed);
  useEffect(() => {
    if (seen.current === changed) return;
    seen.current = changed;
    const wait = 2000 - (Date.now() - last.current);
    const timer = setTimeout(() => load.current(), Math.max(0, wait));
    return () => clearTimeout(timer);
  }, [changed]);
  return state;
}

function Line({ entry }: { entry: TimelineEntry }) {
  const when = entry.firstTime ? `${time(entry.firstTime)}–${time(entry.time)}` : time(entry.time);
  return (
    <div data-testid={entry.source === 'analysis' ? 'timeline-analysis' : entry.source === 'event' ? 'timeline-event' : 'timeline-entry'} data-kind={entry.kind}>
      <Typography.Text strong>{entry.title}</Typography.Text>
      {entry.count > 1 ? <span className="cd-muted"> ×{entry.count}</span> : null} <span className="cd-muted">{when}</span>
      {entry.step !== undefined ? <span className="cd-muted"> · step {entry.step + 1}</span> : null}
      {entry.weight !== undefined ? <span className="cd-muted"> · {entry.weight}%</span> : null}
      {entry.score !== undefined ? <span className="cd-muted"> · score {Math.round(entry.score)}</span> : null}
      {entry.by ? (
        <Tag style={{ marginLeft: 8 }} data-testid="timeline-by">
          by {entry.by}
        </Tag>
      ) : null}
      {entry.source === 'event' ? <Tag style={{ marginLeft: 8 }}>Event</Tag> : null}
      {entry.detail ? <div className="cd-muted">{entry.detail}</div> : null}
    </div>
  );
}

export function ReleaseTimeline({
  namespace,
  name,
  active,
  history,
  analyses,
}: {
  namespace: string;
  name: string;
  active: boolean;
  history: HistoryEntryView[];
  analyses: AnalysisRunView[];
}) {
  const changed = `${history.length}:${history[0]?.time ?? ''}`;
  const { events, refused } = useReleaseEvents(namespace, name, active, changed);
  const entries = releaseTimeline({ history, analyses, events });
  return (
    <>
      {refused ? <Alert type="info" showIcon style={{ marginBottom: 12 }} title="Kubernetes Events are not shown" description={`${refused}. The release's own history is.`} data-testid="events-refused" /> : null}
      {entries.length === 0 ? (
        <Empty description="Nothing has happened yet" />
      ) : (
        <AntTimeline data-testid="timeline" items={entries.slice(0, SHOWN).map((entry) => ({ key: entry.key, color: COLOR[entry.tone], children: <Line entry={entry} /> }))} />
      )}
    </>
  );
}

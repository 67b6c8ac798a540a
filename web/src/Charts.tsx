/**
 * The release's checks over its life, one chart each: the analysis' own PromQL as a
 * range query (GET …/metrics), the canary's line and stable's beside it where stable has
 * series, the threshold as a dashed red line (for a comparison, the limit that follows
 * stable), each analysis and step as a marker. Refreshed every 10 s while the release is
 * active.
 */
import { Alert, Card, Empty } from 'antd';
import { memo, useEffect, useRef, useState } from 'react';
import { CartesianGrid, ComposedChart, Line, ReferenceLine, ResponsiveContainer, Scatter, Tooltip, XAxis, YAxis } from 'recharts';
import type { MetricChart, MetricsAnswer } from '../../src/dashboard/contract.ts';
import { metricsState } from '../../src/dashboard/view-state.ts';
import { ApiError, releaseMetrics } from './api.ts';
import { StateView } from './StateView.tsx';
import { time, withUnit } from './format.ts';

const TITLES: Record<string, string> = {
  successRate: 'Success rate',
  errorRate: 'Error rate',
  latencyP50: 'Latency p50',
  latencyP90: 'Latency p90',
  latencyP99: 'Latency p99',
};

/** A moment to mark on every chart: a step or command (a dotted line) or an analysis (a dot on the time axis). */
export interface Marker {
  time: number;
  label: string;
  color: string;
  kind: 'event' | 'analysis';
}

const CANARY = '#fa8c16';
const STABLE = '#1677ff';
const THRESHOLD = '#ff4d4f';

/** One row per moment: the canary's, stable's and the limit's value there (recharts draws rows). */
export function chartRows(chart: MetricChart): { t: number; canary?: number; stable?: number; limit?: number }[] {
  const rows = new Map<number, { t: number; canary?: number; stable?: number; limit?: number }>();
  const put = (key: 'canary' | 'stable' | 'limit', points: [number, number][]): void => {
    for (const [t, v] of points) {
      if (!Number.isFinite(v)) continue;
      const row = rows.get(t) ?? { t };
      row[key] = v;
      rows.set(t, row);
    }
  };
  for (const line of chart.lines) put(line.version, line.points);
  if (chart.limit) put('limit', chart.limit);
  return [...rows.values()].sort((a, b) => a.t - b.t);
}

/** One check's chart; memoised, so a release update that changes none of its inputs does not redraw it. */
const Chart = memo(function Chart({ chart, markers, start, end }: { chart: MetricChart; markers: Marker[]; start: number; end: number }) {
  const data = chartRows(chart);
  const canary = chart.lines.find((l) => l.version === 'canary');
  const stable = chart.lines.find((l) => l.version === 'stable');
  const values = data.flatMap((d) => [d.canary, d.stable, d.limit].filter((v): v is number => v !== undefined));
  // A comparison's tolerance is not a value on this axis; its limit line is.
  const fixed = chart.limit ? undefined : chart.threshold;
  const top = Math.max(...(fixed === undefined ? [] : [fixed]), ...values, 0);
  const bottom = Math.min(...(fixed === undefined ? [] : [fixed]), ...values, top);
  const pad = (top - bottom) * 0.1 || 1;
  const domain: [number, number] = chart.unit === '%' ? [Math.max(0, bottom - pad), Math.min(100, top + pad)] : [Math.max(0, bottom - pad), top + pad];
  const canaryPoints = data.filter((d) => d.canary !== undefined).length;
  const inRange = markers.filter((m) => m.time >= start && m.time <= end);
  const events = inRange.filter((m) => m.kind === 'event');
  const byColor = new Map<string, number[]>();
  for (const m of inRange) if (m.kind === 'analysis') byColor.set(m.color, [...(byColor.get(m.color) ?? []), m.time]);
  const analysisGroups = [...byColor];
  const error = canary?.error ?? stable?.error;
  return (
    <Card
      size="small"
      title={TITLES[chart.name] ?? chart.name}
      extra={<span className="cd-muted">passes {chart.rule}</span>}
      data-testid={`chart-${chart.name}`}
      data-points={canaryPoints}
      data-stable-points={data.filter((d) => d.stable !== undefined).length}
    >
      {error ? <Alert type="error" showIcon title="Prometheus did not answer this query" description={error} /> : null}
      {!error && canaryPoints === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="No samples yet: no requests reached the canary in this range" /> : null}
      {/* A legend of our own: recharts' Legend re-measures itself on every render, and with a
          release updated each second it kept the page busy (one frame a second). */}
      <div className="cd-legend">
        <span className="cd-legend-canary">━ canary</span>
        {stable ? <span className="cd-legend-stable">━ stable</span> : null}
        <span className="cd-legend-threshold">┅ {chart.limit ? 'limit (follows stable)' : 'threshold'}</span>
      </div>
      <div className="cd-chart">
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="t" type="number" domain={[start, end]} scale="time" tickFormatter={time} />
            <YAxis domain={domain} tickFormatter={(v: number) => `${Number(v.toFixed(1))}`} width={60} unit={chart.unit === '%' ? '%' : ''} />
            <Tooltip labelFormatter={(t) => time(Number(t))} formatter={(v, key) => [withUnit(Number(v), chart.unit), String(key)]} />

            {/* Steps and commands: few, each a dotted line. */}
            {events.map((m) => (
              <ReferenceLine key={`${m.time}-${m.label}`} x={m.time} stroke={m.color} strokeDasharray="2 4" className="cd-marker" />
            ))}
            {/* Analyses (one a second, hundreds in a release): one scatter per colour, not one
                reference element each, which recharts registers one by one (seconds of work per redraw). */}
            {analysisGroups.map(([color, points]) => (
              <Scatter key={color} data={points.map((t) => ({ t, mark: domain[0] }))} dataKey="mark" fill={color} isAnimationActive={false} className="cd-marker cd-analysis-marker" shape="circle" legendType="none" />
            ))}
            {fixed === undefined ? (
              <Line type="stepAfter" dataKey="limit" name="limit" stroke={THRESHOLD} strokeDasharray="6 4" strokeWidth={2} dot={false} isAnimationActive={false} className="cd-threshold" />
            ) : (
              <ReferenceLine y={fixed} stroke={THRESHOLD} strokeDasharray="6 4" strokeWidth={2} className="cd-threshold" label={{ value: 'threshold', position: 'insideTopRight', fill: THRESHOLD, fontSize: 11 }} />
            )}
            {stable ? <Line type="monotone" dataKey="stable" name="stable" stroke={STABLE} strokeWidth={1.5} dot={false} isAnimationActive={false} connectNulls={false} className="cd-line-stable" /> : null}
            <Line type="monotone" dataKey="canary" name="canary" stroke={CANARY} strokeWidth={2} dot={false} isAnimationActive={false} connectNulls={false} className="cd-line-canary" />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
    </Card>
  );
});

export function Charts({ namespace, name, active, markers, refreshKey }: { namespace: string; name: string; active: boolean; markers: Marker[]; refreshKey: string }) {
  const [answer, setAnswer] = useState<MetricsAnswer>();
  // Markers are taken with each answer, not as they come: a new analysis every second would
  // otherwise redraw every chart every second (the page's heaviest work).
  const latestMarkers = useRef(markers);
  latestMarkers.current = markers;
  const [shownMarkers, setShownMarkers] = useState<Marker[]>(markers);
  const [error, setError] = useState<{ status: number; message: string }>();
  const load = useRef<() => void>(() => {});
  const lastLoad = useRef(0);

  // One loader per release: every 10 s while active, and on demand (a new analysis).
  useEffect(() => {
    const abort = new AbortController();
    let inFlight = false;
    load.current = () => {
      if (inFlight || abort.signal.aborted) return;
      inFlight = true;
      lastLoad.current = Date.now();
      releaseMetrics(namespace, name, abort.signal)
        .then(
          (a) => {
            if (abort.signal.aborted) return;
            setAnswer(a);
            setShownMarkers(latestMarkers.current);
            setError(undefined);
          },
          // A failed refresh is news (the dashboard went away, or refuses now): it shows until the next answer.
          (err: unknown) => !abort.signal.aborted && setError(err instanceof ApiError ? { status: err.status, message: err.message } : { status: 0, message: err instanceof Error ? err.message : String(err) }),
        )
        .finally(() => {
          inFlight = false;
        });
    };
    load.current();
    const timer = active ? setInterval(() => load.current(), 10_000) : undefined;
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [namespace, name, active]);

  // A new analysis brings the charts up to date, at most every 10 s: a redraw of every chart is the
  // heaviest thing the page does, and analyses may run every second.
  useEffect(() => {
    if (Date.now() - lastLoad.current > 10_000) load.current();
  }, [refreshKey]);

  const state = metricsState(answer, error);
  if (state.kind !== 'ready' || !answer) return state.kind === 'ready' ? null : <StateView state={state} />;
  return (
    <div className="cd-charts" data-testid="charts">
      {answer.charts.map((c) => (
        <Chart key={c.name} chart={c} markers={shownMarkers} start={answer.start} end={answer.end} />
      ))}
    </div>
  );
}

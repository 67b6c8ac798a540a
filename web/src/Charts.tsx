/**
 * The release's checks over its life, one chart each: the analysis' own PromQL as a
 * range query (GET …/metrics), the threshold as a dashed red line, each analysis and
 * step as a vertical marker. Refreshed every 10 s while the release is active.
 */
import { Alert, Card, Empty, Spin } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceDot, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { MetricSeries, MetricsAnswer } from '../../src/dashboard/contract.ts';
import { ApiError, releaseMetrics } from './api.ts';
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

function Chart({ series, markers, start, end }: { series: MetricSeries; markers: Marker[]; start: number; end: number }) {
  const data = series.points.map(([t, v]) => ({ t, v: Number.isFinite(v) ? v : null }));
  const values = data.flatMap((d) => (d.v === null ? [] : [d.v]));
  const top = Math.max(series.threshold, ...values);
  const bottom = Math.min(series.threshold, ...values);
  const pad = (top - bottom) * 0.1 || 1;
  const domain: [number, number] = series.unit === '%' ? [Math.max(0, bottom - pad), Math.min(100, top + pad)] : [Math.max(0, bottom - pad), top + pad];
  const passes = series.bound === 'min' || series.bound === 'gt' ? 'at or above' : 'at or below';
  return (
    <Card size="small" title={TITLES[series.name] ?? series.name} extra={<span className="cd-muted">passes {passes} {withUnit(series.threshold, series.unit)}</span>} data-testid={`chart-${series.name}`} data-points={data.length}>
      {series.error ? <Alert type="error" showIcon title="Prometheus did not answer this query" description={series.error} /> : null}
      {!series.error && data.length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="No samples yet: no requests reached the canary in this range" /> : null}
      <div className="cd-chart">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="t" type="number" domain={[start, end]} scale="time" tickFormatter={time} />
            <YAxis domain={domain} tickFormatter={(v: number) => `${Number(v.toFixed(1))}`} width={60} unit={series.unit === '%' ? '%' : ''} />
            <Tooltip labelFormatter={(t) => time(Number(t))} formatter={(v) => [withUnit(Number(v), series.unit), 'canary']} />
            {markers.map((m) =>
              m.kind === 'event' ? (
                <ReferenceLine key={`${m.time}-${m.label}`} x={m.time} stroke={m.color} strokeDasharray="2 4" className="cd-marker" />
              ) : (
                <ReferenceDot key={`${m.time}-${m.label}`} x={m.time} y={domain[0]} r={3} fill={m.color} stroke="none" className="cd-marker cd-analysis-marker" />
              ),
            )}
            <ReferenceLine y={series.threshold} stroke="#ff4d4f" strokeDasharray="6 4" strokeWidth={2} className="cd-threshold" label={{ value: 'threshold', position: 'insideTopRight', fill: '#ff4d4f', fontSize: 11 }} />
            <Line type="monotone" dataKey="v" stroke="#fa8c16" strokeWidth={2} dot={false} isAnimationActive={false} connectNulls={false} name="canary" />
          </LineChart>
        </ResponsiveContainer>
      </div>
    </Card>
  );
}

export function Charts({ namespace, name, active, markers, refreshKey }: { namespace: string; name: string; active: boolean; markers: Marker[]; refreshKey: string }) {
  const [answer, setAnswer] = useState<MetricsAnswer>();
  const [error, setError] = useState<string>();
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
            setError(undefined);
          },
          (err: unknown) => !abort.signal.aborted && setError(err instanceof ApiError ? `${err.message} (HTTP ${err.status})` : (err as Error).message),
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

  // A new analysis brings the charts up to date, at most every 3 s (analyses may run every second).
  useEffect(() => {
    if (Date.now() - lastLoad.current > 3000) load.current();
  }, [refreshKey]);

  if (error) return <Alert type="error" showIcon title="Metrics unavailable" description={error} data-testid="metrics-error" />;
  if (!answer) return <Spin tip="Asking Prometheus…"><div style={{ height: 120 }} /></Spin>;
  if (answer.problem) return <Alert type="info" showIcon title="No charts for this release" description={answer.problem} data-testid="metrics-problem" />;
  return (
    <div className="cd-charts" data-testid="charts">
      {answer.series.map((s) => (
        <Chart key={s.name} series={s} markers={markers} start={answer.start} end={answer.end} />
      ))}
    </div>
  );
}

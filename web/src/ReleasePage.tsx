/**
 * One release: who and what, the actions, the ladder with the live weight, the traffic
 * split now, charts of its checks, the last analysis, and the timeline of what happened.
 */
import { Alert, Card, Col, Descriptions, Empty, Result, Row as Grid, Space, Spin, Steps, Table, Tag, Timeline, Typography } from 'antd';
import { useMemo } from 'react';
import type { AnalysisRunView, HistoryEntryView, ReleaseView } from '../../src/dashboard/contract.ts';
import { Actions } from './Actions.tsx';
import { Backtest } from './Backtest.tsx';
import { Charts, type Marker } from './Charts.tsx';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { activePhases, age, phaseColor, time, withUnit } from './format.ts';
import { isWebApp, rowKey, type LiveState } from './store.ts';

function Split({ weight }: { weight: number }) {
  return (
    <div className="cd-split" data-testid="traffic-split" data-weight={weight}>
      <div className="cd-split-stable" style={{ width: `${100 - weight}%` }}>{weight < 100 ? `stable ${100 - weight}%` : ''}</div>
      <div className="cd-split-canary" style={{ width: `${weight}%` }}>{weight > 0 ? `canary ${weight}%` : ''}</div>
    </div>
  );
}

function Ladder({ release }: { release: ReleaseView }) {
  if (release.steps.length === 0) return <Empty description="No steps" />;
  const current = release.stepIndex ?? -1;
  return (
    <Steps
      data-testid="ladder"
      size="small"
      current={release.phase === 'Completed' ? release.steps.length : Math.max(current, 0)}
      status={release.phase === 'Failed' ? 'error' : release.paused ? 'wait' : release.phase === 'Completed' ? 'finish' : 'process'}
      items={release.steps.map((s, i) => ({
        title: `${s.weight}%`,
        description: s.approval ? 'waits for approval' : `hold ${s.pause ?? ''}`,
        subTitle: i === current && release.phase !== 'Completed' ? `now ${release.weight}%` : undefined,
      }))}
    />
  );
}

const historyColor = (e: HistoryEntryView): string =>
  /RolledBack|Aborted|Failed|Stopped/.test(e.event) ? 'red' : /Completed|Promoted/.test(e.event) ? 'green' : /Paused/.test(e.event) ? 'orange' : 'blue';

/** A run of analyses with the same decision and score, shown as one line. */
interface AnalysisRun {
  first: AnalysisRunView;
  last: AnalysisRunView;
  count: number;
}

type Moment = { time: string; kind: 'history'; entry: HistoryEntryView } | { time: string; kind: 'analysis'; run: AnalysisRun };

/**
 * Analyses in runs: with an interval of a second, a minute of identical "Continue, score
 * 100" would bury the steps and commands; a change of decision or score starts a new line.
 */
export function analysisRuns(analyses: AnalysisRunView[]): AnalysisRun[] {
  const runs: AnalysisRun[] = [];
  for (const a of [...analyses].sort((x, y) => Date.parse(x.time) - Date.parse(y.time))) {
    const current = runs.at(-1);
    if (current && current.last.decision === a.decision && Math.round(current.last.score ?? -1) === Math.round(a.score ?? -1) && current.last.step === a.step) {
      current.last = a;
      current.count++;
    } else runs.push({ first: a, last: a, count: 1 });
  }
  return runs;
}

function ReleaseTimeline({ history, analyses }: { history: HistoryEntryView[]; analyses: AnalysisRunView[] }) {
  const moments: Moment[] = [...history.map((entry): Moment => ({ time: entry.time, kind: 'history', entry })), ...analysisRuns(analyses).map((run): Moment => ({ time: run.last.time, kind: 'analysis', run }))].sort(
    (a, b) => Date.parse(b.time) - Date.parse(a.time),
  );
  if (moments.length === 0) return <Empty description="Nothing has happened yet" />;
  return (
    <Timeline
      data-testid="timeline"
      items={moments.slice(0, 80).map((m) =>
        m.kind === 'history'
          ? {
              color: historyColor(m.entry),
              children: (
                <div data-testid="timeline-entry">
                  <Typography.Text strong>{m.entry.event}</Typography.Text> <span className="cd-muted">{time(m.entry.time)}</span>
                  {m.entry.step !== undefined ? <span className="cd-muted"> · step {m.entry.step + 1}</span> : null}
                  {m.entry.weight !== undefined ? <span className="cd-muted"> · {m.entry.weight}%</span> : null}
                  {m.entry.by ? <Tag style={{ marginLeft: 8 }} data-testid="timeline-by">by {m.entry.by}</Tag> : null}
                  {m.entry.message ? <div className="cd-muted">{m.entry.message}</div> : null}
                </div>
              ),
            }
          : {
              color: m.run.last.decision === 'Continue' ? 'green' : m.run.last.decision === 'Rollback' ? 'red' : 'gray',
              children: (
                <div data-testid="timeline-analysis">
                  <Typography.Text strong>Analysis: {m.run.last.decision}</Typography.Text>
                  {m.run.count > 1 ? <span className="cd-muted"> ×{m.run.count} · {time(m.run.first.time)}–{time(m.run.last.time)}</span> : <span className="cd-muted"> {time(m.run.last.time)}</span>}
                  {m.run.last.score !== undefined ? <span className="cd-muted"> · score {Math.round(m.run.last.score)}</span> : null}
                  {m.run.last.message ? <div className="cd-muted">{m.run.last.message}</div> : null}
                </div>
              ),
            },
      )}
    />
  );
}

/** The unit of a built-in check's numbers, by its name (custom checks have none). */
function unitOf(name: string): string {
  return /^latency/.test(name) ? 'ms' : /^(successRate|errorRate)(VsStable)?$/.test(name) ? '%' : '';
}

function LastAnalysis({ run }: { run: AnalysisRunView | undefined }) {
  if (!run) return <Empty description="No analysis yet" />;
  const comparing = run.metrics.some((m) => m.stableValue !== undefined);
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <span>
        <Tag color={run.decision === 'Continue' ? 'success' : run.decision === 'Rollback' ? 'error' : 'warning'}>{run.decision}</Tag>
        {run.score !== undefined ? `score ${Math.round(run.score)}` : ''} <span className="cd-muted">at {time(run.time)}</span>
      </span>
      <Table
        data-testid="last-analysis"
        size="small"
        pagination={false}
        rowKey="name"
        dataSource={run.metrics}
        columns={[
          { title: 'Metric', dataIndex: 'name' },
          { title: comparing ? 'Canary' : 'Value', render: (_, m) => withUnit(m.value, unitOf(m.name)) },
          // Checks against stable (metrics.compare) show stable's number over the same window beside the canary's.
          ...(comparing ? [{ title: 'Stable', key: 'stable', render: (_: unknown, m: AnalysisRunView['metrics'][number]) => (m.stableValue === undefined ? '—' : withUnit(m.stableValue, unitOf(m.name))) }] : []),
          { title: 'Threshold', dataIndex: 'threshold' },
          { title: 'Score', render: (_, m) => (m.score === undefined ? '—' : Math.round(m.score)) },
          { title: 'Verdict', render: (_, m) => (m.passed === undefined ? <Tag>no data</Tag> : m.passed ? <Tag color="success">pass</Tag> : <Tag color="error">fail</Tag>) },
        ]}
      />
      {run.message ? <Typography.Text type="secondary">{run.message}</Typography.Text> : null}
    </Space>
  );
}

export function ReleasePage({ live, namespace, name }: { live: LiveState; namespace: string; name: string }) {
  const key = rowKey({ namespace, name });
  const row = live.rows.get(key);
  const analyses = live.analyses.get(key) ?? [];
  const markers = useMemo((): Marker[] => {
    if (!row || isWebApp(row)) return [];
    const seen = row.analysis && !analyses.some((a) => a.time === row.analysis!.time) ? [...analyses, row.analysis] : analyses;
    return [
      ...seen.map((a): Marker => ({ time: Date.parse(a.time), label: `analysis ${a.decision}`, color: a.decision === 'Continue' ? '#52c41a' : a.decision === 'Rollback' ? '#ff4d4f' : '#8c8c8c', kind: 'analysis' })),
      ...row.history.map((h): Marker => ({ time: Date.parse(h.time), label: h.event, color: h.event === 'Aborted' || h.event === 'RolledBack' ? '#ff4d4f' : '#1677ff', kind: 'event' })),
    ];
  }, [live.version, key]);

  if (live.connection.state === 'connecting') return <Spin size="large" tip="Loading…"><div style={{ height: 200 }} /></Spin>;
  if (!row || isWebApp(row)) {
    return <Result status="404" title="Release not found" subTitle={`No CanaryDeployment ${namespace}/${name} that you may see. It may have been deleted.`} extra={<a href="#/">Back to the list</a>} />;
  }
  const analysesShown = row.analysis && !analyses.some((a) => a.time === row.analysis!.time) ? [...analyses, row.analysis] : analyses;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }} data-testid="release-page">
      <Card
        title={
          <Space>
            <a href="#/">Releases</a>/<span data-testid="release-name">{row.name}</span>
            <Tag color={phaseColor[row.phase]} data-testid="release-phase">{row.phase}</Tag>
          </Space>
        }
        extra={<Actions release={row} />}
      >
        {row.malformed ? <Alert type="error" showIcon title="This object cannot be read" description={row.malformed} /> : null}
        <Descriptions size="small" column={{ xs: 1, md: 3 }}>
          <Descriptions.Item label="Namespace">{row.namespace}</Descriptions.Item>
          <Descriptions.Item label="Version">
            <code>{row.version}</code>
          </Descriptions.Item>
          <Descriptions.Item label="Stable">{row.stableRevision ?? '—'}</Descriptions.Item>
          <Descriptions.Item label="Strategy">{row.strategy}</Descriptions.Item>
          <Descriptions.Item label="Traffic">{row.provider}</Descriptions.Item>
          <Descriptions.Item label="Started">{row.startedAt ? `${age(row.startedAt)} ago` : 'not yet'}</Descriptions.Item>
        </Descriptions>
        {row.message ? (
          <Alert type={row.phase === 'Failed' ? 'error' : 'info'} showIcon title={row.reason ?? row.phase} description={row.message} data-testid="release-message" />
        ) : null}
      </Card>
      <Grid gutter={16}>
        <Col xs={24} lg={16}>
          <Card title="Steps" size="small">
            <Ladder release={row} />
          </Card>
        </Col>
        <Col xs={24} lg={8}>
          <Card title="Traffic now" size="small">
            <Split weight={row.weight} />
          </Card>
        </Col>
      </Grid>
      <Card title="Canary metrics over the release" size="small" extra={<span className="cd-muted">red dashed: threshold · dotted lines: steps and commands · dots: analyses</span>}>
        {row.hasMetrics ? (
          <ErrorBoundary what="the charts">
            <Charts namespace={namespace} name={name} active={activePhases.includes(row.phase)} markers={markers} refreshKey={row.analysis?.time ?? ''} />
          </ErrorBoundary>
        ) : (
          <Empty description="This release has no metrics to analyse (spec.metrics is empty)" />
        )}
      </Card>
      {row.hasMetrics ? (
        <Card title="Backtest" size="small" extra={<span className="cd-muted">this policy replayed on the metrics of the release's life</span>}>
          <ErrorBoundary what="the backtest">
            <Backtest namespace={namespace} name={name} />
          </ErrorBoundary>
        </Card>
      ) : null}
      <Grid gutter={16}>
        <Col xs={24} lg={12}>
          <Card title="Last analysis" size="small">
            <LastAnalysis run={row.analysis} />
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title="Timeline" size="small">
            <ReleaseTimeline history={row.history} analyses={analysesShown} />
          </Card>
        </Col>
      </Grid>
    </Space>
  );
}

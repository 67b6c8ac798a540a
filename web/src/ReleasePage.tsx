/**
 * One release: who and what, the actions, the ladder with the live weight, the traffic
 * split now, charts of its checks, the last analysis, and the timeline of what happened.
 */
import { Alert, Card, Col, Descriptions, Empty, Row as Grid, Space, Steps, Table, Tag, Typography } from 'antd';
import { useMemo } from 'react';
import type { AnalysisRunView, ReleaseView } from '../../src/dashboard/contract.ts';
import { Actions } from './Actions.tsx';
import { Backtest } from './Backtest.tsx';
import { Charts, type Marker } from './Charts.tsx';
import { releaseState } from '../../src/dashboard/view-state.ts';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { StateView } from './StateView.tsx';
import { ReleaseTimeline } from './Timeline.tsx';
import { activePhases, age, describeCost, phaseColor, time, withUnit } from './format.ts';
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
    // Only a new analysis or history entry moves the markers: the charts are not redrawn for other changes.
  }, [key, analyses, row && !isWebApp(row) ? `${row.analysis?.time}:${row.history.length}:${row.history[0]?.time}` : '']);

  if (!row || isWebApp(row)) {
    const state = releaseState(live.connection, false, { namespace, name });
    return state.kind === 'ready' ? null : <StateView state={state} extra={<a href="#/">Back to the list</a>} />;
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
          {row.cost ? (
            <Descriptions.Item label="Cost" span={3}>
              <span data-testid="release-cost">{describeCost(row.cost)}</span>
            </Descriptions.Item>
          ) : null}
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
      <Card title="Metrics over the release" size="small" extra={<span className="cd-muted">orange: canary · blue: stable · red dashed: threshold · dotted lines: steps and commands · dots: analyses</span>}>
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
            <ReleaseTimeline namespace={namespace} name={name} active={activePhases.includes(row.phase)} history={row.history} analyses={analysesShown} />
          </Card>
        </Col>
      </Grid>
    </Space>
  );
}

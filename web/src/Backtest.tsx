/**
 * The backtest card: on a click, the release's own policy replayed on Prometheus' history
 * of it (GET …/backtest): when it would have paused or rolled back, the thresholds
 * suggested from stable's behaviour and how they would have decided, and every round.
 */
import { Alert, Button, Space, Table, Tag } from 'antd';
import { useState } from 'react';
import type { BacktestAnswer, BacktestRoundView } from '../../src/dashboard/contract.ts';
import { releaseBacktest } from './api.ts';
import { time, withUnit } from './format.ts';

const verdictColor: Record<BacktestRoundView['verdict'], string> = {
  'advance-allowed': 'success',
  hold: 'default',
  pause: 'warning',
  rollback: 'error',
};

export function Backtest({ namespace, name }: { namespace: string; name: string }) {
  const [answer, setAnswer] = useState<BacktestAnswer | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const run = (): void => {
    setLoading(true);
    setError(undefined);
    releaseBacktest(namespace, name)
      .then(setAnswer, (err: unknown) => setError(err instanceof Error ? err.message : String(err)))
      .finally(() => setLoading(false));
  };
  const metricNames = answer?.rounds[0]?.metrics.map((m) => m.name) ?? [];
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="backtest">
      <Button onClick={run} loading={loading} data-testid="backtest-run">
        Backtest this policy over the release
      </Button>
      {error ? <Alert type="error" showIcon title="Backtest failed" description={error} /> : null}
      {answer?.problem ? <Alert type="warning" showIcon title="Nothing to replay" description={answer.problem} /> : null}
      {answer && !answer.problem ? (
        <>
          <Alert
            type={answer.rollbackAt ? 'error' : answer.pauseAt ? 'warning' : 'success'}
            showIcon
            title={`With the release's thresholds: ${answer.outcome}`}
            description={answer.suggestedOutcome ? `With the suggested thresholds: ${answer.suggestedOutcome}` : undefined}
            data-testid="backtest-outcome"
          />
          {answer.suggestions.length > 0 ? (
            <Table
              size="small"
              pagination={false}
              rowKey="check"
              dataSource={answer.suggestions}
              columns={[
                { title: 'Check', dataIndex: 'check' },
                { title: 'Now', render: (_, s) => withUnit(s.current, s.unit) },
                { title: 'Suggested', render: (_, s) => withUnit(s.suggested, s.unit) },
                { title: "From stable's behaviour", render: (_, s) => `${s.basis} (${s.samples} samples)` },
              ]}
            />
          ) : null}
          <Table
            size="small"
            rowKey="time"
            pagination={{ pageSize: 20 }}
            dataSource={answer.rounds}
            columns={[
              { title: 'Time', render: (_, r) => time(r.time) },
              ...metricNames.map((n) => ({
                title: n,
                render: (_: unknown, r: BacktestRoundView) => {
                  const m = r.metrics.find((x) => x.name === n);
                  if (m?.value === undefined) return 'no data';
                  return <span style={m.passed === false ? { color: '#ff4d4f' } : undefined}>{Number(m.value.toFixed(2))}</span>;
                },
              })),
              { title: 'Score', render: (_, r) => (r.score === undefined ? '—' : Math.round(r.score)) },
              { title: 'Decision', dataIndex: 'decision' },
              { title: 'Verdict', render: (_, r) => <Tag color={verdictColor[r.verdict]}>{r.verdict}</Tag> },
            ]}
          />
        </>
      ) : null}
    </Space>
  );
}

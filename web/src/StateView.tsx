/** Draws a {@link ViewState} (src/dashboard/view-state.ts): the same words and look on every view. */
import { Alert, Empty, Spin } from 'antd';
import type { ReactNode } from 'react';
import type { ViewState } from '../../src/dashboard/view-state.ts';

export function StateView({ state, extra }: { state: Exclude<ViewState, { kind: 'ready' }>; extra?: ReactNode }) {
  const testId = `state-${state.kind}`;
  switch (state.kind) {
    case 'loading':
      return (
        <Spin size="large" tip={state.message} data-testid={testId}>
          <div style={{ height: 160 }} />
        </Spin>
      );
    case 'empty':
      return <Empty data-testid={testId} description={<><div>{state.title}</div><div className="cd-muted">{state.hint}</div></>} />;
    // Alerts, not antd's Result: its illustrations would add ~10 KB to the first load.
    case 'not-found':
      return <Alert type="info" showIcon title={state.title} description={<>{state.message} {extra}</>} data-testid={testId} />;
    case 'forbidden':
      return <Alert type="error" showIcon title={state.title} description={<>{state.message} {extra}</>} data-testid={testId} />;
    case 'signin':
      return <Alert type="info" showIcon title={state.title} description={state.message} data-testid={testId} />;
    case 'unavailable':
      return <Alert type="warning" showIcon title={state.title} description={state.message} data-testid={testId} />;
    case 'error':
      return <Alert type="error" showIcon title={state.title} description={state.message} data-testid={testId} />;
  }
}

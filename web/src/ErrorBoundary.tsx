/**
 * Keeps one broken view from blanking the whole console: the part that failed says so
 * (with a way to try again), the rest of the page stays live. The error also goes to
 * the browser console, where the browser tests collect it.
 */
import { Alert, Button } from 'antd';
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  /** What failed, for the message ("the charts"). */
  what: string;
  children: ReactNode;
}

export class ErrorBoundary extends Component<Props, { error: Error | undefined }> {
  override state: { error: Error | undefined } = { error: undefined };

  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`console: ${this.props.what} failed: ${error.stack ?? error.message}\n${info.componentStack ?? ''}`);
  }

  override render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <Alert
        type="error"
        showIcon
        title={`Cannot show ${this.props.what}`}
        description={this.state.error.message}
        action={<Button onClick={() => this.setState({ error: undefined })}>Try again</Button>}
        data-testid="view-error"
      />
    );
  }
}

/**
 * The steering buttons: each disabled with the steering table's reason when the release's
 * state does not allow it, the drastic ones (abort, promote to the end) confirmed first,
 * and the server's answer shown, beside the buttons and as a message. The server acts as
 * the person, so the API server may still refuse (RBAC): that refusal is shown as it came.
 */
import { App, Button, Popconfirm, Space, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import type { CommandName, ReleaseView } from '../../src/dashboard/contract.ts';
import { sendCommand } from './api.ts';

interface ButtonSpec {
  label: string;
  danger?: boolean;
  /** What the confirmation says; no confirmation when unset. */
  confirm?: string;
}

const BUTTONS: Record<CommandName, ButtonSpec> = {
  promote: { label: 'Promote step' },
  'promote-full': {
    label: 'Promote to 100%',
    confirm: 'Skips every remaining step and analysis: the canary takes all traffic, then becomes stable.',
  },
  pause: { label: 'Pause' },
  resume: { label: 'Resume' },
  abort: {
    label: 'Abort',
    danger: true,
    confirm: 'Rolls the release back: all traffic returns to stable and the canary is removed.',
  },
  retry: { label: 'Retry' },
};

const ORDER: CommandName[] = ['promote', 'promote-full', 'pause', 'resume', 'abort', 'retry'];

/** The last answer, kept beside the buttons until the next command. */
interface Result {
  command: CommandName;
  ok: boolean;
  message: string;
}

export function Actions({ release }: { release: ReleaseView }) {
  const { message } = App.useApp();
  const [busy, setBusy] = useState<CommandName>();
  const [result, setResult] = useState<Result>();

  const run = async (command: CommandName): Promise<void> => {
    setBusy(command);
    setResult(undefined);
    const answer = await sendCommand(release.namespace, release.name, command);
    setBusy(undefined);
    setResult({ command, ...answer });
    if (answer.ok) void message.success({ content: answer.message, key: 'action' });
    else void message.error({ content: `${command} refused: ${answer.message}`, key: 'action', duration: 8 });
  };

  const button = (command: CommandName) => {
    const spec = BUTTONS[command];
    const state = release.actions[command];
    const b = (
      <Button data-testid={`action-${command}`} danger={spec.danger ?? false} disabled={state !== true} loading={busy === command} onClick={spec.confirm ? undefined : () => void run(command)}>
        {spec.label}
      </Button>
    );
    if (state !== true) {
      // A disabled button gets no pointer events: the tooltip sits on a wrapper.
      return (
        <Tooltip key={command} title={state}>
          <span data-testid={`why-${command}`} data-reason={state}>
            {b}
          </span>
        </Tooltip>
      );
    }
    return spec.confirm ? (
      <Popconfirm key={command} title={`${spec.label}: ${release.name}?`} description={spec.confirm} okText={spec.label} okButtonProps={{ danger: spec.danger ?? false, id: `confirm-${command}` }} onConfirm={() => run(command)}>
        {b}
      </Popconfirm>
    ) : (
      <span key={command}>{b}</span>
    );
  };

  return (
    <Space direction="vertical" align="end" size={4}>
      <Space wrap>{ORDER.map(button)}</Space>
      {result ? (
        <Typography.Text type={result.ok ? 'success' : 'danger'} data-testid="action-result" data-ok={String(result.ok)}>
          {result.ok ? result.message : `${BUTTONS[result.command].label} refused: ${result.message}`}
        </Typography.Text>
      ) : null}
    </Space>
  );
}

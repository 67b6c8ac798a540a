/**
 * The steering buttons: each disabled with the reason when the release's state does not
 * allow it, drastic ones (abort, promote) confirmed first, and the server's answer shown.
 * The server acts as the person, so the API server may still refuse (RBAC): that refusal
 * is shown as it came.
 */
import { App, Button, Popconfirm, Space, Tooltip } from 'antd';
import { useState } from 'react';
import type { CommandName, ReleaseView } from '../../src/dashboard/contract.ts';
import { sendCommand } from './api.ts';

const CONFIRM: Partial<Record<CommandName, string>> = {
  abort: 'Abort rolls the release back: all traffic returns to stable and the canary is removed.',
  promote: 'Promote skips the rest of the current step’s wait and analysis and moves to the next step.',
};

export function Actions({ release }: { release: ReleaseView }) {
  const { message } = App.useApp();
  const [busy, setBusy] = useState<CommandName>();

  const run = async (command: CommandName): Promise<void> => {
    setBusy(command);
    const answer = await sendCommand(release.namespace, release.name, command);
    setBusy(undefined);
    if (answer.ok) void message.success({ content: answer.message, key: 'action' });
    else void message.error({ content: `${command} refused: ${answer.message}`, key: 'action', duration: 8 });
  };

  const button = (command: CommandName, label: string, danger = false) => {
    const allowed = release.actions[command] && !release.malformed;
    const reason = release.malformed ? 'this object cannot be read' : release.actionReasons?.[command];
    const b = (
      <Button data-testid={`action-${command}`} danger={danger} disabled={!allowed} loading={busy === command} onClick={CONFIRM[command] ? undefined : () => void run(command)}>
        {label}
      </Button>
    );
    if (!allowed) {
      return (
        <Tooltip key={command} title={reason ?? `not possible while the release is ${release.phase}`}>
          <span data-testid={`why-${command}`} data-reason={reason ?? ''}>{b}</span>
        </Tooltip>
      );
    }
    const confirm = CONFIRM[command];
    return confirm ? (
      <Popconfirm key={command} title={`${label} ${release.name}?`} description={confirm} okText={label} okButtonProps={{ danger, id: `confirm-${command}` }} onConfirm={() => run(command)}>
        {b}
      </Popconfirm>
    ) : (
      <span key={command}>{b}</span>
    );
  };

  return (
    <Space wrap>
      {button('promote', 'Promote')}
      {button('pause', 'Pause')}
      {button('resume', 'Resume')}
      {button('abort', 'Abort', true)}
      {button('retry', 'Retry')}
    </Space>
  );
}

/**
 * The groups page (`#/groups`): every ReleaseGroup among the releases the person may see,
 * live (computed from the stream's rows with the server's own ./group-view.ts), with its
 * counts, failed members and summed cost, and group actions that send the command to
 * each member where the steering table allows it (with the person's own rights).
 */
import { App, Button, Card, Empty, Popconfirm, Progress, Space, Table, Tag, Typography } from 'antd';
import { useMemo, useState } from 'react';
import type { CommandName, GroupView, ReleaseView } from '../../src/dashboard/contract.ts';
import { groupViews } from '../../src/dashboard/group-view.ts';
import { sendCommand } from './api.ts';
import { describeCost, phaseColor } from './format.ts';
import { isWebApp, type LiveState } from './store.ts';

const stateColor: Record<string, string> = { waiting: 'default', running: 'processing', completed: 'success', failed: 'error' };

function GroupActions({ group, rows }: { group: GroupView; rows: ReleaseView[] }) {
  const { message } = App.useApp();
  const [busy, setBusy] = useState<CommandName>();
  const members = rows.filter((r) => r.namespace === group.namespace && r.group === group.name);
  const run = async (command: CommandName): Promise<void> => {
    setBusy(command);
    const targets = members.filter((m) => m.actions[command]);
    const answers = await Promise.all(targets.map((m) => sendCommand(m.namespace, m.name, command)));
    setBusy(undefined);
    const refused = answers.filter((a) => !a.ok).length;
    const text = `${command}: sent to ${targets.length - refused} of ${members.length} members${refused ? `, ${refused} refused` : ''}`;
    if (refused) void message.warning({ content: text, key: 'group-action' });
    else void message.success({ content: text, key: 'group-action' });
  };
  const button = (command: CommandName, label: string, danger = false) => {
    const count = members.filter((m) => m.actions[command]).length;
    const b = (
      <Button data-testid={`group-${command}`} danger={danger} disabled={count === 0} loading={busy === command}>
        {label} ({count})
      </Button>
    );
    return count === 0 ? (
      <span key={command}>{b}</span>
    ) : (
      <Popconfirm key={command} title={`${label} ${count} members of ${group.name}?`} okText={label} okButtonProps={{ danger }} onConfirm={() => run(command)}>
        {b}
      </Popconfirm>
    );
  };
  return (
    <Space wrap>
      {button('promote', 'Promote')}
      {button('pause', 'Pause')}
      {button('resume', 'Resume')}
      {button('abort', 'Abort', true)}
    </Space>
  );
}

export function GroupsPage({ live }: { live: LiveState }) {
  const rows = useMemo(() => [...live.rows.values()].filter((r): r is ReleaseView => !isWebApp(r)), [live.version]);
  const groups = useMemo(() => groupViews(rows), [rows]);
  if (groups.length === 0) return <Empty description="No release groups among the releases you may see" />;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }} data-testid="groups-page">
      {groups.map((g) => {
        const done = g.counts.completed + g.counts.failed;
        return (
          <Card
            key={`${g.namespace}/${g.name}`}
            data-testid="group-card"
            title={
              <Space>
                <span>{g.namespace}/</span>
                <span data-testid="group-name">{g.name}</span>
              </Space>
            }
            extra={<GroupActions group={g} rows={rows} />}
          >
            <Progress percent={Math.round((done / Math.max(1, g.counts.total)) * 100)} success={{ percent: Math.round((g.counts.completed / Math.max(1, g.counts.total)) * 100) }} status={g.counts.failed > 0 ? 'exception' : undefined} />
            <Typography.Paragraph data-testid="group-counts">
              {g.counts.total} members: {g.counts.completed} completed, {g.counts.running} running ({g.counts.paused} paused), {g.counts.waiting} waiting, {g.counts.failed} failed
            </Typography.Paragraph>
            {g.cost ? <Typography.Paragraph type="secondary" data-testid="group-cost">cost: {describeCost(g.cost)}</Typography.Paragraph> : null}
            <Table
              size="small"
              rowKey="name"
              pagination={{ pageSize: 20, hideOnSinglePage: true }}
              dataSource={g.members}
              columns={[
                { title: 'Member', key: 'name', render: (_, m) => <a href={`#/release/${encodeURIComponent(g.namespace)}/${encodeURIComponent(m.name)}`}>{m.name}</a> },
                { title: 'State', key: 'state', render: (_, m) => <Tag color={stateColor[m.state]}>{m.state}</Tag> },
                { title: 'Phase', key: 'phase', render: (_, m) => (m.state === 'waiting' ? '—' : <Tag color={phaseColor[m.phase]}>{m.phase}</Tag>) },
                { title: 'Why', key: 'why', render: (_, m) => <span className="cd-muted">{m.state === 'failed' ? `${m.reason ?? ''}: ${m.message ?? ''}` : (m.reason ?? '')}</span> },
              ]}
            />
          </Card>
        );
      })}
    </Space>
  );
}

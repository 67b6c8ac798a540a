/** The list: every release and WebApp the person may see, counts per phase, filters, live. WebApps have no actions; one being released links to its CanaryDeployment. */
import { Card, Input, Progress, Segmented, Select, Space, Table, Tag } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { useMemo, useState } from 'react';
import { listState } from '../../src/dashboard/view-state.ts';
import { age, phaseColor } from './format.ts';
import { StateView } from './StateView.tsx';
import { isWebApp, rowKey, type LiveState, type Row } from './store.ts';

const PHASES = ['Initializing', 'Progressing', 'Paused', 'Completed', 'Failed'];
/** A WebApp's phases (src/api/webapp.ts), offered by the filter once a WebApp is in one. */
const WEBAPP_PHASES = ['Pending', 'Creating', 'Running', 'Deleting'];

const releaseLink = (namespace: string, name: string): string => `#/release/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;

const columns: ColumnsType<Row> = [
  {
    title: 'Name',
    key: 'name',
    render: (_, row) =>
      isWebApp(row) ? (
        row.release ? (
          // The WebApp's release is a CanaryDeployment in its namespace: its page is where to watch it.
          <a href={releaseLink(row.namespace, row.release)} data-testid="webapp-link" title={`released by CanaryDeployment ${row.release}`}>
            {row.name}
          </a>
        ) : (
          <span data-testid="webapp-name" title={row.message}>
            {row.name}
          </span>
        )
      ) : (
        <a href={releaseLink(row.namespace, row.name)} data-testid="release-link">
          {row.name}
        </a>
      ),
    sorter: (a, b) => a.name.localeCompare(b.name),
  },
  { title: 'Namespace', dataIndex: 'namespace', key: 'namespace' },
  { title: 'Kind', key: 'kind', render: (_, row) => <span className="cd-muted">{row.kind ?? 'CanaryDeployment'}</span> },
  {
    title: 'Phase',
    key: 'phase',
    render: (_, row) => (
      <Tag color={phaseColor[row.phase] ?? 'default'} data-testid="phase">
        {row.phase}
        {!isWebApp(row) && row.paused && row.phase !== 'Paused' ? ' (pausing)' : ''}
      </Tag>
    ),
  },
  { title: 'Step', key: 'step', render: (_, row) => (isWebApp(row) ? (row.release ? <span className="cd-muted">release {row.release}</span> : '') : row.steps.length ? `${Math.min((row.stepIndex ?? -1) + 1, row.steps.length)}/${row.steps.length}` : '') },
  {
    title: 'Canary weight / ready',
    key: 'weight',
    width: 180,
    render: (_, row) => (isWebApp(row) ? <span data-testid="ready">{`${row.readyReplicas ?? 0}/${row.replicas ?? 0} ready`}</span> : <Progress percent={row.weight} size="small" status={row.phase === 'Failed' ? 'exception' : row.phase === 'Completed' ? 'success' : 'active'} data-testid="weight" />),
  },
  { title: 'Version', key: 'version', render: (_, row) => <code>{isWebApp(row) ? row.image : row.version}</code> },
  { title: 'Age', key: 'age', render: (_, row) => age(row.createdAt ?? (isWebApp(row) ? undefined : row.startedAt)) },
];

export function ReleaseList({ live }: { live: LiveState }) {
  const [phase, setPhase] = useState<string>('All');
  const [namespace, setNamespace] = useState<string | undefined>();
  const [name, setName] = useState('');
  const rows = useMemo(() => [...live.rows.values()].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)), [live.version]);
  const namespaces = useMemo(() => [...new Set(rows.map((r) => r.namespace))].sort(), [rows]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const r of rows) c[r.phase] = (c[r.phase] ?? 0) + 1;
    return c;
  }, [rows]);
  // The releases' phases always; a WebApp's own ones once some WebApp is in them.
  const phases = [...PHASES, ...WEBAPP_PHASES.filter((p) => counts[p])];
  const shown = rows.filter((r) => (phase === 'All' || r.phase === phase) && (!namespace || r.namespace === namespace) && (!name || r.name.includes(name.trim())));

  const state = listState(live.connection, rows.length, shown.length);
  if (state.kind === 'loading' || state.kind === 'signin' || (state.kind === 'unavailable' && rows.length === 0)) return <StateView state={state} />;

  return (
    <Card title="Releases and WebApps" extra={<span className="cd-muted">{rows.length} in all</span>}>
      <Space wrap size="middle" style={{ marginBottom: 16 }}>
        <Segmented
          data-testid="phase-filter"
          value={phase}
          onChange={(v) => setPhase(String(v))}
          options={['All', ...phases].map((p) => ({ value: p, label: `${p} ${p === 'All' ? rows.length : (counts[p] ?? 0)}` }))}
        />
        <Select data-testid="namespace-filter" allowClear placeholder="All namespaces" style={{ minWidth: 200 }} value={namespace} onChange={setNamespace} options={namespaces.map((n) => ({ value: n, label: n }))} />
        <Input.Search data-testid="name-filter" allowClear placeholder="Filter by name" value={name} onChange={(e) => setName(e.target.value)} style={{ width: 240 }} />
      </Space>
      <Table<Row>
        data-testid="releases"
        rowKey={rowKey}
        columns={columns}
        dataSource={shown}
        size="middle"
        pagination={{ defaultPageSize: 50, hideOnSinglePage: true, showSizeChanger: true }}
        locale={{ emptyText: state.kind === 'ready' ? undefined : <StateView state={state} /> }}
      />
    </Card>
  );
}

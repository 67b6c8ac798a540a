/** The frame: header, connection state, sign-in, and which view the address asks for. */
import { Alert, Input, Modal, Space, Spin, Typography } from 'antd';
import { lazy, Suspense, useEffect, useState } from 'react';
import { ApiError, setToken, whoAmI } from './api.ts';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { ReleaseList } from './ReleaseList.tsx';
// The release page (charts and all) loads on first use: the list, the first thing shown, does not wait for it.
const ReleasePage = lazy(() => import('./ReleasePage.tsx').then((m) => ({ default: m.ReleasePage })));
const GroupsPage = lazy(() => import('./GroupsPage.tsx').then((m) => ({ default: m.GroupsPage })));
import { useLiveReleases, type Connection } from './store.ts';
import { streamBanner } from '../../src/dashboard/view-state.ts';

/** The view the hash names: `#/release/<ns>/<name>`, `#/groups` or the list. */
function useRoute(): { release?: { namespace: string; name: string }; groups?: boolean } {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const onChange = (): void => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  if (hash === '#/groups') return { groups: true };
  const match = /^#\/release\/([^/]+)\/([^/]+)$/.exec(hash);
  return match ? { release: { namespace: decodeURIComponent(match[1]!), name: decodeURIComponent(match[2]!) } } : {};
}

function ConnectionBanner({ connection }: { connection: Connection }) {
  const banner = streamBanner(connection);
  return banner ? <Alert data-testid="stream-lost" type={banner.tone} showIcon title={banner.title} description={banner.message} /> : null;
}

export function Console() {
  const [attempt, setAttempt] = useState(0);
  const live = useLiveReleases(attempt);
  const route = useRoute();
  const [username, setUsername] = useState<string>();
  const [token, setTokenText] = useState('');

  useEffect(() => {
    whoAmI().then(
      (me) => setUsername(me.username),
      (err: unknown) => !(err instanceof ApiError && err.status === 401) && setUsername(undefined),
    );
  }, [attempt]);

  const signIn = (): void => {
    if (!token.trim()) return;
    setToken(token.trim());
    setTokenText('');
    setAttempt((n) => n + 1);
  };

  return (
    <>
      <header className="cd-header">
        <a href="#/">Codedance</a>
        <span>releases</span>
        <a href="#/groups" data-testid="groups-link">groups</a>
        <span className="cd-spacer" />
        <span data-testid="live-state">{live.connection.state === 'live' ? '● live' : live.connection.state}</span>
        {username && <span data-testid="whoami">signed in as {username}</span>}
      </header>
      <main className="cd-main">
        <Space direction="vertical" size="middle" style={{ width: '100%' }}>
          <ConnectionBanner connection={live.connection} />
          <ErrorBoundary what={route.release ? 'this release' : route.groups ? 'the groups' : 'the list'} key={route.release ? `${route.release.namespace}/${route.release.name}` : route.groups ? 'groups' : 'list'}>
            {route.groups ? (
              <Suspense fallback={<Spin size="large" />}>
                <GroupsPage live={live} />
              </Suspense>
            ) : route.release ? (
              <Suspense fallback={<Spin size="large" />}>
                <ReleasePage live={live} namespace={route.release.namespace} name={route.release.name} />
              </Suspense>
            ) : (
              <ReleaseList live={live} />
            )}
          </ErrorBoundary>
        </Space>
      </main>
      <Modal open={live.connection.state === 'signin'} title="Sign in" closable={false} maskClosable={false} onOk={signIn} okText="Sign in" cancelButtonProps={{ style: { display: 'none' } }}>
        <Typography.Paragraph>{live.connection.state === 'signin' ? live.connection.message : ''}</Typography.Paragraph>
        <Typography.Paragraph type="secondary">
          Paste a bearer token (e.g. <code>kubectl create token NAME</code>). It is kept in this tab only and sent with each request; the API server decides what you may see and do.
        </Typography.Paragraph>
        <Input.Password value={token} onChange={(e) => setTokenText(e.target.value)} onPressEnter={signIn} placeholder="token" />
      </Modal>
    </>
  );
}

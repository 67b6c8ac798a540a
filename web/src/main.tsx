/**
 * The release console: the list of releases (#/) and a release page
 * (#/release/<namespace>/<name>), both live from one stream.
 *
 * Ant Design runs in zero-runtime mode with its prebuilt stylesheet, so the page needs no
 * inline <style> elements and works under the dashboard's CSP (style-src 'self').
 */
import { App as AntApp, ConfigProvider } from 'antd';
import 'antd/dist/antd.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Console } from './Console.tsx';
import './console.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ConfigProvider theme={{ zeroRuntime: true }}>
      <AntApp>
        <Console />
      </AntApp>
    </ConfigProvider>
  </StrictMode>,
);

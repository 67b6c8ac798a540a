/**
 * The release console: the list of releases (#/) and a release page
 * (#/release/<namespace>/<name>), both live from one stream.
 *
 * Ant Design runs in zero-runtime mode with its prebuilt stylesheet; the few `<style>`
 * elements it still writes carry the page's nonce (style-src 'self' 'nonce-…').
 * That stylesheet defines its CSS variables under the class `css-var-_R_0_` (the key it
 * was extracted with), so the provider is given that key rather than one from useId;
 * the browser test checks the styles really apply (antd is pinned, so a new version
 * that changes the key fails there, not in front of a person).
 */
import { App as AntApp, ConfigProvider } from 'antd';
import 'antd/dist/antd.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Console } from './Console.tsx';
import './console.css';

/** The class antd's prebuilt antd.css defines its variables under. */
const ANTD_CSS_VAR_KEY = 'css-var-_R_0_';

/**
 * The nonce the server put in the page for `<style>` elements: antd still writes its
 * theme variables into some at run time, and the CSP admits only those with this nonce.
 */
const styleNonce = document.querySelector<HTMLMetaElement>('meta[name="codedance-style-nonce"]')?.content;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ConfigProvider theme={{ zeroRuntime: true, cssVar: { key: ANTD_CSS_VAR_KEY } }} csp={{ nonce: styleNonce }}>
      <AntApp>
        <Console />
      </AntApp>
    </ConfigProvider>
  </StrictMode>,
);

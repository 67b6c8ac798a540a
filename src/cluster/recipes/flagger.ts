/** Flagger: `go install github.com/fluxcd/flagger/cmd/flagger@<version>` as is (a peer of the benchmark). */
import { flaggerVersion } from '../versions.ts';
import { goInstall, type ComponentBuild } from './recipe.ts';

export const flaggerModule = 'github.com/fluxcd/flagger';

export function flaggerBuild(): ComponentBuild {
  // The version stamp of Flagger's own Makefile (pkg/version.REVISION).
  return goInstall(
    'flagger',
    flaggerVersion,
    `${flaggerModule}/cmd/flagger@${flaggerVersion}`,
    `-s -w -X ${flaggerModule}/pkg/version.REVISION=${flaggerVersion}`,
    ['-version'],
  );
}

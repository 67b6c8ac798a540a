/**
 * Reading Kubernetes' own go.mod and deriving the wrapper module that builds it.
 *
 * `k8s.io/kubernetes` cannot be required as is: its go.mod `replace`s every staging
 * module (`k8s.io/api`, `k8s.io/client-go`, ...) with a folder under `./staging`, and
 * replace directives only count in the main module. The wrapper copies upstream's
 * requirements (so every dependency is the version Kubernetes was tested with) and
 * replaces each staging module with its published release (`v0.<minor>.<patch>`).
 * The staging list is read from upstream every time, never copied by hand.
 */

/** One `path version` pair from a `require` directive. */
export interface GoRequirement {
  path: string;
  version: string;
}

/** The directives of a go.mod file that the wrapper needs. */
export interface GoModFile {
  module: string;
  go: string | undefined;
  godebug: string[];
  requires: GoRequirement[];
  /** `old => new` replacements, as written (the new side keeps its version if it has one). */
  replaces: { from: string; to: string }[];
}

function stripComment(line: string): string {
  const at = line.indexOf('//');
  return (at >= 0 ? line.slice(0, at) : line).trim();
}

/** Parses the directives of a go.mod file (module, go, godebug, require, replace). */
export function parseGoMod(text: string): GoModFile {
  const result: GoModFile = { module: '', go: undefined, godebug: [], requires: [], replaces: [] };
  let block: string | undefined;
  const take = (directive: string, body: string): void => {
    const words = body.split(/\s+/).filter(Boolean);
    if (directive === 'module') result.module = words[0] ?? '';
    else if (directive === 'go') result.go = words[0];
    else if (directive === 'godebug') result.godebug.push(body);
    else if (directive === 'require' && words.length >= 2)
      result.requires.push({ path: words[0]!, version: words[1]! });
    else if (directive === 'replace') {
      const [from, to] = body.split('=>').map((side) => side.trim());
      if (from && to) result.replaces.push({ from, to });
    }
  };
  for (const raw of text.split('\n')) {
    const line = stripComment(raw);
    if (!line) continue;
    if (block) {
      if (line === ')') block = undefined;
      else take(block, line);
      continue;
    }
    const opening = /^(\w+)\s*\($/.exec(line);
    if (opening) {
      block = opening[1];
      continue;
    }
    const single = /^(\w+)\s+(.*)$/.exec(line);
    if (single) take(single[1]!, single[2]!);
  }
  return result;
}

/**
 * The staging modules of a Kubernetes go.mod: every `replace` whose target is a local
 * `./staging/...` folder. Throws when there are none, because then the file is not what
 * we think it is.
 */
export function stagingModules(upstream: GoModFile): string[] {
  const modules = upstream.replaces
    .filter((replace) => replace.to.startsWith('./staging/'))
    .map((replace) => replace.from.split(/\s+/)[0]!)
    .sort();
  if (modules.length === 0)
    throw new Error(
      `no ./staging replacements in the go.mod of ${upstream.module}: cannot derive the wrapper module`,
    );
  return modules;
}

/**
 * The go.mod of the wrapper module: requires `k8s.io/kubernetes@version` plus everything
 * upstream requires at upstream's versions, and replaces each staging module with its
 * published `stagingVersion`.
 */
export function wrapperGoMod(options: {
  module: string;
  upstream: GoModFile;
  kubernetesVersion: string;
  stagingVersion: string;
}): string {
  const { upstream } = options;
  const lines = [`module ${options.module}`, '', `go ${upstream.go ?? '1.26.0'}`, ''];
  // Keep upstream's GODEBUG defaults: they only apply in the main module, and the binaries
  // should behave like the ones Kubernetes releases.
  for (const setting of upstream.godebug) lines.push(`godebug ${setting}`);
  if (upstream.godebug.length > 0) lines.push('');
  lines.push('require (', `\t${upstream.module} ${options.kubernetesVersion}`);
  for (const req of upstream.requires) lines.push(`\t${req.path} ${req.version}`);
  lines.push(')', '', 'replace (');
  for (const path of stagingModules(upstream)) lines.push(`\t${path} => ${path} ${options.stagingVersion}`);
  lines.push(')', '');
  return lines.join('\n');
}

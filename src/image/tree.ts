/**
 * Turning folders on disk into tar entries with normalized metadata: owner root (or
 * the given uid), mode 0755 or 0644 by the executable bit, directories walked in
 * sorted order. What the build machine's umask, owner or clock made of the files does
 * not reach the layer.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { TarEntry } from './tar.ts';

/** Collects the entries of one layer; parent directories are added once, before their children. */
export class LayerEntries {
  readonly entries: TarEntry[] = [];
  private readonly dirs = new Set<string>();

  /** Adds the directory `path` (and its parents) unless already there. */
  dir(path: string, mode = 0o755, owner = 0): void {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.dirs.has(dir)) continue;
      this.dirs.add(dir);
      const last = i === parts.length;
      this.entries.push({
        type: 'dir',
        path: dir,
        mode: last ? mode : 0o755,
        uid: last ? owner : 0,
        gid: last ? owner : 0,
      });
    }
  }

  /** Adds a file with the given content or source file. */
  file(path: string, data: Buffer | { fromFile: string }, mode = 0o644): void {
    this.parent(path);
    this.entries.push({ type: 'file', path, mode, uid: 0, gid: 0, data });
  }

  /** Adds a symbolic link. */
  symlink(path: string, target: string): void {
    this.parent(path);
    this.entries.push({ type: 'symlink', path, mode: 0o777, uid: 0, gid: 0, target });
  }

  /**
   * Adds everything under `source` at `target`, in sorted order. `skip(relativePath,
   * isDirectory)` leaves out a file or a whole folder.
   */
  async tree(
    source: string,
    target: string,
    skip: (relative: string, isDirectory: boolean) => boolean = () => false,
  ): Promise<void> {
    this.dir(target);
    const walk = async (relative: string): Promise<void> => {
      const names = (await readdir(join(source, relative))).sort();
      for (const name of names) {
        const rel = relative ? `${relative}/${name}` : name;
        const full = join(source, rel);
        const info = await lstat(full);
        if (skip(rel, info.isDirectory())) continue;
        const path = `${target}/${rel}`;
        if (info.isDirectory()) {
          this.dir(path);
          await walk(rel);
        } else if (info.isSymbolicLink()) {
          this.symlink(path, await readlink(full));
        } else if (info.isFile()) {
          this.file(path, { fromFile: full }, info.mode & 0o111 ? 0o755 : 0o644);
        }
        // Sockets, FIFOs and devices have no place in an image root: left out.
      }
    };
    await walk('');
  }

  private parent(path: string): void {
    const slash = path.lastIndexOf('/');
    if (slash > 0) this.dir(path.slice(0, slash));
  }
}

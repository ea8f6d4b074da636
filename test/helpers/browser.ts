import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium, headless, as root in a closed network: without the background-networking flags it
 * keeps trying to reach Google's hosts. A missing /usr/bin/chromium fails loudly (.ci/run installs it).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

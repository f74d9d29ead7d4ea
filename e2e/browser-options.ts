/**
 * How every journey and the browser bench launch Chromium: Debian's chromium from apt
 * (scripts/ensure-chromium.sh), never a downloaded one, and quiet (no background traffic that
 * could reach the network during a run).
 */
export const chromiumLaunchOptions = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
};

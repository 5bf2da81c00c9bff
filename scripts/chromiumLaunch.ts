/**
 * How this project launches Debian's Chromium (tests and benchmarks alike): never a downloaded
 * browser; no background networking (this machine has no internet); software WebGL2 (SwiftShader).
 */
export const CHROMIUM_PATH = process.env.LOUPE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

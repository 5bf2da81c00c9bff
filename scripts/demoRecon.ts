/** Node arguments of the embedded demo: the reference consumer reconstructing a simulated phantom
 *  scan as run `demo` (npm start, npm run cluster). */
export const DEMO_RECON_ARGS = [
  '--import',
  'tsx',
  'consumers/recon/main.ts',
  '--run',
  'demo',
  '--title',
  'Demo: phantom at 2-BM',
];

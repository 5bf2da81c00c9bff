/** The `data-testid` values e2e tests select by; the UI and e2e/ both import them from here. */
export const testIds = {
  connectionState: 'connection-state',
  runList: 'run-list',
  runLink: (id: string) => `run-link-${id}`,
  runState: 'run-state',
  sliceCanvas: (plane: string) => `slice-canvas-${plane}`,
  sliceFps: (plane: string) => `slice-fps-${plane}`,
  latency: 'latency',
  windowMin: 'window-min',
  windowMax: 'window-max',
  autoContrast: 'auto-contrast',
} as const;

/**
 * `npm run bench:render` — in Chromium (Debian's, via playwright-core; never a downloaded one):
 * time from a 2048×2048 uint16 frame's arrival to its first drawn frame, median over 50 frames,
 * WebGL2 (GPU window/level, R16UI texture) against converting to RGBA on the CPU + putImageData,
 * measured in the same page. Prints figures; asserts nothing.
 *
 *   --edge 2048 --frames 50 --display 1024
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import type { RenderTimings } from './page';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../scripts/chromiumLaunch';

const { values } = parseArgs({
  options: {
    edge: { type: 'string', default: '2048' },
    frames: { type: 'string', default: '50' },
    /** Drawing-buffer edge of the WebGL canvas: a slice view on a HiDPI screen. */
    display: { type: 'string', default: '1024' },
  },
});
const root = fileURLToPath(new URL('../../', import.meta.url));
const bundle = await build({
  entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
  bundle: true,
  write: false,
  format: 'iife',
  platform: 'browser',
  alias: { '@': root.replace(/\/$/, '') },
});
const script = bundle.outputFiles[0]!.text;

const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage();
  await page.setContent('<!doctype html><body style="margin:0;background:#000"></body>');
  await page.addScriptTag({ content: script });
  const edge = Number(values.edge);
  const frames = Number(values.frames);
  const display = Number(values.display);
  const t = (await page.evaluate(
    ([e, f, d]) =>
      (
        globalThis as unknown as { runBench(e: number, f: number, d: number): Promise<unknown> }
      ).runBench(e!, f!, d!),
    [edge, frames, display],
  )) as RenderTimings;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;
  const row = (label: string, xs: number[]) =>
    console.log(
      `${label.padEnd(52)} median ${median(xs).toFixed(1).padStart(7)} ms   p90 ${p90(xs).toFixed(1).padStart(7)} ms`,
    );
  console.log(
    `render bench: ${edge}×${edge} uint16, ${frames} frames, WebGL canvas ${display}², renderer: ${t.renderer}`,
  );
  row('WebGL2 (R16UI upload + GPU window/level), GPU done', t.gpuSync);
  row('WebGL2, to the next animation frame', t.gpuFrame);
  row('baseline: CPU RGBA + putImageData, done', t.cpuSync);
  row('baseline, to the next animation frame', t.cpuFrame);
  row('window/level change, WebGL2 (draw only)', t.gpuWindow);
  row('window/level change, baseline (convert + put)', t.cpuWindow);
  console.log(
    `window/level change ratio (baseline / WebGL2): ${(median(t.cpuWindow) / median(t.gpuWindow)).toFixed(2)}×`,
  );
  console.log(
    `ratio (baseline / WebGL2): ${(median(t.cpuSync) / median(t.gpuSync)).toFixed(2)}× until drawn, ${(median(t.cpuFrame) / median(t.gpuFrame)).toFixed(2)}× to the next frame`,
  );
} finally {
  await browser.close();
}

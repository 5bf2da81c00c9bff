/**
 * `npx tsx bench/links/compression.ts` — would lossless deflate (zlib here, CompressionStream
 * in the browser: the same format) pay on slow links? Ratio and compression time per frame for
 * bench:links's 2048² uint16 phantom with noise at each level, and for the demo's 128² float32.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { phantomSlice } from '@/consumers/phantom/sheppLogan3d';
import { reduceArea } from '@/server/streams/levels';

function measure(label: string, bytes: Uint8Array): void {
  for (const level of [1, 6]) {
    const t0 = performance.now();
    const packed = deflateSync(bytes, { level });
    const t1 = performance.now();
    inflateSync(packed);
    const t2 = performance.now();
    console.log(
      `${label.padEnd(34)} zlib ${level}: ${(bytes.byteLength / 1024).toFixed(0).padStart(6)} KiB → ratio ${(bytes.byteLength / packed.byteLength).toFixed(2)}, deflate ${(t1 - t0).toFixed(1)} ms, inflate ${(t2 - t1).toFixed(1)} ms`,
    );
  }
}

const N = 2048;
let s = 2026;
const noise = () => {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  return (s / 2 ** 32 - 0.5) * 600;
};
const base = phantomSlice('xy', N / 2, N);
const u16 = Uint16Array.from(base, (v) =>
  Math.max(0, Math.min(65535, Math.round(v * 40000 + 8000 + noise()))),
);
for (let level = 0; level <= 3; level++) {
  const f = 2 ** level;
  const px = level === 0 ? u16 : reduceArea(u16, N, f, [0, 0], [N, N]);
  measure(`2048² uint16 + noise, level ${level}`, new Uint8Array(px.buffer));
}
const clean = Uint16Array.from(base, (v) => Math.round(v * 40000 + 8000));
measure('2048² uint16, no noise, level 0', new Uint8Array(clean.buffer));
const demo = phantomSlice('xy', 64, 128);
for (let i = 0; i < demo.length; i++) demo[i] = demo[i]! * 0.02 + noise() * 1e-6;
measure('128² float32 (demo-like, noisy)', new Uint8Array(demo.buffer));

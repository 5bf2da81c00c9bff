'use client';

import { Canvas, useFrame, useThree } from '@react-three/fiber';
import { useEffect, useMemo, useRef } from 'react';
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { PLANES, streamKey } from '@/lib/protocol';
import { colormapLut, LUT_SIZE } from '@/lib/imaging/colormaps';
import { PLANE_AXES } from '@/lib/imaging/planeGeometry';
import { transferTable } from '@/lib/imaging/transferFunction';
import { testIds } from '@/lib/testIds';
import type { ViewerStore } from '@/stores/viewerStore';
import type { FrameStore } from '@/components/live/FrameStore';
import type { VolumeAssembly } from '@/components/live/VolumeAssembly';
import type { DrawStats } from './DrawStats';
import { MAX_STEPS, MODE_INDEX, VOLUME_FRAGMENT, VOLUME_VERTEX } from './volumeShader';
import type { PlaneStore } from '@/stores/planeStore';
import { planeFractions } from './planeFractions';

export interface VolumeViewProps {
  run: string;
  frames: FrameStore;
  store: ViewerStore;
  stats: DrawStats;
  /** Plane positions; a viewer's local positions are drawn where the slices show them. */
  planes?: PlaneStore;
}

/** Colours of the x, y, z axes — the same as the slice crosshairs. */
const AXIS_COLOURS = [0xff6b6b, 0x5ee07a, 0x5aa9ff] as const;
/** How often the fill figure under the canvas is refreshed, ms. */
const FILL_REFRESH_MS = 250;
/**
 * Least time between redraws caused by arriving bricks, ms. A ray-marched frame costs tens of ms
 * on a software GPU, and bricks stream continuously: redrawn per brick, the volume took the
 * main thread from the slices. The user's own changes (orbit, planes, mode) redraw at once.
 */
const BRICK_REDRAW_MS = 500;

/**
 * The preview volume in 3-D: one persistent R3F canvas that renders on demand. Bricks go into the
 * 3-D texture as they arrive (texSubImage3D per brick, never a whole re-upload), and everything
 * fast-changing is read from the frame store and the viewer store inside the render loop.
 */
export function VolumeView({ run, frames, store, stats, planes }: VolumeViewProps) {
  const fillRef = useRef<HTMLSpanElement>(null);

  useEffect(() => {
    const timer = setInterval(() => {
      const v = frames.volume(run);
      if (fillRef.current) {
        // Bricks reduced for a slow link are said so: the 3-D view is then coarser than the data.
        const reduced = v?.reducedBricks ?? 0;
        fillRef.current.textContent = v
          ? `${v.shape.join('×')} · ${Math.round(v.fraction * 100)} % filled · ${v.bricksReceived} bricks${reduced > 0 ? ` · ${reduced} reduced (slow link)` : ''}`
          : 'waiting for volume bricks…';
      }
    }, FILL_REFRESH_MS);
    return () => clearInterval(timer);
  }, [run, frames]);

  return (
    <figure className="flex flex-col gap-1">
      <figcaption className="flex items-center justify-between text-xs text-muted">
        <span className="font-mono font-semibold uppercase text-white">3-D</span>
        <span className="font-mono">
          <span className="text-[#ff6b6b]">x</span> <span className="text-[#5ee07a]">y</span>{' '}
          <span className="text-[#5aa9ff]">z</span>
        </span>
      </figcaption>
      <div className="relative aspect-square w-full overflow-hidden rounded border border-edge bg-black">
        <Canvas
          frameloop="demand"
          dpr={1}
          camera={{ position: [1.3, 0.9, 1.5], fov: 40, near: 0.01, far: 20 }}
          gl={{ preserveDrawingBuffer: true, antialias: true, alpha: false }}
          onCreated={({ gl }) => {
            gl.setClearColor(0x000000, 1);
            gl.domElement.setAttribute('data-testid', testIds.volumeCanvas);
          }}
        >
          <Scene
            run={run}
            frames={frames}
            store={store}
            stats={stats}
            {...(planes && { planes })}
          />
        </Canvas>
      </div>
      <span
        ref={fillRef}
        className="h-4 font-mono text-xs text-muted"
        data-testid={testIds.volumeFill}
      />
    </figure>
  );
}

function Scene({ run, frames, store, stats, planes }: VolumeViewProps) {
  const invalidate = useThree((s) => s.invalidate);
  const camera = useThree((s) => s.camera);
  const domElement = useThree((s) => s.gl.domElement);

  // Orbit controls from three's examples (drei is not a dependency); redraw on every change.
  useEffect(() => {
    const controls = new OrbitControls(camera, domElement);
    controls.enableDamping = false;
    controls.addEventListener('change', () => invalidate());
    return () => controls.dispose();
  }, [camera, domElement, invalidate]);

  // Render on demand: a cheap check per animation frame decides whether anything changed.
  useEffect(() => {
    let raf = 0;
    let seen = '';
    let seenVersion: number | undefined;
    let redrawnAt = -Infinity;
    const tick = (now: number) => {
      raf = requestAnimationFrame(tick);
      const v = frames.volume(run);
      const slices = planeFractions(frames, run, planes).join();
      const roi = frames.get(run, streamKey('roi', 'xy'))?.frame.header.region;
      const key = `${v?.shape.join()}|${slices}|${JSON.stringify(roi)}`;
      const bricks = v?.version !== seenVersion && now - redrawnAt >= BRICK_REDRAW_MS;
      if (key !== seen || bricks) {
        seen = key;
        seenVersion = v?.version;
        redrawnAt = now;
        invalidate();
      }
    };
    raf = requestAnimationFrame(tick);
    const unsubscribe = store.subscribe(() => invalidate());
    return () => {
      cancelAnimationFrame(raf);
      unsubscribe();
    };
  }, [run, frames, store, invalidate, planes]);

  return (
    // Tomography's rotation axis (volume z) points up the screen: three's y.
    <group rotation={[-Math.PI / 2, 0, 0]}>
      <VolumeMesh
        run={run}
        frames={frames}
        store={store}
        stats={stats}
        {...(planes && { planes })}
      />
    </group>
  );
}

/** The ray-marched box, with axes, slice planes, clipping box, ROI box and picked point around it. */
function VolumeMesh({ run, frames, store, stats, planes }: VolumeViewProps) {
  const mesh = useRef<THREE.Mesh>(null);
  const gl = useThree((s) => s.gl);
  const camera = useThree((s) => s.camera);
  const extras = useMemo(() => new THREE.Group(), []);
  const state = useMemo(
    () => ({
      volume: null as VolumeAssembly | null,
      texture: null as THREE.Data3DTexture | null,
      drawnVersion: 0,
      colormap: '',
      transfer: null as unknown,
      size: new THREE.Vector3(1, 1, 1),
      geometryKey: '',
    }),
    [],
  );
  const lut = useMemo(() => dataTexture(colormapLut('grey')), []);
  const transfer = useMemo(() => dataTexture(new Uint8Array(LUT_SIZE * 4)), []);
  const material = useMemo(
    () =>
      new THREE.ShaderMaterial({
        glslVersion: THREE.GLSL3,
        vertexShader: VOLUME_VERTEX,
        fragmentShader: VOLUME_FRAGMENT,
        side: THREE.BackSide,
        transparent: true,
        depthWrite: false,
        uniforms: {
          uVolume: { value: null },
          uLut: { value: lut },
          uTransfer: { value: transfer },
          uSize: { value: new THREE.Vector3(1, 1, 1) },
          uCamera: { value: new THREE.Vector3() },
          uClipMin: { value: new THREE.Vector3(0, 0, 0) },
          uClipMax: { value: new THREE.Vector3(1, 1, 1) },
          uTexel: { value: new THREE.Vector3(1, 1, 1) },
          uWindow: { value: new THREE.Vector2(0, 1) },
          uIso: { value: 0.5 },
          uSteps: { value: 256 },
          uMode: { value: 0 },
        },
      }),
    [lut, transfer],
  );
  const geometry = useMemo(() => new THREE.BoxGeometry(1, 1, 1), []);
  const brickScratch = useMemo(() => new THREE.Vector3(), []);
  const cameraLocal = useMemo(() => new THREE.Vector3(), []);

  useEffect(
    () => () => {
      state.texture?.dispose();
      lut.dispose();
      transfer.dispose();
      material.dispose();
      geometry.dispose();
      disposeGroup(extras);
    },
    [state, lut, transfer, material, geometry, extras],
  );

  useFrame(() => {
    const m = mesh.current;
    if (!m) return;
    const s = store.getState();
    const u = material.uniforms;
    const volume = frames.volume(run) ?? null;
    m.visible = !!volume;

    if (volume && volume !== state.volume) {
      // A new volume (first brick, or its shape changed): allocate and upload once.
      state.texture?.dispose();
      const [X, Y, Z] = volume.shape;
      const texture = new THREE.Data3DTexture(volume.data, X, Y, Z);
      texture.format = THREE.RedFormat;
      texture.type = THREE.UnsignedByteType;
      texture.minFilter = texture.magFilter = THREE.LinearFilter;
      texture.unpackAlignment = 1;
      texture.needsUpdate = true;
      state.texture = texture;
      state.volume = volume;
      state.drawnVersion = volume.version;
      u.uVolume!.value = texture;
      u.uTexel!.value = new THREE.Vector3(1 / X, 1 / Y, 1 / Z);
      const physical = volume.shape.map((n, i) => n * volume.voxelSize[i]!);
      const longest = Math.max(...physical);
      state.size.set(physical[0]! / longest, physical[1]! / longest, physical[2]! / longest);
      u.uSize!.value = state.size;
      u.uSteps!.value = Math.min(MAX_STEPS, Math.ceil(Math.hypot(X, Y, Z) * 1.2));
      m.scale.copy(state.size);
    } else if (volume && state.texture && volume.version !== state.drawnVersion) {
      const changes = volume.changesSince(state.drawnVersion);
      if (changes === null) {
        state.texture.needsUpdate = true;
      } else {
        for (const brick of changes) {
          // Only the brick's voxels go to the GPU: a texSubImage3D at its offset.
          const source = new THREE.Data3DTexture(brick.data, ...brick.size);
          source.format = THREE.RedFormat;
          source.type = THREE.UnsignedByteType;
          source.unpackAlignment = 1;
          gl.copyTextureToTexture(source, state.texture, null, brickScratch.set(...brick.offset));
        }
      }
      state.drawnVersion = volume.version;
      const latest = frames.get(run, streamKey('full', 'volume'));
      if (latest) stats.recordDraw('volume', latest);
    }

    if (s.colormap !== state.colormap) {
      lut.image.data = colormapLut(s.colormap);
      lut.needsUpdate = true;
    }
    if (s.transfer !== state.transfer || s.colormap !== state.colormap) {
      transfer.image.data = transferTable(s.transfer, colormapLut(s.colormap));
      transfer.needsUpdate = true;
      state.transfer = s.transfer;
      state.colormap = s.colormap;
    }
    const range = volume?.range ?? [0, 1];
    const span = Math.max(range[1] - range[0], Number.EPSILON);
    const w = s.window ?? { min: range[0], max: range[1] };
    (u.uWindow!.value as THREE.Vector2).set((w.min - range[0]) / span, (w.max - range[0]) / span);
    u.uMode!.value = MODE_INDEX[s.volumeMode];
    u.uIso!.value = s.isoLevel;
    (u.uClipMin!.value as THREE.Vector3).set(s.clip[0][0], s.clip[1][0], s.clip[2][0]);
    (u.uClipMax!.value as THREE.Vector3).set(s.clip[0][1], s.clip[1][1], s.clip[2][1]);
    // The shader marches in the box's own frame (before scaling): camera position there.
    m.updateWorldMatrix(true, false);
    cameraLocal.copy(camera.position);
    m.worldToLocal(cameraLocal);
    (u.uCamera!.value as THREE.Vector3).copy(cameraLocal).multiply(state.size);

    updateExtras(extras, volume, state.size, frames, run, s, planes);
  });

  return (
    <>
      <mesh ref={mesh} geometry={geometry} material={material} visible={false} />
      <primitive object={extras} />
    </>
  );
}

function dataTexture(data: Uint8Array): THREE.DataTexture {
  const t = new THREE.DataTexture(data, LUT_SIZE, 1, THREE.RGBAFormat, THREE.UnsignedByteType);
  t.minFilter = t.magFilter = THREE.LinearFilter;
  t.needsUpdate = true;
  return t;
}

function disposeGroup(group: THREE.Group): void {
  group.traverse((o) => {
    const line = o as THREE.LineSegments;
    line.geometry?.dispose();
    (line.material as THREE.Material | undefined)?.dispose?.();
  });
  group.clear();
}

/** Edges of an axis-aligned box (12 segments) between two corners. */
function boxEdges(
  min: THREE.Vector3,
  max: THREE.Vector3,
  colour: number,
  opacity = 1,
): THREE.LineSegments {
  const box = new THREE.Box3(min, max);
  const helper = new THREE.Box3Helper(box, colour);
  const material = helper.material as THREE.LineBasicMaterial;
  material.transparent = opacity < 1;
  material.opacity = opacity;
  return helper;
}

/** A rectangle across the box at `t` ∈ [0, 1] along `axis`. */
function planeOutline(
  axis: 0 | 1 | 2,
  t: number,
  size: THREE.Vector3,
  colour: number,
): THREE.LineSegments {
  const min = size.clone().multiplyScalar(-0.5);
  const max = size.clone().multiplyScalar(0.5);
  const at = (t - 0.5) * size.getComponent(axis);
  min.setComponent(axis, at);
  max.setComponent(axis, at);
  return boxEdges(min, max, colour, 0.9);
}

/** Rebuilds the line overlays when what they show changed (rare), keyed by a string. */
function updateExtras(
  group: THREE.Group,
  volume: VolumeAssembly | null,
  size: THREE.Vector3,
  frames: FrameStore,
  run: string,
  s: ReturnType<ViewerStore['getState']>,
  planes?: PlaneStore,
): void {
  const shape =
    volume?.shape ??
    PLANES.map((p) => frames.get(run, streamKey('full', p))?.frame.header.volumeShape).find(
      Boolean,
    );
  if (!shape) return;
  const positions = planeFractions(frames, run, planes);
  const roi = frames.get(run, streamKey('roi', 'xy'))?.frame.header.region;
  const key = JSON.stringify([size.toArray(), shape, positions, roi, s.clip, s.selected]);
  if (group.userData.key === key) return;
  group.userData.key = key;
  disposeGroup(group);
  const half = size.clone().multiplyScalar(0.5);
  group.add(boxEdges(half.clone().negate(), half, 0x30363d));
  // Axes from the volume's origin corner, one box edge long, coloured like the crosshairs.
  const origin = half.clone().negate();
  const axes = new THREE.BufferGeometry().setFromPoints(
    [0, 1, 2].flatMap((a) => {
      const end = origin.clone();
      end.setComponent(a, end.getComponent(a) + size.getComponent(a) * 1.15);
      return [origin, end];
    }),
  );
  axes.setAttribute(
    'color',
    new THREE.Float32BufferAttribute(
      AXIS_COLOURS.flatMap((c) => {
        const col = new THREE.Color(c);
        return [col.r, col.g, col.b, col.r, col.g, col.b];
      }),
      3,
    ),
  );
  group.add(new THREE.LineSegments(axes, new THREE.LineBasicMaterial({ vertexColors: true })));
  PLANES.forEach((plane, i) => {
    const fraction = positions[i];
    if (fraction === undefined) return;
    const normal = PLANE_AXES[plane].normal;
    group.add(planeOutline(normal, fraction, size, AXIS_COLOURS[normal]));
  });
  const clipped = s.clip.some(([a, b]) => a > 0 || b < 1);
  if (clipped) {
    const lo = new THREE.Vector3(s.clip[0][0], s.clip[1][0], s.clip[2][0])
      .subScalar(0.5)
      .multiply(size);
    const hi = new THREE.Vector3(s.clip[0][1], s.clip[1][1], s.clip[2][1])
      .subScalar(0.5)
      .multiply(size);
    group.add(boxEdges(lo, hi, 0xffffff, 0.6));
  }
  if (roi) {
    const norm = (v: number, a: number) => (v / shape[a]! - 0.5) * size.getComponent(a);
    const lo = new THREE.Vector3(norm(roi.x[0], 0), norm(roi.y[0], 1), norm(roi.z[0], 2));
    const hi = new THREE.Vector3(norm(roi.x[1], 0), norm(roi.y[1], 1), norm(roi.z[1], 2));
    group.add(boxEdges(lo, hi, 0xd29922));
  }
  if (s.selected) {
    const p = new THREE.Vector3(
      ...s.selected.map((v, a) => ((v + 0.5) / shape[a]! - 0.5) * size.getComponent(a)),
    );
    const marker = new THREE.Mesh(
      new THREE.SphereGeometry(0.012, 12, 8),
      new THREE.MeshBasicMaterial({ color: 0xffffff }),
    );
    marker.position.copy(p);
    group.add(marker);
  }
}

import { type ParameterDeclaration, RECON_FILTERS, ReconFilter } from '@/lib/protocol';

export interface ReferenceParameters {
  rotationCentre: number;
  filter: ReconFilter;
  /** Counts above the 3×3 median that make a zinger; 0: off. */
  dezinger: number;
  ringRemoval: boolean;
  /** Columns the ring removal's median spans (odd). */
  ringWidth: number;
  paganin: boolean;
  energy: number;
  distance: number;
  deltaOverBeta: number;
  pixelSize: number;
}

const FILTER_LABELS: Record<ReconFilter, string> = {
  ramp: 'Ramp',
  'shepp-logan': 'Shepp–Logan',
  hann: 'Hann',
  parzen: 'Parzen',
  none: 'None (back-projection)',
};

/** What the reference consumer declares at registration, for a detector and its starting values. */
export function referenceParameters(
  detector: { width: number; pixelSizeUm: number },
  start: { filter?: ReconFilter; rotationCentre?: number } = {},
): ParameterDeclaration[] {
  const restarts = true;
  return [
    {
      name: 'rotationCentre',
      label: 'Rotation centre',
      description: 'Detector column of the rotation axis, from the left edge (sub-pixel).',
      type: 'number',
      unit: 'px',
      min: 0,
      max: detector.width,
      step: 0.1,
      default: start.rotationCentre ?? detector.width / 2,
      group: 'Reconstruction',
    },
    {
      name: 'filter',
      label: 'Filter',
      description: 'Ramp filter window of the filtered back-projection.',
      type: 'enum',
      choices: RECON_FILTERS.map((value) => ({ value, label: FILTER_LABELS[value] })),
      default: start.filter ?? 'shepp-logan',
      group: 'Reconstruction',
      restarts,
    },
    {
      name: 'dezinger',
      label: 'Dezinger threshold',
      description:
        'A pixel this far above its 3×3 median is a zinger and takes the median; 0 is off.',
      type: 'number',
      unit: 'counts',
      min: 0,
      max: 65535,
      step: 50,
      default: 0,
      group: 'Corrections',
      restarts,
    },
    {
      name: 'ringRemoval',
      label: 'Ring removal',
      description: 'Removes rings from miscalibrated detector pixels (column-mean smoothing).',
      type: 'boolean',
      default: false,
      group: 'Corrections',
      restarts,
    },
    {
      name: 'ringWidth',
      label: 'Ring filter width',
      description: 'Columns the median across the detector spans; wider removes wider rings.',
      type: 'integer',
      unit: 'px',
      min: 3,
      max: 101,
      step: 2,
      default: 21,
      group: 'Corrections',
      restarts,
    },
    {
      name: 'paganin',
      label: 'Paganin phase retrieval',
      description: 'Single-distance phase retrieval for a homogeneous sample (Paganin 2002).',
      type: 'boolean',
      default: false,
      group: 'Phase retrieval',
      restarts,
    },
    {
      name: 'energy',
      label: 'Energy',
      type: 'number',
      unit: 'keV',
      min: 1,
      max: 200,
      step: 0.5,
      default: 25,
      group: 'Phase retrieval',
      restarts,
    },
    {
      name: 'distance',
      label: 'Propagation distance',
      description: 'Sample to detector.',
      type: 'number',
      unit: 'mm',
      min: 0.1,
      max: 10_000,
      step: 10,
      default: 100,
      group: 'Phase retrieval',
      restarts,
    },
    {
      name: 'deltaOverBeta',
      label: 'δ/β',
      description: 'Ratio of the refractive index decrement to the absorption index.',
      type: 'number',
      min: 1,
      max: 100_000,
      step: 50,
      default: 500,
      group: 'Phase retrieval',
      restarts,
    },
    {
      name: 'pixelSize',
      label: 'Pixel size',
      description: 'Detector pixel at the sample.',
      type: 'number',
      unit: 'µm',
      min: 0.01,
      max: 1000,
      step: 0.1,
      default: detector.pixelSizeUm,
      group: 'Phase retrieval',
      restarts,
    },
  ];
}

import type { ReconFilter } from '@/lib/protocol';
import type { ReconGrid, StoreLayout } from './backproject';
import { ProjectionFilter } from './ProjectionFilter';
import { type AreaWeights, areaWeights, resampleImage } from './resampleArea';

let nextId = 1;

/**
 * Filtered projections for one reconstruction grid, in shared memory so back-projection workers
 * read them without copies. Each projection is area-binned to the grid's pitch (columns across the
 * whole detector, rows on the grid's z planes), then ramp-filtered row by row.
 */
export class FilteredStore {
  readonly id = nextId++;
  readonly layout: StoreLayout;
  readonly buffer: SharedArrayBuffer;
  readonly data: Float32Array;
  private readonly across: AreaWeights;
  private readonly along: AreaWeights;
  private readonly binned: Float32Array;
  private filter: ProjectionFilter;

  constructor(
    readonly grid: ReconGrid,
    detector: { width: number; height: number },
    slots: number,
    filter: ReconFilter,
  ) {
    const spacing = grid.spacing;
    const cols = Math.ceil(detector.width / spacing - 1e-9);
    const rows = grid.shape[2];
    this.layout = { cols, rows, spacing, uStart: 0, slots };
    this.across = areaWeights(detector.width, 0, spacing, cols);
    this.along = areaWeights(detector.height, grid.zStart, spacing, rows);
    this.buffer = new SharedArrayBuffer(slots * rows * cols * Float32Array.BYTES_PER_ELEMENT);
    this.data = new Float32Array(this.buffer);
    this.binned = new Float32Array(rows * cols);
    this.filter = new ProjectionFilter(filter, cols, spacing);
  }

  get filterName(): ReconFilter {
    return this.filter.filter;
  }

  setFilter(filter: ReconFilter): void {
    if (filter !== this.filter.filter)
      this.filter = new ProjectionFilter(filter, this.layout.cols, this.layout.spacing);
  }

  /** Bins and filters one corrected projection (−log, detector rows × columns) into `slot`. */
  write(slot: number, corrected: Float32Array, detectorWidth: number): void {
    const { rows, cols } = this.layout;
    resampleImage(corrected, detectorWidth, this.across, this.along, this.binned);
    this.filter.filterRows(this.binned, this.data, rows, 0, slot * rows * cols);
  }

  /** Bytes of shared memory held. */
  get bytes(): number {
    return this.buffer.byteLength;
  }
}

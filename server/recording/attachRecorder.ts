import type { CommandRecord, RecordingMarker, RunState, RunSummary } from '@/lib/protocol';
import type { RunRegistry } from '../streams/RunRegistry';
import type { Recorder } from './Recorder';

interface CommandEvents {
  on(event: 'state', listener: (command: CommandRecord) => void): unknown;
}

const MARKER_KIND: Partial<Record<CommandRecord['kind'], RecordingMarker['kind']>> = {
  zoom: 'zoom',
  'reset-zoom': 'zoom',
  capture: 'capture',
  'set-parameters': 'parameters',
};

/**
 * Feeds the recorder: every frame the registry accepts (one listener on its `frame` event, which
 * only queues), the producer's own metrics samples, a marker per command that reached a final
 * state, and one per run state change.
 */
export function attachRecorder(
  recorder: Recorder,
  registry: RunRegistry,
  commands: CommandEvents,
): void {
  registry.on('frame', (run, frame) => recorder.record(run, frame));
  registry.on('producer-metrics', (run, sample) => recorder.recordMetrics(run, sample, Date.now()));
  commands.on('state', (command) => {
    if (command.state !== 'applied' && command.state !== 'rejected' && command.state !== 'failed')
      return;
    recorder.mark(command.run, {
      t: command.updatedAt,
      kind: MARKER_KIND[command.kind] ?? 'command',
      label: `${command.kind} ${command.state}`.slice(0, 200),
    });
  });
  const states = new Map<string, RunState>();
  registry.on('run', (summary: RunSummary) => {
    if (states.get(summary.id) === summary.state) return;
    states.set(summary.id, summary.state);
    recorder.mark(summary.id, {
      t: summary.updatedAt,
      kind: 'state',
      label: `state: ${summary.state}`,
    });
  });
}

import { facilityAdapters, slurmSource } from './facilityAdapters';
import { JobProfile } from './sites/SitesConfig';
import { simulatorSites, simulatorTokenEnv } from './sites/simulatorSites';
import { FacilityService, type FacilityServiceOptions } from './FacilityService';
import { SlurmAdapter } from './slurm/SlurmAdapter';
import { RECON_EXECUTABLE } from './slurm/slurmSite';
import {
  startFacilitySimulator,
  type FacilitySimulator,
  type FacilitySimulatorOptions,
} from './simulator/startFacilitySimulator';

export interface EmbeddedFacilities {
  simulator: FacilitySimulator;
  service: FacilityService;
  close(): Promise<void>;
}

/** The token the embedded simulator accepts and the embedded service presents. */
const EMBEDDED_TOKEN = 'loupe-embedded-simulator';

/**
 * The embedded default: the facility simulator on loopback and a FacilityService polling it over
 * HTTP with the same adapters that read the real services. Jobs Loupe submits through the service
 * become observed waits when the simulator starts them.
 */
export async function startEmbeddedFacilities(options: {
  /** The gateway's store, or a SQLite handle or path (tests). */
  db: FacilityServiceOptions['db'];
  simulator?: FacilitySimulatorOptions;
  service?: Partial<Omit<FacilityServiceOptions, 'adapters' | 'db'>>;
  /** Start polling now (default); false when a lease decides when this gateway polls. */
  poll?: boolean;
}): Promise<EmbeddedFacilities> {
  const simulator = await startFacilitySimulator({
    seed: 1,
    // One simulated minute per real second: queues move visibly within a demo.
    speed: 60,
    tokens: [EMBEDDED_TOKEN],
    ...options.simulator,
  });
  const speed = options.simulator?.manualClock ? 1 : (options.simulator?.speed ?? 60);
  const token = options.simulator?.tokens?.[0] ?? EMBEDDED_TOKEN;
  const built = facilityAdapters(simulatorSites(simulator.urls, token), {
    env: simulatorTokenEnv(token),
  });
  const service = new FacilityService({
    sources: [
      ...built.sources,
      // The beamline's own cluster through the simulator's slurmrestd; its jobs' consumers are
      // started by SimulatedJobRunner when the simulated scheduler starts them, not by a script.
      ...Object.entries(simulator.urls.slurm).map(([system, baseUrl]) =>
        slurmSource(
          new SlurmAdapter({
            facility: 'APS',
            systems: [{ system, name: 'Beamline cluster', partitions: ['beamline'] }],
            client: { baseUrl, version: 'v0.0.38', user: 'loupe', token },
            job: { directory: '/home/loupe', commands: { [RECON_EXECUTABLE]: [RECON_EXECUTABLE] } },
          }),
        ),
      ),
    ],
    jobProfiles: new Map([
      ...built.jobProfiles,
      ...Object.keys(simulator.urls.slurm).map((system) => [system, JobProfile.parse({})] as const),
    ]),
    totalNodes: built.totalNodes,
    db: options.db,
    now: () => simulator.now(),
    // A feed's age is measured on the simulated clock, so the real poll interval is scaled to it.
    clockRate: speed,
    // Simulated time runs fast; poll often enough that a card's numbers move.
    intervalMs: 5000,
    ...options.service,
  });
  simulator.events.on('job:start', (e) => {
    const job = simulator.models.get(e.system)?.jobs.get(e.modelJobId);
    if (!job || job.start === null) return;
    service.recordWait(e.system, {
      id: e.jobId,
      queue: job.queue,
      nodes: job.nodes,
      walltimeS: job.walltimeS,
      submit: job.submit,
      start: job.start,
    });
  });
  if (options.poll !== false) service.start();
  return {
    simulator,
    service,
    async close() {
      service.stop();
      await simulator.close();
    },
  };
}

'use client';

import { testIds } from '@/lib/testIds';
import { useFacilities } from '@/stores/StoreProvider';
import { EstimateForm } from './EstimateForm';
import { FacilityCard } from './FacilityCard';
import { IncidentList } from './IncidentList';
import { RecommendationView } from './RecommendationView';
import { SiteDecisionLog } from './SiteDecisionLog';
import { useFacilitiesFeed } from './useFacilitiesFeed';

/** Every compute system at a glance, where the next job should go, and who decided. */
export function FacilitiesPage() {
  useFacilitiesFeed();
  // A top-level array: useShallow compares it element by element.
  const ids = useFacilities((s) => Object.keys(s.systems).sort());
  const loaded = useFacilities((s) => s.loaded);
  return (
    <div className="space-y-4">
      <div className="grid gap-4 lg:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
        <section className="rounded-lg border border-edge bg-panel p-3">
          <h2 className="mb-2 text-sm font-semibold tracking-wide text-muted uppercase">
            Where should the next job go?
          </h2>
          <EstimateForm />
          <div className="mt-3">
            <RecommendationView />
          </div>
        </section>
        <div className="space-y-4">
          <SiteDecisionLog />
          <IncidentList />
        </div>
      </div>
      {!loaded ? (
        <p className="text-muted">Waiting for the gateway’s first facility reading…</p>
      ) : ids.length === 0 ? (
        <p className="text-muted">The gateway reads no facility.</p>
      ) : (
        <div
          data-testid={testIds.facilityCards}
          className="grid gap-3 md:grid-cols-2 2xl:grid-cols-4"
        >
          {ids.map((id) => (
            <FacilityCard key={id} system={id} />
          ))}
        </div>
      )}
    </div>
  );
}

import { FacilitiesSummary } from '@/components/facilities/FacilitiesSummary';
import { RunList } from '@/components/runs/RunList';

export default function OverviewPage() {
  return (
    <div className="space-y-6">
      <section>
        <h1 className="mb-3 text-xl font-semibold">Runs</h1>
        <RunList />
      </section>
      <section>
        <h2 className="mb-3 text-xl font-semibold">Compute facilities</h2>
        <FacilitiesSummary />
      </section>
    </div>
  );
}

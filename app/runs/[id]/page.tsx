import { RunPage } from '@/components/runs/RunPage';
import { SteeringPanel } from '@/components/steering/SteeringPanel';

export default async function RunRoute({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const runId = decodeURIComponent(id);
  return (
    <div className="grid grid-cols-1 gap-4 xl:grid-cols-[1fr_320px]">
      <RunPage runId={runId} />
      <SteeringPanel runId={runId} />
    </div>
  );
}

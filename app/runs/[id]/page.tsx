import { RunPage } from '@/components/runs/RunPage';

export default async function RunRoute({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <RunPage runId={decodeURIComponent(id)} />;
}

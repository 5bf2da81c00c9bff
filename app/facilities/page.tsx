import { FacilitiesPage } from '@/components/facilities/FacilitiesPage';

export default function FacilitiesRoute() {
  return (
    <div className="space-y-3">
      <h1 className="text-xl font-semibold">Compute facilities</h1>
      <FacilitiesPage />
    </div>
  );
}

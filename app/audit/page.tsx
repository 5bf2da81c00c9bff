import { AuditTable } from '@/components/audit/AuditTable';

export default function AuditPage() {
  return (
    <div className="space-y-3">
      <h1 className="text-xl font-semibold">Audit log</h1>
      <p className="text-sm text-muted">
        Every command, every refusal and every site decision, append-only.
      </p>
      <AuditTable />
    </div>
  );
}

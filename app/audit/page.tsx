import { AuditTable } from '@/components/audit/AuditTable';

export default function AuditPage() {
  return (
    <div className="space-y-3">
      <h1 className="text-xl font-semibold">Audit log</h1>
      <p className="text-sm text-muted">
        Every steering attempt (replays and denials included) and every site decision, one row each;
        refusals counted per caller, reason and minute. Rows hold an allow-listed summary of each
        request, never its body, and are hash-chained: <code>npm run audit:verify</code> finds a row
        edited, deleted or moved.
      </p>
      <AuditTable />
    </div>
  );
}

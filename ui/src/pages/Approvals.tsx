// The approvals inbox (/approvals): the approval steps of running executions that wait for the
// caller's decision (GET /approvals), each a card with its workflow, message, execution, progress,
// approvers, deadline and earlier decisions, and the decide form (./Waiting.tsx). "Show all
// waiting" lists those the caller may read but not decide now (?mine=false), without a form.
import { useId, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import type { Approval } from '../lib/api';
import { useAuth } from '../lib/auth';
import { Empty, ErrorBox, Spinner } from '../lib/ui';
import { useWorkflows } from './ScheduleForm';
import { ApprovalFacts, DecideForm, whyNot } from './Waiting';
import { approvalsQuery } from './ApprovalsCount';

function ApprovalCard({ a, workflow }: { a: Approval; workflow?: string }) {
  const { user } = useAuth();
  const title = useId();
  const name = workflow ?? `Workflow ${a.workflow_id.slice(-8)}`;
  return (
    <article className="card approval-card" aria-labelledby={title} data-testid="approval-card" data-execution={a.execution_id} data-can-decide={a.can_decide}>
      <header className="approval-head">
        <div>
          <h2 id={title}>
            {name} <span className="muted">·</span> <code>{a.component_id}</code>
          </h2>
          <p className="muted small">
            <Link to={`/workflows/${a.workflow_id}/design`}>Open the workflow</Link>
          </p>
        </div>
        <span className={`badge ${a.can_decide ? 'st-waiting' : 'st-pending'} wait-badge`}>{a.can_decide ? 'waiting for you' : 'waiting for others'}</span>
      </header>
      {a.message && <p className="approval-message">{a.message}</p>}
      <ApprovalFacts a={a} execution />
      {a.can_decide ? (
        <DecideForm key={`${a.execution_id}-${a.component_id}-${a.round}`} a={a} />
      ) : (
        <p className="muted small approval-status" data-testid="cannot-decide">
          {whyNot(a, user)}
        </p>
      )}
    </article>
  );
}

export default function Approvals() {
  const [sp, setSp] = useSearchParams();
  // The checkbox's own state, the address following it (a navigation is a transition: a box
  // driven by the address alone would spring back until it lands).
  const [all, setAll] = useState(() => sp.get('all') === '1');
  const q = useQuery(approvalsQuery(all));
  const wfs = useWorkflows();
  const names = new Map((wfs.data ?? []).map((w) => [w.id, w.name]));
  const toggle = (v: boolean) => {
    setAll(v);
    const n = new URLSearchParams(sp);
    if (v) n.set('all', '1');
    else n.delete('all');
    setSp(n, { replace: true });
  };
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Approvals</h1>
          <p className="muted">Steps of running workflows that wait for a decision. Approving or rejecting one lets its run go on.</p>
        </div>
      </header>
      <div className="filters approvals-filters">
        <label className="inline">
          <input type="checkbox" checked={all} onChange={(e) => toggle(e.target.checked)} /> Show all waiting
        </label>
        <span className="muted small">(also those you may not decide now)</span>
      </div>
      <ErrorBox error={q.error} />
      {q.isLoading ? (
        <Spinner />
      ) : q.data?.length === 0 ? (
        <Empty>{all ? 'No approval is waiting.' : 'Nothing is waiting for your decision.'}</Empty>
      ) : (
        q.data && (
          <div className="approval-list">
            {q.data.map((a) => (
              <ApprovalCard key={`${a.execution_id}/${a.component_id}/${a.round}`} a={a} workflow={names.get(a.workflow_id)} />
            ))}
          </div>
        )
      )}
    </div>
  );
}

// The count of approvals waiting for the caller, next to "Approvals" in the navigation (the shell
// loads it lazily, as it does the bell), refreshed every 10 s and whenever a decision is sent.
import { useQuery } from '@tanstack/react-query';
import { api, type Approval } from '../lib/api';

/** The approvals the caller may decide now (mine), or all those waiting that the caller may read. */
export const approvalsQuery = (all: boolean) => ({
  queryKey: ['approvals', all ? 'all' : 'mine'],
  queryFn: () => api<Approval[]>(`approvals${all ? '?mine=false' : ''}`),
  refetchInterval: 10_000,
});

/**
 * The count beside the link, and the link's description (its aria-describedby names `id`): the
 * count, or that none waits. Hidden from the accessibility tree itself (a description still
 * reads hidden text), so it is not read twice.
 */
export default function ApprovalsCount({ id }: { id: string }) {
  const q = useQuery(approvalsQuery(false));
  const n = q.data?.length ?? 0;
  return (
    <span id={id} className={n ? 'nav-count' : 'sr-only'} aria-hidden="true" data-testid="approvals-count" data-count={n}>
      {n ? (
        <>
          {n}
          <span className="sr-only"> waiting for you</span>
        </>
      ) : (
        'none waiting for you'
      )}
    </span>
  );
}

// The route table: the shell builds its navigation from it, so a new page is one entry here.
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';

export interface RouteEntry {
  path: string;
  page: LazyExoticComponent<ComponentType<any>>;
  nav?: {
    label: string;
    icon: string;
    admin?: boolean;
    /** A count next to the label (loaded lazily), whose element gets the id it is given: the link's description. */
    count?: LazyExoticComponent<ComponentType<{ id: string }>>;
  };
}

export const routes: RouteEntry[] = [
  { path: '/workflows', page: lazy(() => import('./pages/Workflows')), nav: { label: 'Workflows', icon: 'workflows' } },
  { path: '/workflows/:id/design', page: lazy(() => import('./designer/Designer')) },
  { path: '/workflows/:id/webhooks', page: lazy(() => import('./pages/Webhooks')) },
  { path: '/executions', page: lazy(() => import('./pages/Executions')), nav: { label: 'Executions', icon: 'executions' } },
  { path: '/executions/:id', page: lazy(() => import('./pages/ExecutionView')) },
  {
    path: '/approvals',
    page: lazy(() => import('./pages/Approvals')),
    nav: { label: 'Approvals', icon: 'approvals', count: lazy(() => import('./pages/ApprovalsCount')) },
  },
  { path: '/schedules', page: lazy(() => import('./pages/Schedules')), nav: { label: 'Schedules', icon: 'schedules' } },
  { path: '/schedules/:id', page: lazy(() => import('./pages/ScheduleView')) },
  { path: '/files', page: lazy(() => import('./pages/Files')), nav: { label: 'Files', icon: 'files' } },
  { path: '/dashboard', page: lazy(() => import('./pages/Dashboard')), nav: { label: 'Dashboard', icon: 'dashboard' } },
  { path: '/admin/credentials', page: lazy(() => import('./pages/admin/Credentials')), nav: { label: 'Credentials', icon: 'key' } },
  { path: '/admin/keys', page: lazy(() => import('./pages/admin/ApiKeys')), nav: { label: 'API keys', icon: 'keys' } },
  { path: '/admin/users', page: lazy(() => import('./pages/admin/Users')), nav: { label: 'Users & roles', icon: 'users', admin: true } },
  { path: '/admin/audit', page: lazy(() => import('./pages/admin/Audit')), nav: { label: 'Audit log', icon: 'audit', admin: true } },
];

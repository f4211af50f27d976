// Inline stroke icons (no icon font, no network): one path set per name.
const P: Record<string, string> = {
  workflows: 'M4 6h6v5H4zM14 13h6v5h-6zM10 8.5h2a2 2 0 0 1 2 2v5',
  executions: 'M7 5l11 7-11 7z',
  dashboard: 'M4 20V10M10 20V4M16 20v-7M22 20H2',
  key: 'M15 7a4 4 0 1 1-3.5 6L4 20.5M7 17.5l2 2M9.5 15l2 2',
  keys: 'M4 12h10M10 8l4 4-4 4M18 5v14',
  users: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21a7 7 0 0 1 14 0M17 11a3 3 0 1 0 0-6M22 21a6 6 0 0 0-4-5.6',
  schedules: 'M5 5h14a1 1 0 0 1 1 1v13a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zM4 10h16M8 3v4M16 3v4M12 13v3l2 1',
  files: 'M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z',
  audit: 'M6 3h9l4 4v14H6zM9 10h7M9 14h7M9 18h4',
  graphql: 'M12 3l8 4.5v9L12 21l-8-4.5v-9zM12 3v18M4 7.5l16 9M20 7.5l-16 9',
  start: 'M8 5l11 7-11 7z',
  end: 'M6 6h12v12H6z',
  task: 'M5 12l4 4 10-10',
  delay: 'M12 7v5l3 2M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z',
  transform: 'M4 8h13l-3-3M20 16H7l3 3',
  http_request: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18',
  condition: 'M12 3l9 9-9 9-9-9z',
  switch: 'M5 4v5a4 4 0 0 0 4 4h10M15 9l4 4-4 4M5 20v-7',
  script_execution: 'M8 7l-5 5 5 5M16 7l5 5-5 5',
  database_query: 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zM4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
  email: 'M3 6h18v12H3zM3 6l9 7 9-7',
  file_operation: 'M6 3h8l5 5v13H6zM14 3v5h5',
  for_each: 'M4 12a8 8 0 0 1 14-5.3M20 4v4h-4M20 12a8 8 0 0 1-14 5.3M4 20v-4h4',
  sub_workflow: 'M4 4h10v10H4zM10 10h10v10H10z',
  approval: 'M7 11V6a2 2 0 0 1 4 0v5M11 10V4a2 2 0 0 1 4 0v7M15 9a2 2 0 0 1 4 0v5a7 7 0 0 1-14 0v-3a2 2 0 0 1 2-2',
  wait_for_event: 'M5 21V4M5 4h12l-2.5 4L17 12H5',
  approvals: 'M9 12l2 2 4-4M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z',
  sun: 'M12 17a5 5 0 1 0 0-10 5 5 0 0 0 0 10zM12 1v2M12 21v2M4.2 4.2l1.4 1.4M18.4 18.4l1.4 1.4M1 12h2M21 12h2M4.2 19.8l1.4-1.4M18.4 5.6l1.4-1.4',
  moon: 'M21 12.8A9 9 0 1 1 11.2 3 7 7 0 0 0 21 12.8z',
  undo: 'M9 14L4 9l5-5M4 9h11a5 5 0 0 1 0 10h-3',
  redo: 'M15 14l5-5-5-5M20 9H9a5 5 0 0 0 0 10h3',
  layout: 'M3 3h7v7H3zM14 3h7v7h-7zM14 14h7v7h-7zM3 14h7v7H3z',
  fit: 'M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5',
  help: 'M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3M12 17h.01M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z',
  dot: 'M12 16a4 4 0 1 0 0-8 4 4 0 0 0 0 8z',
};

export function Icon({ name, size = 16 }: { name: string; size?: number }) {
  const d = P[name] ?? P.dot;
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false">
      <path d={d} />
    </svg>
  );
}

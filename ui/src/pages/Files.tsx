// The caller's own file store (/api/v1/files, the same one apg_file_management reads and
// writes): list, upload, download, delete. Viewers may only list and download, so they get no
// upload or delete controls (the server refuses those with 403 anyway).
import { useRef, useState, type ChangeEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, apiBlob } from '../lib/api';
import { can, useAuth } from '../lib/auth';
import { ago } from '../lib/format';
import { Empty, ErrorBox, Modal, Spinner, useToast } from '../lib/ui';

interface StoredFile {
  name: string;
  size: number;
  modified: string;
}

export function bytes(n: number) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function save(name: string, blob: Blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(a.href);
    a.remove();
  }, 1000);
}

const path = (name: string) => `files/${encodeURIComponent(name)}`;

export default function Files() {
  const qc = useQueryClient();
  const toast = useToast();
  const { user } = useAuth();
  const write = can(user, 'run');
  const input = useRef<HTMLInputElement>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const q = useQuery({ queryKey: ['files'], queryFn: () => api<StoredFile[]>('files') });
  const done = () => qc.invalidateQueries({ queryKey: ['files'] });
  const upload = useMutation({
    // One after another: each is its own request, and the first failure stops the rest.
    mutationFn: async (files: File[]) => {
      for (const f of files) await api(path(f.name), { method: 'PUT', blob: f });
      return files;
    },
    onSuccess: (files) => toast(files.length === 1 ? `Uploaded “${files[0].name}”` : `Uploaded ${files.length} files`),
    onSettled: () => {
      if (input.current) input.current.value = '';
      done();
    },
  });
  const download = useMutation({
    mutationFn: async (name: string) => save(name, await apiBlob(path(name))),
  });
  const del = useMutation({
    mutationFn: (name: string) => api(path(name), { method: 'DELETE' }),
    onSuccess: (_, name) => {
      toast(`Deleted “${name}”`);
      setConfirm(null);
    },
    onSettled: done,
  });
  const pick = (e: ChangeEvent<HTMLInputElement>) => {
    const files = Array.from(e.target.files ?? []);
    if (files.length) upload.mutate(files);
  };
  const failure = upload.error ?? download.error ?? (confirm ? null : del.error);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Files</h1>
          <p className="muted">
            Your own file store, also used by workflows' <code>apg_file_management</code> steps.
            {write ? ' Uploading a file of the same name replaces it.' : ' You may download files; uploading and deleting need a role that runs workflows.'}
          </p>
        </div>
        {write && (
          <label className="btn primary file-pick">
            {upload.isPending ? 'Uploading…' : 'Upload files'}
            <input ref={input} type="file" multiple className="sr-only" data-testid="file-upload" onChange={pick} disabled={upload.isPending} />
          </label>
        )}
      </header>
      <ErrorBox error={failure} />
      <ErrorBox error={q.error} />
      {q.isLoading ? (
        <Spinner />
      ) : q.data?.length === 0 ? (
        <Empty>No files yet.</Empty>
      ) : (
        q.data && (
          <div className="card table-wrap">
            <table className="table" aria-label="Files">
              <thead>
                <tr>
                  <th>Name</th>
                  <th className="num">Size</th>
                  <th>Modified</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {q.data.map((f) => (
                  <tr key={f.name} data-testid="file-row">
                    <td className="strong mono">{f.name}</td>
                    <td className="num" title={`${f.size} bytes`}>
                      {bytes(f.size)}
                    </td>
                    <td>
                      <time dateTime={f.modified} title={f.modified}>
                        {ago(f.modified)}
                      </time>
                    </td>
                    <td className="actions">
                      <button className="btn ghost sm" aria-label={`Download ${f.name}`} onClick={() => download.mutate(f.name)}>
                        Download
                      </button>
                      {write && (
                        <button className="btn ghost sm danger" aria-label={`Delete ${f.name}`} onClick={() => setConfirm(f.name)}>
                          Delete
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
      {confirm && (
        <Modal title={`Delete “${confirm}”?`} onClose={() => setConfirm(null)}>
          <p>The file is removed from your store; workflows that read it will fail. This cannot be undone.</p>
          <ErrorBox error={del.error} />
          <footer className="modal-foot">
            <button className="btn" onClick={() => setConfirm(null)}>
              Cancel
            </button>
            <button className="btn danger-solid" disabled={del.isPending} onClick={() => del.mutate(confirm)}>
              Delete file
            </button>
          </footer>
        </Modal>
      )}
    </div>
  );
}

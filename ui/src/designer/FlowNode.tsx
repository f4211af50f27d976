import { memo } from 'react';
import { Handle, Position, type NodeProps } from '@xyflow/react';
import type { FNode } from './graph';
import { ms } from '../lib/format';
import { Icon } from '../lib/Icon';

export const kindIcon = (k: string) => <Icon name={k} size={16} />;

/** A sub_workflow's or for_each's children on its node: a thin bar, and its count for screen readers. */
function Progress({ p }: { p: NonNullable<FNode['data']['progress']> }) {
  const w = (n: number) => `${(n / p.total) * 100}%`;
  return (
    <span className="fnode-progress" data-testid="node-progress" data-ended={p.ended} data-total={p.total}>
      <span className="st-completed" style={{ width: w(p.completed) }} />
      <span className="st-failed" style={{ width: w(p.failed) }} />
      <span className="st-running" style={{ width: w(p.running) }} />
      <span className="sr-only">
        {p.ended} of {p.total} children ended{p.failed ? `, ${p.failed} failed` : ''}
      </span>
    </span>
  );
}

function FlowNodeImpl({ data, selected }: NodeProps<FNode>) {
  const c = data.comp;
  const errs = data.errors?.length ?? 0;
  const warns = data.warnings?.length ?? 0;
  const status = data.status;
  const name = c.config?.name && c.config.name !== c.id ? c.config.name : null;
  return (
    <div
      className={`fnode k-${c.type} ${status ? `st-${status}` : ''} ${errs ? 'has-error' : ''} ${selected ? 'sel' : ''} ${data.paused ? 'paused' : ''}`}
      data-testid={`node-${c.id}`}
      data-status={status ?? ''}
      data-errors={errs}
      title={[...(data.errors ?? []), ...(data.warnings ?? [])].map((p) => p.message).join('\n') || undefined}
    >
      {c.type !== 'start' && <Handle type="target" position={Position.Left} />}
      {data.breakpoint && <span className="bp-dot" title="Breakpoint"><span className="sr-only">breakpoint</span></span>}
      <span className="fnode-icon" aria-hidden="true">
        {kindIcon(c.type)}
      </span>
      <span className="fnode-text">
        <span className="fnode-title">{name ?? c.id}</span>
        <span className="fnode-sub">
          {c.type}
          {c.config?.task_type ? ` · ${c.config.task_type}` : ''}
          {name ? ` · ${c.id}` : ''}
        </span>
      </span>
      {status && (
        <span className="fnode-status">
          {status === 'running' && data.progress?.total ? `${data.progress.ended}/${data.progress.total}` : data.duration !== undefined && data.duration !== null ? ms(data.duration) : status}
        </span>
      )}
      {data.progress && data.progress.total > 0 && <Progress p={data.progress} />}
      {errs > 0 && (
        <span className="fnode-err" data-testid={`node-error-${c.id}`}>
          {errs}<span className="sr-only"> problems</span>
        </span>
      )}
      {!errs && warns > 0 && (
        <span className="fnode-warn">
          !<span className="sr-only"> warnings</span>
        </span>
      )}
      {c.type !== 'end' && <Handle type="source" position={Position.Right} />}
    </div>
  );
}

export const FlowNode = memo(FlowNodeImpl);
export const nodeTypes = { apg: FlowNode };

import type { TargetedKeyboardEvent } from 'preact';
import { useState } from 'preact/hooks';
import type { TreeNode } from '../types.js';
import { Cost, Status, Tok } from './common.js';
import { Elapsed } from '../pages/overview.js';

interface Flat {
  node: TreeNode;
  depth: number;
  hasChildren: boolean;
}

function flatten(nodes: TreeNode[], collapsed: Set<string>, depth = 0, out: Flat[] = []): Flat[] {
  for (const node of nodes) {
    out.push({ node, depth, hasChildren: node.children.length > 0 });
    if (!collapsed.has(node.agent.id)) flatten(node.children, collapsed, depth + 1, out);
  }
  return out;
}

/**
 * The agent hierarchy with subtree roll-ups. A WAI-ARIA tree: arrow keys move, Right opens or
 * goes to the first child, Left closes or goes to the parent, Enter selects.
 */
export function AgentTree({ roots, selected, onSelect }: { roots: TreeNode[]; selected: string | undefined; onSelect: (agentId: string) => void }) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [focus, setFocus] = useState<string | undefined>(undefined);
  const rows = flatten(roots, collapsed);
  const parentOf = new Map<string, string>();
  const walk = (n: TreeNode): void => n.children.forEach((c) => (parentOf.set(c.agent.id, n.agent.id), walk(c)));
  roots.forEach(walk);
  const focused = focus ?? selected ?? rows[0]?.node.agent.id;
  const toggle = (id: string): void => {
    const next = new Set(collapsed);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setCollapsed(next);
  };
  const move = (id: string | undefined, e: TargetedKeyboardEvent<HTMLElement>): void => {
    if (!id) return;
    e.preventDefault();
    setFocus(id);
    const el = e.currentTarget.parentElement?.querySelector<HTMLElement>(`[data-agent="${CSS.escape(id)}"]`);
    el?.focus();
  };
  const onKey = (e: TargetedKeyboardEvent<HTMLElement>, i: number): void => {
    const row = rows[i]!;
    const id = row.node.agent.id;
    switch (e.key) {
      case 'ArrowDown':
        return move(rows[i + 1]?.node.agent.id, e);
      case 'ArrowUp':
        return move(rows[i - 1]?.node.agent.id, e);
      case 'Home':
        return move(rows[0]?.node.agent.id, e);
      case 'End':
        return move(rows[rows.length - 1]?.node.agent.id, e);
      case 'ArrowRight':
        if (row.hasChildren && collapsed.has(id)) (e.preventDefault(), toggle(id));
        else if (row.hasChildren) move(rows[i + 1]?.node.agent.id, e);
        return;
      case 'ArrowLeft':
        if (row.hasChildren && !collapsed.has(id)) (e.preventDefault(), toggle(id));
        else move(parentOf.get(id), e);
        return;
      case 'Enter':
      case ' ':
        e.preventDefault();
        onSelect(id);
        return;
      default:
        return;
    }
  };
  return (
    <div class="tree" role="tree" aria-label="agents" data-testid="agent-tree">
      <div class="tree-head" aria-hidden="true">
        <span>agent</span>
        <span>status</span>
        <span class="num">tokens</span>
        <span class="num">cost</span>
        <span class="num">duration</span>
      </div>
      {rows.map((r, i) => {
        const a = r.node.agent;
        const open = r.hasChildren ? !collapsed.has(a.id) : undefined;
        return (
          <div
            key={a.id}
            role="treeitem"
            aria-level={r.depth + 1}
            aria-expanded={open}
            aria-selected={selected === a.id}
            tabIndex={focused === a.id ? 0 : -1}
            data-agent={a.id}
            class={`tree-row${selected === a.id ? ' selected' : ''}${a.status === 'failed' || a.status === 'terminated' ? ' failed' : ''}`}
            onClick={() => (setFocus(a.id), onSelect(a.id))}
            onKeyDown={(e) => onKey(e, i)}
            title={a.errorMessage ?? undefined}
          >
            <span class="tree-name" style={{ paddingLeft: `${r.depth * 16}px` }}>
              {r.hasChildren ? (
                <button type="button" tabIndex={-1} class="twisty" aria-label={open ? 'collapse' : 'expand'} onClick={(e) => (e.stopPropagation(), toggle(a.id))}>
                  {open ? '▾' : '▸'}
                </button>
              ) : (
                <span class="twisty" />
              )}
              <span class="name">{a.name}</span>
              {r.node.subtree.agents > 1 && <span class="muted small"> ({r.node.subtree.agents})</span>}
            </span>
            <span>
              <Status status={a.status} />
            </span>
            <span class="num" title={`own ${r.node.own.tokens} · subtree ${r.node.subtree.tokens}`}>
              <Tok n={r.node.subtree.tokens} />
            </span>
            <span class="num">
              <Cost usd={r.node.subtree.costUsd} unpriced={r.node.subtree.unpricedCalls} />
            </span>
            <span class="num">
              <Elapsed agent={a} />
            </span>
            {a.errorMessage && <span class="tree-error err-text">{a.errorMessage}</span>}
          </div>
        );
      })}
    </div>
  );
}

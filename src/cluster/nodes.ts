/**
 * The cluster's fake nodes: Node objects annotated for kwok, which then reports them
 * Ready and runs (pretends to run) their pods.
 */
import { createKubeClient, type KubeObject } from '../runtime/client.ts';
import { Node } from '../runtime/kinds.ts';
import { kwokNodeAnnotation, kwokNodeAnnotationValue } from './kwok-stages.ts';
import { pollUntil } from './probe.ts';
import type { ClusterState } from './state.ts';

/** Name prefix of the fake nodes. */
export const nodeNamePrefix = 'kwok-node-';

/** Creates (applies) `count` fake nodes named `kwok-node-<i>`. */
export async function createNodes(state: ClusterState, count: number): Promise<void> {
  const client = await createKubeClient({ kubeconfigPath: state.kubeconfigPath });
  try {
    for (let i = 0; i < count; i++) {
      const name = `${nodeNamePrefix}${i}`;
      const node: KubeObject = {
        metadata: {
          name,
          annotations: { [kwokNodeAnnotation]: kwokNodeAnnotationValue, 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'node-role.kubernetes.io/agent': '',
            type: 'kwok',
          },
        },
      };
      await client.apply(Node, node, { fieldManager: 'codedance-cluster' });
    }
  } finally {
    await client.close();
  }
}

interface NodeStatus extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

/** Waits until kwok reports `count` nodes Ready (60s). */
export async function waitNodesReady(state: ClusterState, count: number): Promise<void> {
  const client = await createKubeClient({ kubeconfigPath: state.kubeconfigPath });
  let seen = '';
  try {
    await pollUntil(
      `${count} Ready nodes`,
      async () => {
        const nodes = await client.list<NodeStatus>(Node, { labelSelector: 'type=kwok' });
        const ready = nodes.items.filter((node) =>
          node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        seen = `${ready.length}/${nodes.items.length} Ready`;
        return ready.length >= count;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        describe: () => `${seen} (kwok log: ${state.components.kwok?.spec.logPath})`,
      },
    );
  } finally {
    await client.close();
  }
}

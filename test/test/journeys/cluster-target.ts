/**
 * The cluster as a journey sees it (issue 16, item 2 e): a cluster from startCluster() turned into
 * a JourneyTarget. The browser and the operator API go through HAProxy's operator frontend to the
 * control node(s); devices enroll through HAProxy's device frontend and connect through its MQTT
 * frontend to whichever broker node it picks — or, with clusterNodeTarget, straight to one named
 * broker node (so a test knows the device is on a node other than the one serving the dashboard).
 */
import type { ClusterHandle } from '../../src/index.js';
import type { JourneyTarget } from './journey-kit.js';

/** Everything through HAProxy, as a user with one address in front of many machines. */
export function clusterTarget(cluster: ClusterHandle, label = 'cluster'): JourneyTarget {
  return { label, operatorUrl: cluster.operatorUrl, deviceUrl: cluster.haproxy.deviceUrl, mqttUrl: cluster.haproxy.mqttUrl };
}

/**
 * The same, with the device's MQTT connection made straight to broker node `name` (its own
 * 127.0.0.x address; the node's server certificate names localhost and 127.0.0.1, not that address).
 */
export function clusterNodeTarget(cluster: ClusterHandle, name: string): JourneyTarget {
  const node = cluster.node(name);
  if (node.role !== 'broker') throw new Error(`clusterNodeTarget: ${name} is a ${node.role} node, devices connect to broker nodes`);
  return { ...clusterTarget(cluster, `cluster-${name}`), mqttUrl: node.mqttUrl, mqttServername: 'localhost' };
}

/** The broker nodes HAProxy currently has MQTT sessions open to, with their counts. */
export async function brokerSessions(cluster: ClusterHandle): Promise<Record<string, number>> {
  const sessions = await cluster.haproxy.sessions();
  const out: Record<string, number> = {};
  for (const node of cluster.nodes) {
    const count = sessions[`broker_mqtt/${node.name}`] ?? 0;
    if (node.role === 'broker' && count > 0) out[node.name] = count;
  }
  return out;
}

// For the harness's own crash test (test/stages/cluster/harness-crash.test.ts): starts a cluster with one node
// (no images), prints what it made as one JSON line, then waits to be killed (-9), leaving everything behind.
import { startRealCluster } from './index.ts';

const cluster = await startRealCluster();
const node = await cluster.startNode({ name: 'crashed', images: false });
console.log(JSON.stringify({ n: cluster.lan.n, dir: cluster.dir, netns: node.netns, cgroupRoot: node.cgroupRoot, pids: node.pids() }));
setInterval(() => {}, 60_000);

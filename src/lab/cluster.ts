// The practice lab's Cluster port (an in-memory Kubernetes API server); the modules live in ./cluster/,
// the overview of what it models in ./cluster/port.ts.
export { LAB_ADMIN, LabCluster, type LabClusterOptions } from './cluster/port.ts';
export { isDnsLabel } from './cluster/validation.ts';

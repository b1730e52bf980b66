// Step prove: the exported kubeconfig itself runs the proof (proof.ts) and every row must come out as expected.
import type { Json, Outputs, Step } from '../../src/engine/types.ts';
import { asExported, kubeconfigWorks, whoamiOr } from './common.ts';
import { serviceAccountUser } from './manifests.ts';
import { readonlyOptions } from './options.ts';
import { formatProofTable, inClusterExample, runProof } from './proof.ts';

export const proveStep: Step = {
  id: 'prove',
  title: 'Prove it with the exported kubeconfig',
  explain:
    "The exported kubeconfig itself asks the API server what it may do (SelfSubjectAccessReview, like `kubectl auth can-i`) and really tries: list pods and nodes, create a ConfigMap (dry run), delete one, read Secrets. Inside the cluster a pod with `serviceAccountName: ACCOUNT` has the same rights: `curl --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt --oauth2-bearer \"$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)\" https://kubernetes.default.svc/api/v1/pods` (--oauth2-bearer sends the token as the bearer authorization header).",
  plan(ctx) {
    const o = readonlyOptions(ctx.options);
    return [
      {
        type: 'api',
        description: `as ${serviceAccountUser(o)} through ${o.kubeconfigOut}: SelfSubjectAccessReviews and real requests — list pods and nodes; create, update, delete ConfigMaps, create pods, exec, delete namespaces, read Secrets (must be refused)`,
      },
    ];
  },
  async run(ctx) {
    const o = readonlyOptions(ctx.options);
    const { me, rows } = await asExported(await ctx.ports.cluster(), o, async (port) => {
      const who = await whoamiOr(port);
      ctx.log(`${o.kubeconfigOut} authenticates as ${who.username}`);
      return { me: who, rows: await runProof(port, o, true) };
    });
    for (const line of formatProofTable(rows).split('\n')) ctx.log(line);
    const example = inClusterExample(o);
    const failed = rows.filter((r) => !r.ok);
    if (failed.length) {
      throw new Error(`the exported kubeconfig does not behave as a read-only one:\n${formatProofTable(failed)}\n${failed.map((r) => `${r.check}: ${r.detail}`).join('\n')}`);
    }
    ctx.log('in-cluster, as the seed article does it:');
    for (const line of example.split('\n')) ctx.log(line);
    const outputs: Outputs = { identity: me.username, rows: rows as unknown as Json, allOk: true, inCluster: example, kubeconfig: o.kubeconfigOut };
    return outputs;
  },
  async verify(ctx) {
    const o = readonlyOptions(ctx.options);
    if (!(await kubeconfigWorks(ctx, o))) return false;
    return asExported(await ctx.ports.cluster(), o, async (port) => (await runProof(port, o, false)).every((r) => r.ok));
  },
};

// The ci stage's generators (pure): the pipeline file read back and checked against what the registry stage
// produces, the Woodpecker and Forgejo settings, and secrets only where the run puts them.
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { adminJob, ciManifests, deployAccountManifests, secretObjects, woodpeckerAgentEnv, woodpeckerServerEnv, CI_SECRET, SECRET_KEYS } from '../../../flows/ci/manifests.ts';
import { pipelineFile, pipelineImage, sampleFiles, POD_CLUSTER_CA, REGISTRY_AUTH_SECRET, type PipelineInput } from '../../../flows/ci/pipeline.ts';
import { adminScript } from '../../../flows/ci/forge.ts';
import { imageRef } from '../../../flows/registry/options.ts';
import { toYaml } from '../../../flows/registry/manifests.ts';
import { testSetup } from './setup.ts';

const s = testSetup();
const input: PipelineInput = {
  registry: s.registry,
  app: s.app,
  branch: 'main',
  targetNamespace: s.targetNamespace,
  deployAccount: s.deployAccount,
  builderImage: s.images.builder,
  kubectlImage: s.images.kubectl,
  baseImage: s.images.sampleBase,
};

interface PStep {
  name: string;
  image: string;
  commands: string[];
  environment?: Record<string, { from_secret: string }>;
  backend_options?: { kubernetes?: { serviceAccountName?: string } };
}

describe('the pipeline file', () => {
  const doc = parse(pipelineFile(input)) as { when: unknown; workspace: unknown; steps: PStep[] };
  const [build, deploy] = doc.steps;

  it('runs on pushes to the branch, with the workspace CRI-O needs', () => {
    expect(doc.when).toEqual([{ event: 'push', branch: 'main' }]);
    expect(doc.workspace).toEqual({ base: '/woodpecker', path: '/' });
    expect(doc.steps.map((x) => x.name)).toEqual(['build', 'deploy']);
  });

  it("builds with the builder, pushes HOST:PORT/app:${CI_COMMIT_SHA} (the registry stage's image name) trusting the cluster CA", () => {
    expect(build!.image).toBe('ghcr.io/osscontainertools/kaniko:v1.28.3-debug');
    const image = imageRef({ hostPort: '192.168.1.40:30500' }, 'app', '${CI_COMMIT_SHA}');
    expect(pipelineImage(input)).toBe(image);
    const exec = build!.commands.find((c) => c.startsWith('/kaniko/executor'))!;
    expect(exec).toContain(`--destination "${image}"`);
    expect(exec).toContain(`--registry-certificate "192.168.1.40:30500=${POD_CLUSTER_CA}"`);
    // The shell's own variables are escaped from Woodpecker's substitution; the commit is Woodpecker's.
    expect(exec).toContain('dir://$${CI_WORKSPACE}');
    expect(build!.commands).toContain(`printf '%s' "$\${DOCKER_CONFIG_JSON}" > /kaniko/.docker/config.json`);
  });

  it('takes the registry login only from a Woodpecker secret', () => {
    expect(build!.environment).toEqual({ DOCKER_CONFIG_JSON: { from_secret: REGISTRY_AUTH_SECRET } });
    expect(deploy!.environment).toBeUndefined();
  });

  it('rolls the Deployment as the deploy account, to the image just pushed', () => {
    expect(deploy!.image).toBe('docker.io/alpine/k8s:1.37.2');
    expect(deploy!.backend_options).toEqual({ kubernetes: { serviceAccountName: 'deployer' } });
    expect(deploy!.commands).toEqual([
      'kubectl -n boardkube-app set image deployment/app app="192.168.1.40:30500/app:${CI_COMMIT_SHA}"',
      'kubectl -n boardkube-app rollout status deployment/app --timeout=300s',
    ]);
  });

  it('comes with a Dockerfile from the catalogued base and the app it serves', () => {
    const files = sampleFiles(input);
    expect(Object.keys(files).sort()).toEqual(['.woodpecker.yaml', 'Dockerfile', 'README.md', 'index.html']);
    expect(files.Dockerfile!.split('\n')[0]).toBe('FROM docker.io/library/busybox:1.37');
    expect(files.Dockerfile).toContain('COPY index.html /www/index.html');
  });
});

describe('the Woodpecker settings', () => {
  it('server: Forgejo at the forge URL, the agent secret and OAuth client from the Secret', () => {
    expect(woodpeckerServerEnv(s)).toMatchObject({ WOODPECKER_FORGEJO: 'true', WOODPECKER_FORGEJO_URL: 'http://192.168.1.40:30300', WOODPECKER_HOST: 'http://192.168.1.40:30800' });
    const objs = ciManifests(s);
    const server = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'woodpecker-server') as unknown as { spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; valueFrom?: unknown }> }> } } } };
    const fromSecret = server.spec.template.spec.containers[0]!.env.filter((e) => e.valueFrom).map((e) => e.name);
    expect(fromSecret.sort()).toEqual([SECRET_KEYS.agent, SECRET_KEYS.client, SECRET_KEYS.secret].sort());
  });

  it('agent: the Kubernetes backend in the ci namespace, ReadWriteOnce volumes', () => {
    expect(woodpeckerAgentEnv(s)).toMatchObject({
      WOODPECKER_BACKEND: 'kubernetes',
      WOODPECKER_BACKEND_K8S_NAMESPACE: 'boardkube-ci',
      WOODPECKER_BACKEND_K8S_STORAGE_RWX: 'false',
      WOODPECKER_SERVER: 'woodpecker-server.boardkube-ci.svc:9000',
    });
  });

  it('deploy account: deployments in the target namespace only', () => {
    const [sa, role, binding] = deployAccountManifests(s);
    expect(sa!.metadata.namespace).toBe('boardkube-ci');
    expect(role!.metadata.namespace).toBe('boardkube-app');
    expect(role!.rules).toEqual([{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'patch', 'update'] }]);
    expect(binding!.subjects).toEqual([{ kind: 'ServiceAccount', name: 'deployer', namespace: 'boardkube-ci' }]);
  });
});

describe('secrets', () => {
  const values = { adminPassword: 'KNOWN-admin-pw-1234', agentSecret: 'KNOWN-agent-5678', oauthClient: 'KNOWN-client-id', oauthSecret: 'KNOWN-oauth-secret-9' };
  it('are only in the Secret objects the run builds, never in the other objects nor the pipeline', () => {
    const plain = toYaml(ciManifests(s)) + toYaml([adminJob(s, adminScript(), 1)]) + Object.values(sampleFiles(input)).join('\n');
    for (const v of Object.values(values)) expect(plain).not.toContain(v);
    const secrets = toYaml(secretObjects(s, values));
    for (const v of Object.values(values)) expect(secrets).toContain(v);
    const ci = parseAllDocuments(secrets).map((d) => d.toJS() as { metadata: { name: string }; stringData: Record<string, string> }).find((d) => d.metadata.name === CI_SECRET)!;
    expect(ci.stringData).toEqual({ [SECRET_KEYS.agent]: values.agentSecret, [SECRET_KEYS.client]: values.oauthClient, [SECRET_KEYS.secret]: values.oauthSecret });
  });

  it("the admin Job reads the password from the Secret's environment, not from its command", () => {
    const job = adminJob(s, adminScript(), 3) as unknown as { metadata: { name: string }; spec: { template: { spec: { containers: Array<{ command: string[]; env: Array<{ name: string; valueFrom?: { secretKeyRef: { key: string } } }> }> } } } };
    expect(job.metadata.name).toBe('forgejo-admin-3');
    const c = job.spec.template.spec.containers[0]!;
    expect(c.command.join(' ')).toContain('--password "$ADMIN_PASSWORD"');
    expect(c.env.find((e) => e.name === 'ADMIN_PASSWORD')!.valueFrom!.secretKeyRef.key).toBe('password');
  });
});

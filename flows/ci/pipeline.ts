// The sample repository's files, generated from typed input: the `.woodpecker.yaml` deploy pipeline (build with
// the registry stage's builder and CA, push HOST:PORT/app:${CI_COMMIT_SHA}, roll the Deployment as the deploy
// account), a small Dockerfile and the app itself. No secret value here: the pipeline names Woodpecker secrets.
import { stringify } from 'yaml';

export interface PipelineInput {
  /** The registry's HOST:PORT (registry stage). */
  registry: string;
  app: string;
  branch: string;
  targetNamespace: string;
  deployAccount: string;
  builderImage: string;
  kubectlImage: string;
  /** The base image of the sample app. */
  baseImage: string;
}

/** The Woodpecker secret holding the registry's docker config.json (created through Woodpecker at run time). */
export const REGISTRY_AUTH_SECRET = 'registry_docker_config';
/**
 * The registry's certificate is signed by the cluster CA, which Kubernetes mounts into every pod that has a
 * service account token: the build trusts the registry through it, no extra file needed.
 */
export const POD_CLUSTER_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
export const APP_PORT = 8080;

/** The image the pipeline pushes, as Woodpecker expands it (`${CI_COMMIT_SHA}` is Woodpecker's, not the shell's). */
export function pipelineImage(p: Pick<PipelineInput, 'registry' | 'app'>): string {
  return `${p.registry}/${p.app}:\${CI_COMMIT_SHA}`;
}

export function pipelineDoc(p: PipelineInput): Record<string, unknown> {
  const image = pipelineImage(p);
  return {
    when: [{ event: 'push', branch: p.branch }],
    // CRI-O: the workspace must be a folder of its own (woodpecker#2510).
    workspace: { base: '/woodpecker', path: '/' },
    steps: [
      {
        name: 'build',
        image: p.builderImage,
        environment: { DOCKER_CONFIG_JSON: { from_secret: REGISTRY_AUTH_SECRET } },
        // `$$`: left for the step's shell (Woodpecker substitutes ${...} itself).
        commands: [
          'mkdir -p /kaniko/.docker',
          `printf '%s' "$\${DOCKER_CONFIG_JSON}" > /kaniko/.docker/config.json`,
          `/kaniko/executor --context "dir://$\${CI_WORKSPACE}" --dockerfile Dockerfile --destination "${image}" --registry-certificate "${p.registry}=${POD_CLUSTER_CA}"`,
        ],
      },
      {
        name: 'deploy',
        image: p.kubectlImage,
        // The step's pod runs as the deploy account: kubectl uses its in-cluster token.
        backend_options: { kubernetes: { serviceAccountName: p.deployAccount } },
        commands: [
          `kubectl -n ${p.targetNamespace} set image deployment/${p.app} ${p.app}="${image}"`,
          `kubectl -n ${p.targetNamespace} rollout status deployment/${p.app} --timeout=300s`,
        ],
      },
    ],
  };
}

export function pipelineFile(p: PipelineInput): string {
  return `# Written by boardkube (stage ci): build ${p.app}, push it to ${p.registry}, roll deployment/${p.app} in ${p.targetNamespace}.\n${stringify(pipelineDoc(p), { lineWidth: 0 })}`;
}

/** The sample repository: path -> content. */
export function sampleFiles(p: PipelineInput): Record<string, string> {
  return {
    '.woodpecker.yaml': pipelineFile(p),
    Dockerfile: [`FROM ${p.baseImage}`, 'COPY index.html /www/index.html', `EXPOSE ${APP_PORT}`, `CMD ["httpd", "-f", "-p", "${APP_PORT}", "-h", "/www"]`, ''].join('\n'),
    'index.html': `<!doctype html>\n<title>${p.app}</title>\n<p>${p.app}, built on the cluster and deployed by Woodpecker.</p>\n`,
    'README.md': `# ${p.app}\n\nA push to \`${p.branch}\` builds this image in the cluster, pushes it to ${p.registry} and rolls deployment/${p.app} in namespace ${p.targetNamespace}.\n`,
  };
}

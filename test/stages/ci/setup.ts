// A ci stage setup as the stage builds it for the default cluster (two boards at 192.168.1.40/41) and the registry
// stage's default HOST:PORT, for the generator tests.
import { ciImages } from '../../../src/catalog/images.ts';
import { findRelease } from '../../../src/catalog/versions.ts';
import type { CiSetup } from '../../../flows/ci/manifests.ts';

export function testSetup(over: Partial<CiSetup> = {}): CiSetup {
  return {
    namespace: 'boardkube-ci',
    dataNode: 'n2-master',
    dataDir: '/var/lib/boardkube/ci',
    forgeNodePort: 30300,
    ciNodePort: 30800,
    forgeUrl: 'http://192.168.1.40:30300',
    ciUrl: 'http://192.168.1.40:30800',
    adminUser: 'boardkube',
    targetNamespace: 'boardkube-app',
    deployAccount: 'deployer',
    app: 'app',
    registry: '192.168.1.40:30500',
    storageClass: '',
    images: ciImages(findRelease('1.37')!),
    ...over,
  };
}

// What the testbin build scripts need from the version catalogue, printed for the shell, so the versions and image
// names they build come from src/catalog/ and nowhere else.
//   node --import tsx test/testbin/catalog.ts releases          -> one pinned Kubernetes patch per line (v1.35.4 ...)
//   node --import tsx test/testbin/catalog.ts flannel vX.Y.Z    -> "FLANNEL_VERSION<TAB>FLANNEL_IMAGE<TAB>CNI_PLUGIN_IMAGE"
//   node --import tsx test/testbin/catalog.ts registry          -> the registry stage's image (REGISTRY_IMAGE)
import { findRelease, RELEASES } from '../../src/catalog/versions.ts';
import { flannelImages, REGISTRY_IMAGE } from '../../src/catalog/images.ts';

const [what, version] = process.argv.slice(2);
if (what === 'releases') {
  for (const r of RELEASES) console.log(`v${r.patch}`);
} else if (what === 'flannel' && version) {
  const release = findRelease(version);
  if (!release) throw new Error(`Kubernetes ${version} is not in src/catalog/versions.ts`);
  const images = flannelImages(release);
  console.log([release.flannel, images.flannel, images.cniPlugin].join('\t'));
} else if (what === 'registry') {
  console.log(REGISTRY_IMAGE);
} else {
  console.error('usage: catalog.ts releases | flannel vX.Y.Z | registry');
  process.exit(2);
}
